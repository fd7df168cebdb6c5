"""The trace viewer in a real browser: Debian's Chromium driven by Playwright.

Skipped, with the reason printed (``pytest -rs``), when Playwright or Chromium is missing.
``ORQ_INSTALL_BROWSER=1`` lets the set-up install Chromium with apt-get (as root).
The screenshot is saved as a test artefact: under ``$ORQ_TEST_ARTIFACTS`` when set (CI), else
in the test's temp folder; its path is printed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from orq_async import Err, Ok, OrqCore
from orq_async.errors import APIError
from orq_async.funcs.router_images_edits_create import router_images_edits_create
from orq_async.retries import RetryConfig
from orq_async.testing import Emulator

from ..testing._helpers import image_bytes

playwright_api = pytest.importorskip(
    "playwright.async_api", reason="playwright is not installed (pip install playwright)"
)
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
KEY = "browser-key"
RED, BLUE = image_bytes((255, 0, 0), (3, 2)), image_bytes((0, 0, 255), (3, 2))


def _chromium() -> Path:
    if not CHROMIUM.exists() and os.environ.get("ORQ_INSTALL_BROWSER") == "1":
        apt = shutil.which("apt-get")
        if apt is not None and os.geteuid() == 0:
            subprocess.run([apt, "install", "-y", "chromium"], capture_output=True, check=False)
    if not CHROMIUM.exists():
        pytest.skip(f"no browser: {CHROMIUM} is missing (apt-get install -y chromium)")
    return CHROMIUM


@pytest.fixture
async def page() -> AsyncIterator[Any]:
    executable = _chromium()
    async with playwright_api.async_playwright() as driver:
        browser = await driver.chromium.launch(executable_path=str(executable), args=ARGS)
        try:
            context = await browser.new_context(viewport={"width": 1280, "height": 720})
            yield await context.new_page()
        finally:
            await browser.close()


def _artefact(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("ORQ_TEST_ARTIFACTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder / "viewer.png"


async def test_viewer_live_thumbnails_and_fault_form(page: Any, tmp_path: Path) -> None:
    no_retries = RetryConfig(strategy="none")
    async with (
        Emulator(api_keys={KEY}, seed=1) as emu,
        OrqCore(KEY, server_url=emu.url, retry_config=no_retries) as core,
    ):
        await page.goto(emu.url + "/?interval=200")
        await page.wait_for_selector("#summary:has-text('0 requests')")

        body = {
            "model": "local/invert",
            "prompt": "Put the logo on the mug",
            "image": [RED, BLUE],
            "orq": {"identity": {"id": "contact_123", "display_name": "Jane"}},
        }
        assert isinstance(await router_images_edits_create(core, body), Ok)
        card = page.locator("article.trace").first
        await card.wait_for()
        assert await card.locator(".status").inner_text() == "200"
        assert await card.locator(".model").inner_text() == "local/invert"
        assert "contact_123 (Jane)" in await card.locator(".identity").inner_text()
        assert "local/invert → 200" in await card.locator(".attempts").inner_text()
        thumbs = card.locator("img.thumb")
        assert await thumbs.count() == 3  # two inputs, one output
        await page.wait_for_function(
            "() => [...document.querySelectorAll('img.thumb')]"
            ".every(img => img.complete && img.naturalWidth > 0)"
        )

        await page.fill("#fault-status", "503")
        await page.fill("#fault-times", "1")
        await page.fill("#fault-retry-after", "0")
        await page.click("#fault-submit")
        await page.wait_for_selector("#fault-pending:has-text('1 pending')")
        assert emu.pending_faults == 1
        res = await router_images_edits_create(core, body | {"model": "local/echo"})
        assert isinstance(res, Err)
        assert isinstance(res.error, APIError)
        assert res.error.status_code == 503
        newest = page.locator("article.trace").first
        await newest.locator(".fault:has-text('fault status:503')").wait_for()
        assert await newest.locator(".status").inner_text() == "503"
        assert await page.locator("article.trace").count() == 2

        content = await page.content()
        assert KEY not in content
        shot = _artefact(tmp_path)
        await page.screenshot(path=str(shot), full_page=True)
        print(f"viewer screenshot: {shot}")
        assert shot.read_bytes().startswith(b"\x89PNG")


async def test_viewer_asks_for_the_token_when_guarded(page: Any) -> None:
    async with Emulator(admin_token="admin-secret") as emu:
        response = await page.goto(emu.url + "/")
        assert response.status == 401
        assert "orq_async emulator" not in await page.content()
        await page.goto(emu.viewer_url + "&interval=200")
        await page.wait_for_selector("#summary:has-text('0 requests')")

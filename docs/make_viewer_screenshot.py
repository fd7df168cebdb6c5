"""Regenerate ``docs/viewer.png``: a few typical requests, shown by the emulator's trace viewer.

Run from the repository root: ``.venv/bin/python docs/make_viewer_screenshot.py`` (needs
Pillow, Playwright and Chromium at ``/usr/bin/chromium``).
"""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

from PIL import Image, ImageDraw
from playwright.async_api import async_playwright

from orq_async import OrqCore
from orq_async.funcs.router_images_edits_create import router_images_edits_create
from orq_async.retries import RetryConfig
from orq_async.testing import Emulator

OUT = Path(__file__).with_name("viewer.png")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def picture(hue: int, label: str) -> bytes:
    """A small gradient with a disc, standing in for a photo."""
    image = Image.new("RGB", (96, 72))
    draw = ImageDraw.Draw(image)
    for y in range(72):
        draw.line([(0, y), (96, y)], fill=((hue + y * 2) % 256, 120 + y, 255 - y * 2))
    draw.ellipse((28, 16, 68, 56), fill=(250, 250, 250), outline=(40, 40, 40))
    draw.text((40, 30), label, fill=(20, 20, 20))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


async def main() -> None:
    mug, logo = picture(10, "mug"), picture(150, "logo")
    async with (
        Emulator(seed=4) as emu,
        OrqCore(server_url=emu.url, retry_config=RetryConfig(strategy="none")) as core,
    ):
        base = {"prompt": "Put the logo on the mug", "image": [mug, logo]}
        identity = {"identity": {"id": "contact_123", "display_name": "Jane Doe"}}
        calls = [
            base | {"model": "local/invert", "orq": identity},
            base | {"model": "local/fail-503", "fallbacks": [{"model": "local/grayscale"}]},
            base | {"model": "openai/gpt-image-1", "cache": {"type": "exact_match"}},
            base | {"model": "openai/gpt-image-1", "cache": {"type": "exact_match"}},
            base | {"model": "local/flaky-1-429", "retry": {"count": 2, "on_codes": [429]}},
        ]
        for body in calls:
            await router_images_edits_create(core, body)
        emu.inject(429, retry_after="1")
        await router_images_edits_create(core, base | {"model": "openai/gpt-image-1"})
        async with async_playwright() as driver:
            browser = await driver.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            page = await browser.new_page(viewport={"width": 1100, "height": 760})
            await page.goto(emu.url + "/")
            await page.wait_for_selector("#summary:has-text('6 requests')")
            await page.wait_for_function(
                "() => [...document.querySelectorAll('img.thumb')]"
                ".every(img => img.complete && img.naturalWidth > 0)"
            )
            await page.screenshot(path=str(OUT))
            await browser.close()
    print(f"saved {OUT}")


if __name__ == "__main__":
    asyncio.run(main())

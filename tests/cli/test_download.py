"""Issue 12 point 9: output URLs are downloaded safely, and the answer is kept when they fail.

A stand-in gateway on 127.0.0.1 answers the edit with URLs of its own choosing: an image, an
HTML page, a huge body, a slow body, redirects, other schemes.
"""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from ._support import COMMAND, MUG, clean_env

IMAGE = MUG.read_bytes()


class StandIn:
    """The stand-in gateway: ``urls`` is what the next edit answers; ``gets`` what was fetched."""

    def __init__(self) -> None:
        self.urls: list[str] = []
        self.gets: list[str] = []
        self.url = ""
        self.never = asyncio.Event()

    async def edits(self, request: web.Request) -> web.Response:
        await request.read()
        data = [{"url": url} for url in self.urls]
        return web.json_response({"created": 1, "data": data, "usage": {"total_tokens": 7}})

    async def files(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        self.gets.append(name)
        if name == "img":
            return web.Response(body=IMAGE, content_type="image/png")
        if name == "html":
            return web.Response(text="<html>error</html>", content_type="text/html")
        if name == "big":
            return web.Response(body=IMAGE + b"\0" * (2 * 1024 * 1024), content_type="image/png")
        if name == "slow":
            await self.never.wait()
        if name == "to-http":
            port = self.url.rsplit(":", 1)[1]
            raise web.HTTPFound(f"http://vm:{port}/files/img")
        if name == "to-img":
            raise web.HTTPFound("/files/img")
        raise web.HTTPNotFound()


@pytest.fixture
async def stand_in() -> AsyncIterator[StandIn]:
    server = StandIn()
    app = web.Application()
    app.router.add_post("/v2/router/images/edits", server.edits)
    app.router.add_get("/files/{name}", server.files)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    server.url = f"http://{host}:{port}"
    try:
        yield server
    finally:
        server.never.set()
        await runner.cleanup()


async def _edit(
    stand_in: StandIn, out: Path, *names: str, extra: tuple[str, ...] = ()
) -> tuple[int, str]:
    stand_in.urls = [n if "://" in n else f"{stand_in.url}/files/{n}" for n in names]
    proc = await asyncio.create_subprocess_exec(
        *COMMAND, "images", "edit", "--server-url", stand_in.url, "--model", "m",
        "--prompt", "p", "--image", str(MUG), "--out", str(out), *extra,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env=clean_env(),
    )  # fmt: skip
    _, stderr = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, stderr.decode()


async def test_an_image_url_and_a_redirect_to_loopback_are_saved(
    stand_in: StandIn, tmp_path: Path
) -> None:
    code, stderr = await _edit(stand_in, tmp_path, "img", "to-img")
    assert (code, stderr) == (0, "")
    saved = [tmp_path / "mug-edited-1.png", tmp_path / "mug-edited-2.png"]
    assert [p.read_bytes() for p in saved] == [IMAGE, IMAGE]
    assert stand_in.gets == ["img", "to-img", "img"]


@pytest.mark.parametrize(
    ("name", "extra", "words"),
    [
        ("html", (), "not a PNG, JPEG or WebP image"),
        ("big", ("--max-download-mb", "1"), "larger than 1048576 bytes"),
        ("slow", ("--download-timeout", "0.3"), "no answer within 0.3 s"),
        ("to-http", (), "refused to download http://vm:"),
        ("missing", (), "HTTP 404"),
        ("file:///etc/passwd", (), "refused to download file:///etc/passwd"),
        ("http://192.0.2.1/x.png", (), "refused to download http://192.0.2.1/x.png"),
    ],
)
async def test_a_bad_download_is_refused_and_the_answer_kept(
    stand_in: StandIn, tmp_path: Path, name: str, extra: tuple[str, ...], words: str
) -> None:
    code, stderr = await _edit(stand_in, tmp_path, name, extra=extra)
    assert code == 1
    assert stderr.count("\n") == 1
    assert words in stderr, stderr
    kept = tmp_path / "mug-edited.response.json"
    assert f"the response is kept in {kept}" in stderr
    assert json.loads(kept.read_text())["data"] == [{"url": stand_in.urls[0]}]
    assert sorted(tmp_path.iterdir()) == [kept]  # noqa: ASYNC240 - no image file
    assert "img" not in stand_in.gets  # the refused redirect was not followed


async def test_ctrl_c_while_downloading_keeps_the_answer(stand_in: StandIn, tmp_path: Path) -> None:
    stand_in.urls = [f"{stand_in.url}/files/slow"]
    proc = await asyncio.create_subprocess_exec(
        *COMMAND, "images", "edit", "--server-url", stand_in.url, "--model", "m",
        "--prompt", "p", "--image", str(MUG), "--out", str(tmp_path),
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env=clean_env(),
    )  # fmt: skip
    for _ in range(3000):  # until the download has started (at most 30 s)
        if stand_in.gets:
            break
        await asyncio.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    _, stderr = await asyncio.wait_for(proc.communicate(), 10)
    kept = tmp_path / "mug-edited.response.json"
    assert proc.returncode == 130
    assert stderr.decode() == f"orq-async: the response is kept in {kept}\ninterrupted\n"
    assert json.loads(kept.read_text())["data"] == [{"url": stand_in.urls[0]}]

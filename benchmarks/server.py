"""A stand-in gateway for load tests: ``POST /v2/router/images/edits`` in its own process.

It really parses the multipart body, streaming, with a purpose-built parser (aiohttp's
``MultipartReader`` costs ~1 ms per request and would make the server the bottleneck): every
part's headers are read, text parts collected, JSON parts decoded, file parts counted and their
first bytes sniffed. A body without ``model``, ``prompt`` and at least one image part, or with a
broken JSON part, is answered 400 and counted as bad. A good one gets the response JSON of
``API.md``.

``GET /__bench/stats`` returns counters (requests, bad requests, images, image bytes) and the
process CPU time, so the runner can check that every request was understood.

Usage::

    python -m benchmarks.server [--cpu 0] [--target standin|emulator] [--response-bytes N]

prints ``READY <url> <pid>`` on stdout once listening on 127.0.0.1 (an ephemeral port), then
serves until SIGTERM (or, with ``--stdin-eof``, until its stdin closes).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from typing import Any

from aiohttp import StreamReader, web

from benchmarks.common import pin

PATH = "/v2/router/images/edits"
_DISPOSITION = re.compile(rb'(?i)content-disposition:[^\r\n]*?\bname="([^"]*)"')
_FILENAME = re.compile(rb'(?i)content-disposition:[^\r\n]*?\bfilename="([^"]*)"')
_JSON_TYPE = re.compile(rb"(?i)content-type:\s*application/json")
_BOUNDARY = re.compile(r'boundary=(?:"([^"]+)"|([^;\s]+))')
_MAX_HEAD = 16 * 1024
_MAX_TEXT = 1024 * 1024
_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"RIFF")


class BadBody(ValueError):
    """The body is not the multipart form the operation expects."""


class Form:
    """What the parser found: text fields, JSON fields, and image parts (count, bytes)."""

    __slots__ = ("image_bytes", "images", "json", "text")

    def __init__(self) -> None:
        self.text: dict[str, str] = {}
        self.json: dict[str, Any] = {}
        self.images = 0
        self.image_bytes = 0


class _Part:
    """One part's data as it streams by: a file's size and first bytes, or a text's bytes."""

    __slots__ = ("head", "is_file", "size", "text")

    def __init__(self, is_file: bool) -> None:
        self.is_file = is_file
        self.size = 0
        self.head = b""
        self.text = bytearray()

    def take(self, data: bytes, start: int, stop: int) -> None:
        """Account for ``data[start:stop]`` (file bytes are counted, never copied)."""
        if self.is_file:
            if self.size < 12:
                self.head += data[start : min(stop, start + 12 - self.size)]
            self.size += stop - start
        else:
            self.text += data[start:stop]
            if len(self.text) > _MAX_TEXT:
                raise BadBody("text part too large")


async def parse_multipart(stream: StreamReader, boundary: bytes) -> Form:
    """Parse a ``multipart/form-data`` body from ``stream`` without holding the files.

    File data is never copied: the parser keeps offsets into each network chunk, and checks the
    seam between two chunks on a few dozen bytes.

    Raises:
        BadBody: malformed framing, headers, or a broken JSON part.
    """
    form = Form()
    sep = b"\r\n--" + boundary
    keep = len(sep) - 1
    buf = b"\r\n"  # so that the first delimiter looks like every other one
    off = 0

    async def more() -> bytes:
        chunk, _ = await stream.readchunk()
        if not chunk:
            raise BadBody("the body ends early")
        return chunk

    # Preamble, up to the first delimiter.
    while (pos := buf.find(sep)) < 0:
        buf = buf[-keep:] + await more()
    off = pos + len(sep)
    while True:
        while len(buf) - off < 2:
            buf = buf[off:] + await more()
            off = 0
        if buf.startswith(b"--", off):
            return form
        if not buf.startswith(b"\r\n", off):
            raise BadBody("bad delimiter line")
        # Part headers.
        while (end := buf.find(b"\r\n\r\n", off)) < 0:
            if len(buf) - off > _MAX_HEAD:
                raise BadBody("unterminated part headers")
            buf = buf[off:] + await more()
            off = 0
        head = buf[off + 2 : end + 2]
        off = end + 4
        name_match = _DISPOSITION.search(head)
        if name_match is None:
            raise BadBody("part without a name")
        name = name_match.group(1)
        is_file = _FILENAME.search(head) is not None
        is_image = name in (b"image", b"image[]")
        # Part data, up to the next delimiter: counted (files) or collected (text).
        part = _Part(is_file)
        while (pos := buf.find(sep, off)) < 0:
            split = max(off, len(buf) - keep)
            part.take(buf, off, split)
            tail = buf[split:]
            chunk = await more()
            if len(chunk) <= keep:  # a tiny chunk: joining it costs nothing
                buf, off = tail + chunk, 0
                continue
            seam = tail + chunk[:keep]
            at = seam.find(sep)
            if at >= 0:  # the delimiter starts in the tail
                part.take(seam, 0, at)
                buf, off, pos = chunk, 0, at - len(tail)
                break
            part.take(tail, 0, len(tail))
            buf, off = chunk, 0
        else:
            part.take(buf, off, pos)
        off = pos + len(sep)
        if is_file:
            if is_image:
                if not part.head.startswith(_MAGIC):
                    raise BadBody("an image part is not PNG, JPEG or WebP")
                form.images += 1
                form.image_bytes += part.size
            continue
        key = name.decode("utf-8", "replace")
        if _JSON_TYPE.search(head):
            try:
                form.json[key] = json.loads(part.text)
            except ValueError as exc:
                raise BadBody(f"part {key!r} is not JSON") from exc
        elif is_image:
            form.images += 1  # a URL sent as text
        else:
            form.text[key] = part.text.decode("utf-8")


def _response_body(image_bytes: int) -> bytes:
    image = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * (max(image_bytes - 8, 0) // 256 + 1)
    body = {
        "created": int(time.time()),
        "data": [{"b64_json": base64.b64encode(image[:image_bytes]).decode(), "url": None}],
        "output_format": "png",
        "size": "1024x1024",
        "quality": "high",
        "usage": {
            "total_tokens": 10,
            "input_tokens": 6,
            "output_tokens": 4,
            "input_tokens_details": {"text_tokens": 3, "image_tokens": 3},
        },
    }
    return json.dumps(body).encode()


class Stats:
    """Counters since start (the runner takes differences)."""

    def __init__(self) -> None:
        self.requests = 0
        self.bad = 0
        self.images = 0
        self.image_bytes = 0
        self.last_error = ""


def make_app(response_bytes: int) -> web.Application:
    """The stand-in's application."""
    stats = Stats()
    ok_body = _response_body(response_bytes)
    ok_headers = {"Content-Type": "application/json", "x-request-id": "req_bench"}

    def bad(message: str) -> web.Response:
        stats.bad += 1
        stats.last_error = message
        return web.json_response({"error": message}, status=400)

    async def edits(request: web.Request) -> web.Response:
        stats.requests += 1
        ctype = request.headers.get("Content-Type", "")
        found = _BOUNDARY.search(ctype)
        if not ctype.startswith("multipart/form-data") or found is None:
            return bad(f"expected multipart/form-data, got {ctype!r}")
        boundary = (found.group(1) or found.group(2)).encode()
        try:
            form = await parse_multipart(request.content, boundary)
        except BadBody as exc:
            return bad(str(exc))
        if not form.text.get("model") or not form.text.get("prompt") or not form.images:
            return bad(f"missing model, prompt or image: {sorted(form.text)} {form.images}")
        stats.images += form.images
        stats.image_bytes += form.image_bytes
        return web.Response(body=ok_body, headers=ok_headers)

    async def stats_view(_request: web.Request) -> web.Response:
        return web.json_response(
            {
                "requests": stats.requests,
                "bad": stats.bad,
                "images": stats.images,
                "image_bytes": stats.image_bytes,
                "last_error": stats.last_error,
                "cpu": time.process_time(),
            }
        )

    app = web.Application()
    app.router.add_post(PATH, edits)
    app.router.add_get("/__bench/stats", stats_view)
    return app


async def _wait_for_stop(watch_stdin: bool) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    if watch_stdin:  # the runner holds our stdin: its end (even a crash) stops us

        def watch() -> None:
            with contextlib.suppress(OSError, ValueError):
                sys.stdin.buffer.read()
            loop.call_soon_threadsafe(stop.set)

        threading.Thread(target=watch, daemon=True).start()
    await stop.wait()


async def serve_standin(response_bytes: int, watch_stdin: bool) -> None:
    """Serve the stand-in until told to stop."""
    runner = web.AppRunner(make_app(response_bytes), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
    await site.start()
    port = runner.addresses[0][1]
    print(f"READY http://127.0.0.1:{port} {os.getpid()}", flush=True)
    try:
        await _wait_for_stop(watch_stdin)
    finally:
        await runner.cleanup()


async def serve_emulator(watch_stdin: bool) -> None:
    """Serve ``orq_async.testing.Emulator`` until told to stop."""
    try:
        from orq_async.testing import Emulator
    except ImportError as exc:
        print(f"UNAVAILABLE the emulator cannot be imported: {exc}", flush=True)
        return
    async with Emulator() as emu:
        print(f"READY {str(emu.url).rstrip('/')} {os.getpid()}", flush=True)
        await _wait_for_stop(watch_stdin)


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpu", type=int, default=None, help="pin to this CPU")
    parser.add_argument("--target", choices=("standin", "emulator"), default="standin")
    parser.add_argument(
        "--response-bytes", type=int, default=4096, help="size of the image in the response"
    )
    parser.add_argument(
        "--stdin-eof", action="store_true", help="stop when stdin closes (for the runner)"
    )
    args = parser.parse_args(argv)
    pin(args.cpu)
    if args.target == "emulator":
        asyncio.run(serve_emulator(args.stdin_eof))
    else:
        asyncio.run(serve_standin(args.response_bytes, args.stdin_eof))


class Spawned:
    """A server started in its own process by :func:`spawn`; ``close()`` stops it."""

    def __init__(self, proc: subprocess.Popen[str], url: str, pid: int) -> None:
        self.proc = proc
        self.url = url
        self.pid = pid

    def close(self) -> None:
        """Stop the server (EOF on its stdin) and reap it."""
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def spawn(target: str = "standin", cpu: int | None = 0, response_bytes: int = 4096) -> Spawned:
    """Start a server process and wait until it listens.

    Raises:
        RuntimeError: it could not start (the reason is in the message).
    """
    cmd = [sys.executable, "-m", "benchmarks.server", "--target", target, "--stdin-eof"]
    cmd += ["--response-bytes", str(response_bytes)]
    if cpu is not None:
        cmd += ["--cpu", str(cpu)]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    proc = subprocess.Popen(cmd, cwd=root, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline().split()
    if len(line) == 3 and line[0] == "READY":
        return Spawned(proc, line[1], int(line[2]))
    proc.kill()
    proc.wait()
    proc.stdout.close()
    if proc.stdin is not None:
        proc.stdin.close()
    raise RuntimeError(" ".join(line) or f"the {target} server did not start")


if __name__ == "__main__":
    main()

"""Where the examples send their requests, and sample images for them; not part of the SDK.

Each example talks to ``ORQ_SERVER_URL`` when it is set (the gateway, or any server speaking
its API). Otherwise it starts this module's stand-in on 127.0.0.1, a few lines of aiohttp.web
answering ``POST /v2/router/images/edits`` so the examples run offline:

- a known model (``openai/gpt-image-1``, ``openai/dall-e-2``) gets 200 with the first image
  echoed back, an ``x-request-id`` header, and, when the form had a ``background`` field, a
  top-level ``background`` in the JSON (a field the SDK's models do not declare);
- any other model gets 404 ``{"error": {...}}``.

The stand-in accepts any extra form field or file (``mask``): the real gateway decides for
itself which fields it knows.
"""

from __future__ import annotations

import base64
import itertools
import os
import struct
import time
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from aiohttp import BodyPartReader, web

__all__ = ["gateway_url", "png", "write_samples"]

MODELS = frozenset({"openai/gpt-image-1", "openai/dall-e-2"})


def png(width: int, height: int, rgba: tuple[int, int, int, int]) -> bytes:
    """A valid RGBA PNG of one colour, built with the standard library only."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(tag + data)
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    rows = (b"\x00" + bytes(rgba) * width) * height
    idat = zlib.compress(rows)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def write_samples(directory: Path) -> tuple[Path, Path]:
    """Write ``photo.png`` and ``mask.png`` (transparent where the edit goes) to ``directory``."""
    image, mask = directory / "photo.png", directory / "mask.png"
    image.write_bytes(png(8, 8, (200, 120, 40, 255)))
    mask.write_bytes(png(8, 8, (0, 0, 0, 0)))
    return image, mask


async def _edit(request: web.Request) -> web.Response:
    fields: dict[str, list[bytes]] = {}
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if isinstance(part, BodyPartReader) and part.name:
            fields.setdefault(part.name, []).append(await part.read())
    request_id = f"req_{next(_ids)}"
    headers = {"x-request-id": request_id}
    model = fields.get("model", [b""])[0].decode()
    if model not in MODELS:
        error = {"message": f"model {model!r} is not available", "type": "not_found"}
        return web.json_response({"error": error}, status=404, headers=headers)
    image = fields.get("image", [png(1, 1, (0, 0, 0, 255))])[0]
    body: dict[str, object] = {
        "created": int(time.time()),
        "data": [{"b64_json": base64.b64encode(image).decode()}],
        "output_format": "png",
        "usage": {"total_tokens": 3, "input_tokens": 2, "output_tokens": 1},
    }
    if "background" in fields:
        body["background"] = fields["background"][0].decode()
    return web.json_response(body, headers=headers)


_ids = itertools.count(1)


@asynccontextmanager
async def gateway_url() -> AsyncIterator[str]:
    """Yield ``ORQ_SERVER_URL`` if set, else the URL of a stand-in started for the block."""
    url = os.environ.get("ORQ_SERVER_URL")
    if url:
        yield url
        return
    app = web.Application()
    app.router.add_post("/v2/router/images/edits", _edit)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()

"""Small helpers of the emulator tests: images, forms, raw multipart bodies, a fake clock."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterable, Sequence
from typing import Any

import aiohttp
from PIL import Image

from orq_async.testing import EDITS_PATH, Emulator, Trace

__all__ = [
    "FakeClock",
    "decode",
    "edit_form",
    "image_bytes",
    "last",
    "pixels",
    "post",
    "raw_multipart",
]

OMIT = object()


def image_bytes(
    color: tuple[int, ...] = (255, 0, 0), size: tuple[int, int] = (2, 2), fmt: str = "PNG"
) -> bytes:
    """Encode a plain image of one colour."""
    mode = "RGBA" if len(color) == 4 else "RGB"
    out = io.BytesIO()
    Image.new(mode, size, color).save(out, format=fmt)
    return out.getvalue()


def decode(b64: str) -> Image.Image:
    """Decode a ``b64_json`` item into a loaded Pillow image."""
    image = Image.open(io.BytesIO(base64.b64decode(b64)))
    image.load()
    return image


def last(emu: Emulator) -> Trace:
    """The newest trace of an emulator."""
    return emu.traces[-1]


def pixels(image: Image.Image) -> set[Any]:
    """The set of distinct pixel values of an image."""
    return {image.getpixel((x, y)) for x in range(image.width) for y in range(image.height)}


def edit_form(
    *,
    model: Any = "local/echo",
    prompt: Any = "make it pop",
    images: Sequence[bytes] | None = None,
    **fields: Any,
) -> aiohttp.FormData:
    """Build the form of an edit; ``OMIT`` leaves ``model``/``prompt`` out, dicts go as JSON."""
    form = aiohttp.FormData(default_to_multipart=True)
    if model is not OMIT:
        form.add_field("model", model)
    if prompt is not OMIT:
        form.add_field("prompt", prompt)
    for i, data in enumerate([image_bytes()] if images is None else images):
        # aiohttp warns (ResourceWarning) about large raw bytes bodies: stream them instead.
        value: Any = io.BytesIO(data) if len(data) > 1 << 20 else data
        form.add_field(
            "image", value, filename=f"in{i}.png", content_type="application/octet-stream"
        )
    for key, value in fields.items():
        if isinstance(value, (dict, list)):
            form.add_field(key, json.dumps(value), content_type="application/json")
        else:
            form.add_field(key, str(value))
    return form


async def post(
    session: aiohttp.ClientSession,
    base_url: str,
    data: aiohttp.FormData | bytes,
    *,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    """POST to the edit operation; return the status and the decoded JSON body."""
    async with session.post(base_url + EDITS_PATH, data=data, headers=headers) as resp:
        return resp.status, await resp.json(content_type=None)


def raw_multipart(
    parts: Iterable[tuple[str, bytes]], boundary: str = "b0undary"
) -> tuple[bytes, dict[str, str]]:
    """Build a body by hand from ``(Content-Disposition value, data)`` pairs.

    Returns the body and the request headers announcing it.
    """
    chunks = []
    for disposition, data in parts:
        chunks.append(f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode())
        chunks.append(data + b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    return b"".join(chunks), headers


class FakeClock:
    """A monotonic clock moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

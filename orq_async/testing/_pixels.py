"""Pixel edits with Pillow (imported lazily: the optional ``emulator`` extra) and a placeholder.

Without Pillow, only :func:`placeholder_png` and :func:`pillow_available` work; the pixel
models are refused at validation with a message naming ``pip install 'orq-async[emulator]'``.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable
from typing import cast

__all__ = ["PILLOW_HINT", "edit_pixels", "pillow_available", "placeholder_png"]

PILLOW_HINT = "this model needs Pillow: pip install 'orq-async[emulator]'"
_FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}


def pillow_available() -> bool:
    """Whether Pillow can be imported."""
    try:
        import PIL.Image as _  # noqa: F401 (only to see whether it can be imported)
    except ImportError:
        return False
    return True


def _chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))


def placeholder_png() -> bytes:
    """Return a 1x1 grey PNG, built without Pillow (stands in for images given by URL)."""
    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(b"\x00\x80\x80\x80"))
        + _chunk(b"IEND", b"")
    )


def edit_pixels(data: bytes, op: str, size: tuple[int, int] | None, fmt: str) -> tuple[bytes, str]:
    """Invert or greyscale an image, resize it if asked, and encode it.

    Args:
        data: the encoded input image.
        op: ``"invert"`` or ``"grayscale"``.
        size: the output ``(width, height)``, or None to keep the input size.
        fmt: the output format, ``png``, ``jpeg`` or ``webp``.

    Returns:
        The encoded output and its size as ``"WxH"``.

    Raises:
        ValueError: the bytes cannot be decoded as an image.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    image: Image.Image
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise ValueError(f"cannot decode the image: {exc}") from exc
    alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    if op == "invert":
        if alpha:
            red, green, blue, a = image.convert("RGBA").split()
            rgb = ImageOps.invert(Image.merge("RGB", (red, green, blue)))
            image = Image.merge("RGBA", (*rgb.split(), a))
        else:
            image = ImageOps.invert(image.convert("RGB"))
    else:
        image = image.convert("LA" if alpha else "L")
    if size is not None and size != image.size:
        # Pillow's hint for ``size`` names numpy's array type, unknown without numpy.
        resize = cast("Callable[[tuple[int, int]], Image.Image]", image.resize)
        image = resize(size)
    if fmt == "jpeg" and image.mode in ("RGBA", "LA"):
        image = image.convert(image.mode[:-1])
    out = io.BytesIO()
    image.save(out, format=_FORMATS[fmt])
    return out.getvalue(), f"{image.width}x{image.height}"

"""Saving a paid answer: the images, or at least the response JSON, never nothing.

If anything fails after the gateway answered (a refused or broken download, a full disk, even
Ctrl-C), the response JSON (base64 images or URLs, usage) is written next to the destination,
or to the temporary folder when that fails too, and the error names the file.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, cast

import aiohttp
import attrs

from orq_async.cli._download import DownloadLimits, download
from orq_async.cli._output import EXIT_API, CliError, Output
from orq_async.cli._paths import Destination, numbered, write_new
from orq_async.models.limits import sniff_image_type
from orq_async.models.response import CreateImageEditResponseBody

__all__ = ["SaveError", "keep_response", "response_json", "save_images"]

_EXT = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}
_FORMAT_EXT = {"png": "png", "jpeg": "jpg", "jpg": "jpg", "webp": "webp"}


class SaveError(CliError):
    """Saving the images failed; ``kept`` is where the response JSON went (None: nowhere)."""

    def __init__(self, message: str, kept: Path | None) -> None:
        super().__init__(message, EXIT_API)
        self.kept = kept


def response_json(value: object) -> Any:
    """A response model as the JSON the gateway sent (unknown fields put back in place)."""
    kind = type(value)
    if attrs.has(kind):
        out: dict[str, Any] = {}
        for field in attrs.fields(kind):
            item = getattr(value, field.name)
            if field.name == "extra" and isinstance(item, Mapping):
                out.update(cast("Mapping[str, Any]", item))
            elif item is not None:
                out[field.name] = response_json(item)
        return out
    if isinstance(value, list | tuple):
        return [response_json(item) for item in cast("Sequence[object]", value)]
    return value


def keep_response(value: CreateImageEditResponseBody, dest: Destination) -> Path | None:
    """Write the response JSON beside the destination, else in the temp folder; None if neither."""
    text = json.dumps(response_json(value), indent=1)
    for folder in (dest.folder, Path(tempfile.gettempdir())):
        try:
            return write_new(dest, folder / f"{dest.stem}.response.json", text.encode())
        except OSError:
            continue
    return None


def _ext(blob: bytes, output_format: str | None) -> str:
    sniffed = sniff_image_type(blob[:12])
    if sniffed is not None:
        return _EXT[sniffed]
    return _FORMAT_EXT.get((output_format or "").lower(), "bin")


async def _collect(value: CreateImageEditResponseBody, limits: DownloadLimits) -> list[bytes]:
    if not value.data:
        raise CliError("the answer holds no image", EXIT_API)
    blobs: list[bytes] = []
    async with aiohttp.ClientSession() as session:  # its own session: never the API key
        for i, item in enumerate(value.data, 1):
            if item.b64_json is not None:
                try:
                    blobs.append(item.decode())
                except ValueError as exc:
                    raise CliError(f"image {i}: {exc}", EXIT_API) from None
            elif item.url is not None:
                blobs.append(await download(session, item.url, limits))
            else:
                raise CliError(f"image {i} has neither b64_json nor url", EXIT_API)
    return blobs


def _write(
    value: CreateImageEditResponseBody, dest: Destination, blobs: Sequence[bytes], output: Output
) -> list[Path]:
    exts = [_ext(blob, value.output_format) for blob in blobs]
    asked = dest.requested_ext
    if asked is not None and any(ext != asked for ext in exts):
        output.note(
            f"note: the image is {exts[0].upper()}, so it is saved as .{exts[0]}, not .{asked}"
        )
    paths = numbered(dest, exts)
    return [write_new(dest, path, blob) for path, blob in zip(paths, blobs, strict=True)]


async def save_images(
    value: CreateImageEditResponseBody, dest: Destination, limits: DownloadLimits, output: Output
) -> list[Path]:
    """Save every image of ``value``; on any failure keep the response JSON and say where.

    Raises:
        SaveError: naming what failed and where the response was kept (exit 1).
    """
    try:
        return _write(value, dest, await _collect(value, limits), output)
    except (CliError, OSError) as exc:
        kept = keep_response(value, dest)
        where = f"the response is kept in {kept}" if kept else "the response could not be kept"
        reason = exc.message if isinstance(exc, CliError) else f"cannot save: {exc}"
        raise SaveError(f"{reason}; {where}", kept) from None
    except BaseException:  # Ctrl-C while downloading: the answer is paid for, keep it
        kept = keep_response(value, dest)
        if kept is not None:
            output.note(f"the response is kept in {kept}")
        raise

"""The emulator's local models, standing in for the providers behind the gateway.

- ``local/echo``: returns the first input image, ``n`` times, unchanged.
- ``local/invert``, ``local/grayscale``: edit the first image's pixels with Pillow, resized to
  ``size`` when given (Pillow is the optional ``emulator`` extra).
- ``local/fail-<status>``: always fails with that status (400..599).
- ``local/flaky-<n>-<status>``: fails its first ``n`` calls with that status, then acts as echo;
  calls are counted per emulator and per model name.
- ``local/slow-<ms>``: acts as echo after sleeping ``ms`` milliseconds (at most 600 000).
- Any name outside ``local/`` (``openai/gpt-image-1``) is served by the echo model, so examples
  written for the real gateway run offline; the name asked for is recorded in the trace.

Any other ``local/...`` name is refused at validation (400 naming the field).
"""

from __future__ import annotations

import asyncio
import re

import attrs

from ._errors import GatewayError
from ._pixels import PILLOW_HINT, edit_pixels, pillow_available
from ._request import EditRequest

__all__ = ["LocalModels", "ModelOutput", "ProviderFailure", "check_model_name"]

_FAIL = re.compile(r"local/fail-([1-5][0-9]{2})")
_FLAKY = re.compile(r"local/flaky-([0-9]{1,6})-([1-5][0-9]{2})")
_SLOW = re.compile(r"local/slow-([0-9]{1,6})")
_PIXEL_OPS = {"local/invert": "invert", "local/grayscale": "grayscale"}
_FORMATS = {"image/png": "png", "image/jpeg": "jpeg", "image/webp": "webp"}
MAX_SLOW_MS = 600_000


class ProviderFailure(Exception):
    """A provider call that failed with an HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@attrs.frozen
class ModelOutput:
    """What a model produced: ``n`` encoded images, their format and size (when known)."""

    images: tuple[bytes, ...]
    output_format: str
    size: str | None


def _status(text: str, path: str) -> int:
    status = int(text)
    if not 400 <= status <= 599:
        raise GatewayError(400, f"{path}: the fault status must be 400..599", param=path)
    return status


def check_model_name(name: str, path: str) -> None:
    """Refuse an unknown ``local/`` model, a bad fault model, or a pixel model without Pillow."""
    if not name.startswith("local/") or name == "local/echo":
        return
    if name in _PIXEL_OPS:
        if not pillow_available():
            raise GatewayError(
                400, f"{path}: {name}: {PILLOW_HINT}", param=path, code="pillow_missing"
            )
        return
    if match := _FAIL.fullmatch(name):
        _status(match[1], path)
        return
    if match := _FLAKY.fullmatch(name):
        _status(match[2], path)
        return
    if (match := _SLOW.fullmatch(name)) and int(match[1]) <= MAX_SLOW_MS:
        return
    raise GatewayError(
        400,
        f"{path}: unknown local model {name!r} (known: local/echo, local/invert, local/grayscale,"
        " local/fail-<status>, local/flaky-<n>-<status>, local/slow-<ms>)",
        param=path,
        code="model_not_found",
    )


class LocalModels:
    """Runs the local models; holds the per-model call counters of the flaky models."""

    def __init__(self) -> None:
        self._calls: dict[str, int] = {}

    async def call(self, name: str, request: EditRequest) -> ModelOutput:
        """Run one provider call of model ``name`` (raises :class:`ProviderFailure`)."""
        if match := _FAIL.fullmatch(name):
            raise ProviderFailure(int(match[1]), f"{name} failed with {match[1]}")
        if match := _FLAKY.fullmatch(name):
            seen = self._calls.get(name, 0)
            self._calls[name] = seen + 1
            if seen < int(match[1]):
                raise ProviderFailure(int(match[2]), f"{name} failed call {seen + 1}")
        elif match := _SLOW.fullmatch(name):
            await asyncio.sleep(int(match[1]) / 1000)
        first = request.images[0]
        fmt = _FORMATS[first.content_type]
        if name in _PIXEL_OPS:
            size = _dimensions(request.size)
            try:
                data, actual = await asyncio.to_thread(
                    edit_pixels, first.data, _PIXEL_OPS[name], size, fmt
                )
            except ValueError as exc:
                raise ProviderFailure(400, f"{name}: image[0]: {exc}") from exc
            return ModelOutput(images=(data,) * request.n, output_format=fmt, size=actual)
        return ModelOutput(images=(first.data,) * request.n, output_format=fmt, size=request.size)


def _dimensions(size: str | None) -> tuple[int, int] | None:
    if size is None or size == "auto":
        return None
    width, _, height = size.partition("x")
    return int(width), int(height)

"""The validated image-edit request, as the emulator's models and gateway see it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from ._options import GatewayOptions, OrqObject

__all__ = ["EditRequest", "InputImage", "resolve_options"]


@attrs.frozen
class InputImage:
    """One input image: its bytes and sniffed content type.

    ``url`` is set for an image sent as text (an ``http(s)`` URL, which is not fetched and is
    replaced by a placeholder PNG, or a ``data:`` URI, which is decoded).
    """

    data: bytes
    content_type: str
    filename: str | None = None
    url: str | None = None


@attrs.frozen
class EditRequest:
    """A request that passed validation (top-level options and ``orq`` kept apart)."""

    model: str
    prompt: str
    images: tuple[InputImage, ...]
    n: int = 1
    size: str | None = None
    quality: str | None = None
    response_format: str = "b64_json"
    user: str | None = None
    options: GatewayOptions = attrs.field(factory=GatewayOptions)
    orq: OrqObject = attrs.field(factory=OrqObject)

    @property
    def identity(self) -> Mapping[str, Any] | None:
        """The ``orq.identity`` object, else the deprecated ``orq.contact`` one."""
        return self.orq.identity if self.orq.identity is not None else self.orq.contact


def resolve_options(request: EditRequest) -> GatewayOptions:
    """Merge the top-level options with ``orq``'s: per option, the one inside ``orq`` wins.

    The merge is option by option, not key by key: ``orq.retry`` replaces the top-level
    ``retry`` whole (its ``count`` is not combined with the top-level ``on_codes``).
    """
    return request.orq.options.over(request.options)

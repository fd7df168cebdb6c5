"""The response of ``createImageEdit``, parsed leniently.

Unknown fields are kept in each model's ``extra`` mapping (JSON values, typed ``object``:
narrow them before use); enum-like fields (``output_format``, ``quality``) are plain strings
so a new value never breaks parsing.
"""

from __future__ import annotations

import base64
import binascii
import sys
from collections.abc import Mapping, Sequence

import attrs

__all__ = ["CreateImageEditResponseBody", "ImageData", "InputTokensDetails", "Usage"]

_EMPTY: Mapping[str, object] = {}

if sys.version_info >= (3, 11):

    def _strict_b64decode(text: str) -> bytes:
        return binascii.a2b_base64(text, strict_mode=True)

else:  # strict_mode is new in 3.11; b64decode(validate=True) checks the alphabet first

    def _strict_b64decode(text: str) -> bytes:
        return base64.b64decode(text, validate=True)


@attrs.frozen(kw_only=True)
class ImageData:
    """One output image: inline base64 (``b64_json``) or a ``url`` to download."""

    b64_json: str | None = attrs.field(default=None, repr=False)
    url: str | None = None
    revised_prompt: str | None = None
    extra: Mapping[str, object] = _EMPTY

    def decode(self) -> bytes:
        """Return the image bytes decoded from ``b64_json``.

        Raises:
            ValueError: the item has no inline data (download ``url`` instead) or bad base64.
        """
        if self.b64_json is None:
            raise ValueError("this image has no b64_json; download its url instead")
        try:
            return _strict_b64decode(self.b64_json)
        except binascii.Error as exc:
            raise ValueError(f"b64_json is not valid base64: {exc}") from None


@attrs.frozen(kw_only=True)
class InputTokensDetails:
    """Input tokens by kind."""

    text_tokens: int | None = None
    image_tokens: int | None = None
    extra: Mapping[str, object] = _EMPTY


@attrs.frozen(kw_only=True)
class Usage:
    """Token usage of the call."""

    total_tokens: int | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    input_tokens_details: InputTokensDetails | None = None
    extra: Mapping[str, object] = _EMPTY


@attrs.frozen(kw_only=True)
class CreateImageEditResponseBody:
    """The edited images and what they cost."""

    created: int
    data: Sequence[ImageData]
    output_format: str | None = None
    size: str | None = None
    quality: str | None = None
    usage: Usage | None = None
    extra: Mapping[str, object] = _EMPTY

"""The success body of ``POST /v2/router/images/edits`` and its plausible token usage.

Usage is invented but consistent: text tokens are the prompt's words, each input image costs
``IMAGE_TOKENS`` input tokens and each output image ``IMAGE_TOKENS`` output tokens.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Sequence
from typing import Any

from ._models import ModelOutput
from ._request import EditRequest

__all__ = ["IMAGE_TOKENS", "success_body", "usage"]

IMAGE_TOKENS = 64


def usage(prompt: str, image_count: int, n: int) -> dict[str, Any]:
    """Return the ``usage`` object for a prompt, input images and ``n`` outputs."""
    text_tokens = len(prompt.split())
    image_tokens = image_count * IMAGE_TOKENS
    output_tokens = n * IMAGE_TOKENS
    return {
        "total_tokens": text_tokens + image_tokens + output_tokens,
        "input_tokens": text_tokens + image_tokens,
        "output_tokens": output_tokens,
        "input_tokens_details": {"text_tokens": text_tokens, "image_tokens": image_tokens},
    }


def success_body(
    request: EditRequest, prompt: str, output: ModelOutput, urls: Sequence[str] | None
) -> dict[str, Any]:
    """Build the answer: ``b64_json`` items, or ``url`` items when ``urls`` is given.

    An absent field is omitted, never ``null`` (the official TypeScript SDK refuses
    ``"url": null``).

    ``size`` and ``quality`` are present only when known (asked for, or measured by a pixel
    model); ``output_format`` follows the first input image's type.
    """
    data: list[dict[str, str]]
    if urls is not None:
        data = [{"url": url} for url in urls]
    else:
        encoded: dict[bytes, str] = {}
        data = []
        for image in output.images:
            if image not in encoded:
                encoded[image] = base64.b64encode(image).decode("ascii")
            data.append({"b64_json": encoded[image]})
    body: dict[str, Any] = {
        "created": int(time.time()),
        "data": data,
        "output_format": output.output_format,
    }
    if output.size is not None:
        body["size"] = output.size
    if request.quality is not None:
        body["quality"] = request.quality
    body["usage"] = usage(prompt, len(request.images), len(output.images))
    return body

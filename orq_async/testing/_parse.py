"""From the parts of a form to a validated :class:`EditRequest`, with the SDK's limits.

Every problem raises :class:`GatewayError` (400) naming the field by its path (``n``,
``image[2]``, ``orq.retry.count``); the first problem found is reported. Decisions:

- ``image`` (or ``image[]``) is required: 1 to ``MAX_IMAGES`` parts. A part with a filename or a
  non-text content type is a file: it must be under ``MAX_IMAGE_BYTES`` and be PNG, JPEG or WebP
  by its magic bytes. A text part is a ``data:<type>;base64,...`` URI (decoded and checked like a
  file) or an ``http(s)`` URL, which the emulator does not fetch: a 1x1 grey PNG stands in for it
  and the URL is recorded.
- ``n`` must be written as an integer (``"2"``, not ``"2.0"``); ``size`` is ``WxH`` (each side
  1..4096) or ``auto``.
- ``prompt`` is required; it may be empty only when ``orq.prompt`` names a stored prompt.
- A scalar or JSON field sent twice, or an unknown field, is refused.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Sequence
from typing import Any

from orq_async.models.limits import MAX_IMAGE_BYTES, MAX_IMAGES, N_MAX, N_MIN, sniff_image_type

from ._errors import GatewayError
from ._models import check_model_name
from ._multipart import Part
from ._options import GatewayOptions, OrqOptions, check_gateway_option, check_orq
from ._pixels import placeholder_png
from ._request import EditRequest, InputImage

__all__ = ["IMAGE_FIELDS", "build_request"]

IMAGE_FIELDS = ("image", "image[]")
_TEXT_FIELDS = ("model", "prompt", "n", "size", "quality", "response_format", "user", "name")
_JSON_FIELDS = ("fallbacks", "retry", "cache", "load_balancer", "timeout", "orq")
_QUALITIES = ("auto", "high", "medium", "low", "standard")
_RESPONSE_FORMATS = ("url", "b64_json")
_SIZE = re.compile(r"([0-9]{1,5})x([0-9]{1,5})")
_INT = re.compile(r"[0-9]{1,6}")
MAX_SIDE = 4096


def _bad(param: str, message: str, code: str = "invalid_value") -> GatewayError:
    return GatewayError(400, f"{param}: {message}", param=param, code=code)


def _text(part: Part) -> str:
    try:
        return part.data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _bad(part.name, "is not valid UTF-8 text") from exc


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _json(part: Part) -> Any:
    try:
        return json.loads(_text(part), parse_constant=_reject_constant)
    except ValueError as exc:
        raise _bad(part.name, f"is not valid JSON: {exc}", "invalid_json") from exc


def _checked_image(data: bytes, param: str, filename: str | None, url: str | None) -> InputImage:
    if len(data) >= MAX_IMAGE_BYTES:
        raise _bad(
            param,
            f"is {len(data)} bytes; each image must be under {MAX_IMAGE_BYTES}",
            "image_too_large",
        )
    content_type = sniff_image_type(data[:12])
    if content_type is None:
        raise _bad(param, "is not a PNG, JPEG or WebP image", "unsupported_image_type")
    return InputImage(data=data, content_type=content_type, filename=filename, url=url)


def _image(part: Part, param: str) -> InputImage:
    if part.is_file:
        return _checked_image(part.data, param, part.filename, None)
    text = _text(part).strip()
    if text.startswith("data:"):
        meta, comma, payload = text.partition(",")
        if not comma or not meta.endswith(";base64"):
            raise _bad(param, "a data URI must be base64: data:<type>;base64,<data>")
        try:
            data = base64.b64decode(payload, validate=True)
        except binascii.Error as exc:
            raise _bad(param, "the data URI is not valid base64") from exc
        return _checked_image(data, param, None, meta + ",...")
    if text.startswith(("http://", "https://")):
        return InputImage(data=placeholder_png(), content_type="image/png", url=text)
    raise _bad(param, "must be an image file, an http(s) URL or a data: URI")


def _scalar(name: str, text: str) -> Any:
    if name == "n":
        if not _INT.fullmatch(text.strip()) or not N_MIN <= int(text) <= N_MAX:
            raise _bad("n", f"must be an integer from {N_MIN} to {N_MAX}, got {text!r}")
        return int(text)
    if name == "size":
        match = _SIZE.fullmatch(text)
        if text != "auto" and (
            match is None or not all(1 <= int(side) <= MAX_SIDE for side in match.groups())
        ):
            raise _bad("size", f"must be WxH (each side 1..{MAX_SIDE}) or 'auto', got {text!r}")
    elif name == "quality" and text not in _QUALITIES:
        raise _bad("quality", f"must be one of {', '.join(_QUALITIES)}, got {text!r}")
    elif name == "response_format" and text not in _RESPONSE_FORMATS:
        raise _bad("response_format", f"must be url or b64_json, got {text!r}")
    elif name == "model" and not text.strip():
        raise _bad("model", "must not be empty")
    return text


def _check_models(request: EditRequest) -> None:
    check_model_name(request.model, "model")
    for prefix, options in (("", request.options), ("orq.", request.orq.options)):
        for i, model in enumerate(options.fallbacks or ()):
            check_model_name(model, f"{prefix}fallbacks[{i}].model")
        if options.load_balancer is not None:
            for i, entry in enumerate(options.load_balancer.models):
                check_model_name(entry.model, f"{prefix}load_balancer.models[{i}].model")


def build_request(parts: Sequence[Part]) -> EditRequest:
    """Validate the parts of a form and return the request they describe."""
    fields: dict[str, Any] = {}
    options: dict[str, Any] = {}
    orq = OrqOptions()
    images: list[InputImage] = []
    seen: set[str] = set()
    for part in parts:
        name = part.name
        if name in IMAGE_FIELDS:
            if len(images) >= MAX_IMAGES:
                raise _bad("image", f"at most {MAX_IMAGES} images are allowed", "too_many_images")
            images.append(_image(part, f"image[{len(images)}]"))
            continue
        if name not in _TEXT_FIELDS and name not in _JSON_FIELDS:
            raise _bad(name, "unknown field", "unknown_field")
        if name in seen:
            raise _bad(name, "is given more than once", "duplicate_field")
        seen.add(name)
        if name == "orq":
            orq = check_orq(_json(part))
        elif name in _JSON_FIELDS:
            options.update(check_gateway_option(name, _json(part), name))
        elif name == "name":
            options["name"] = _text(part)
        else:
            fields[name] = _scalar(name, _text(part))
    for required in ("model", "prompt"):
        if required not in fields:
            raise _bad(required, "is required", "missing_field")
    if not images:
        raise _bad(
            "image", "is required: send 1 to 16 image files, URLs or data URIs", "missing_field"
        )
    if not fields["prompt"].strip() and orq.prompt is None:
        raise _bad("prompt", "must not be empty (unless orq.prompt names a stored prompt)")
    request = EditRequest(
        images=tuple(images), options=GatewayOptions(**options), orq=orq, **fields
    )
    _check_models(request)
    return request

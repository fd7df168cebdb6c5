"""From the parts of a form to a validated :class:`EditRequest`, with the gateway's limits.

Every problem raises :class:`GatewayError` (400) naming the field by its path (``n``,
``image[2]``, ``orq.retry.count``); the first problem found is reported. Field names come from
:mod:`orq_async.contract`; the checks are the emulator's own. Decisions:

- Images: ``image`` (repeated, as curl and orq_async send it) and ``image[]`` (openai-python,
  the official Python SDK's array form), 1 to ``MAX_IMAGES`` parts in all. A part with a
  filename or a non-text content type is a file: under ``MAX_IMAGE_BYTES`` and PNG, JPEG or
  WebP by its magic bytes. A text part is a ``data:<type>;base64,...`` URI (decoded and checked
  like a file) or an ``http(s)`` URL, which the emulator does not fetch: a 1x1 grey PNG stands in
  for it and the URL is recorded.
- Numbers are JavaScript numbers (see ``_numbers``): ``n`` ``"1.0"`` and ``" 2 "`` are integers,
  ``"1.5"`` is refused. ``size`` is ``WxH`` (each side 1..4096) or ``auto``.
- ``fallback_on_codes`` at the top level: repeated text parts named ``fallback_on_codes`` or
  ``fallback_on_codes[]`` (one code each, what the official Python SDK sends), or one part
  holding a JSON array; inside ``orq`` it is part of the JSON.
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

from orq_async.contract import (
    FILE_FIELD,
    JSON_FIELDS,
    LIST_FIELDS,
    MAX_IMAGE_BYTES,
    MAX_IMAGES,
    N_MAX,
    N_MIN,
    QUALITIES,
    RESPONSE_FORMATS,
    TEXT_FIELDS,
)
from orq_async.models.limits import sniff_image_type

from ._form import Part
from ._models import check_model_name
from ._numbers import number_from_text
from ._options import CHECKERS, GatewayOptions, OrqObject, bad, check_orq
from ._pixels import placeholder_png
from ._request import EditRequest, InputImage

__all__ = ["IMAGE_FIELDS", "build_request"]

IMAGE_FIELDS = (FILE_FIELD, f"{FILE_FIELD}[]")
#: The part names of each list field: ``name`` and ``name[]``.
_LIST_PARTS = {form: name for name in LIST_FIELDS for form in (name, f"{name}[]")}
_SIZE = re.compile(r"([0-9]{1,5})x([0-9]{1,5})")
MAX_SIDE = 4096


def _text(part: Part) -> str:
    try:
        return part.data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise bad(part.name, "is not valid UTF-8 text") from exc


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _json(part: Part) -> Any:
    try:
        return json.loads(_text(part), parse_constant=_reject_constant)
    except ValueError as exc:
        raise bad(part.name, f"is not valid JSON: {exc}", "invalid_json") from exc


def _checked_image(data: bytes, param: str, filename: str | None, url: str | None) -> InputImage:
    if len(data) >= MAX_IMAGE_BYTES:
        raise bad(
            param,
            f"is {len(data)} bytes; each image must be under {MAX_IMAGE_BYTES}",
            "image_too_large",
        )
    content_type = sniff_image_type(data[:12])
    if content_type is None:
        raise bad(param, "is not a PNG, JPEG or WebP image", "unsupported_image_type")
    return InputImage(data=data, content_type=content_type, filename=filename, url=url)


def _image(part: Part, param: str) -> InputImage:
    if part.is_file:
        return _checked_image(part.data, param, part.filename, None)
    text = _text(part).strip()
    if text.startswith("data:"):
        meta, comma, payload = text.partition(",")
        if not comma or not meta.endswith(";base64"):
            raise bad(param, "a data URI must be base64: data:<type>;base64,<data>")
        try:
            data = base64.b64decode(payload, validate=True)
        except binascii.Error as exc:
            raise bad(param, "the data URI is not valid base64") from exc
        return _checked_image(data, param, None, meta + ",...")
    if text.startswith(("http://", "https://")):
        return InputImage(data=placeholder_png(), content_type="image/png", url=text)
    raise bad(param, "must be an image file, an http(s) URL or a data: URI")


def _scalar(name: str, text: str) -> Any:
    if name == "n":
        number = number_from_text(text)
        if number is None or not number.is_integer() or not N_MIN <= number <= N_MAX:
            raise bad("n", f"must be an integer from {N_MIN} to {N_MAX}, got {text!r}")
        return int(number)
    if name == "size":
        match = _SIZE.fullmatch(text)
        if text != "auto" and (
            match is None or not all(1 <= int(side) <= MAX_SIDE for side in match.groups())
        ):
            raise bad("size", f"must be WxH (each side 1..{MAX_SIDE}) or 'auto', got {text!r}")
    elif name == "quality" and text not in QUALITIES:
        raise bad("quality", f"must be one of {', '.join(QUALITIES)}, got {text!r}")
    elif name == "response_format" and text not in RESPONSE_FORMATS:
        raise bad("response_format", f"must be one of {', '.join(RESPONSE_FORMATS)}, got {text!r}")
    elif name == "model" and not text.strip():
        raise bad("model", "must not be empty")
    return text


def _list_value(name: str, parts: Sequence[Part]) -> Any:
    """A top-level list (``fallback_on_codes``): repeated text parts, or one JSON-array part.

    Text items that spell a number become numbers; the field's checker judges the items.
    """
    if len({part.name for part in parts}) > 1:
        raise bad(name, f"send {name} or {name}[], not both", "duplicate_field")
    if len(parts) == 1 and _text(parts[0]).lstrip().startswith("["):
        return _json(parts[0])
    items: list[Any] = []
    for part in parts:
        text = _text(part)
        number = number_from_text(text)
        items.append(text if number is None else number)
    return items


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
    orq = OrqObject()
    images: list[InputImage] = []
    lists: dict[str, list[Part]] = {}
    seen: set[str] = set()
    for part in parts:
        name = part.name
        if name in IMAGE_FIELDS:
            if len(images) >= MAX_IMAGES:
                raise bad(FILE_FIELD, f"at most {MAX_IMAGES} images are allowed", "too_many_images")
            images.append(_image(part, f"{FILE_FIELD}[{len(images)}]"))
            continue
        if name in _LIST_PARTS:
            lists.setdefault(_LIST_PARTS[name], []).append(part)
            continue
        if name not in TEXT_FIELDS and name not in JSON_FIELDS:
            raise bad(name, "unknown field", "unknown_field")
        if name in seen:
            raise bad(name, "is given more than once", "duplicate_field")
        seen.add(name)
        value = _json(part) if name in JSON_FIELDS else _text(part)
        if name == "orq":
            orq = check_orq(value)
        elif name in CHECKERS:
            options[name] = CHECKERS[name](value, name)
        else:
            fields[name] = _scalar(name, value)
    for name, list_parts in lists.items():
        options[name] = CHECKERS[name](_list_value(name, list_parts), name)
    for required in ("model", "prompt"):
        if required not in fields:
            raise bad(required, "is required", "missing_field")
    if not images:
        raise bad(
            FILE_FIELD,
            f"is required: send 1 to {MAX_IMAGES} image files, URLs or data URIs",
            "missing_field",
        )
    if not fields["prompt"].strip() and orq.prompt is None:
        raise bad("prompt", "must not be empty (unless orq.prompt names a stored prompt)")
    request = EditRequest(
        images=tuple(images), options=GatewayOptions(**options), orq=orq, **fields
    )
    _check_models(request)
    return request

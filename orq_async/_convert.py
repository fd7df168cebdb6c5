"""The one cattrs converter: input dict/model → request model, model → plain data, JSON → response.

Requests are structured strictly: wrong types, unknown keys (with a did-you-mean) and the
models' validators are all checked and every problem is collected with its path
(``orq.load_balancer.models[1].weight``) into one :class:`SDKValidationError`. Responses are
structured leniently: unknown keys land in ``extra``, enum-like fields are plain strings. The
hooks themselves live in :mod:`orq_async._structure`.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from orq_async._structure import Hook, Invalid, format_path, image_hook, make_converter
from orq_async.errors import Problem, SDKValidationError
from orq_async.models.request import CreateImageEditRequestBody

if TYPE_CHECKING:
    from orq_async._compiled import Flat
    from orq_async.models.response import CreateImageEditResponseBody

__all__ = [
    "MODELLED_FIELDS",
    "check_extra_files",
    "converter",
    "is_modelled",
    "load_json",
    "parse_response",
    "structure_request",
    "to_plain",
]

converter = functools.cache(make_converter)
"""The one converter, built on first use (the fast path does without it)."""


@functools.cache
def _request_hook() -> Hook:
    """The request model's hook, generated on the first call (once), not at import."""
    return converter().get_structure_hook(CreateImageEditRequestBody)


@functools.cache
def _response_flat() -> tuple[type[CreateImageEditResponseBody], Flat, object]:
    """The response model, its flat function and that function's SLOW, imported and built on
    the first response (once): an import of the operation does not pay for them."""
    from orq_async._compiled import SLOW, response_model
    from orq_async.models.response import CreateImageEditResponseBody as Body

    return Body, response_model(Body), SLOW


def to_plain(value: object) -> Any:
    """A model (or list of models) as plain JSON-ready data; fields at their default left out."""
    return converter().unstructure(value)


def structure_request(value: object) -> CreateImageEditRequestBody:
    """Validate a dict or model into a request model.

    Raises:
        SDKValidationError: listing every problem found, each with its path.
    """
    try:
        body = _request_hook()(value, CreateImageEditRequestBody)
    except Invalid as exc:
        raise SDKValidationError(
            tuple(Problem(format_path(p), m) for p, m in exc.problems)
        ) from None
    assert isinstance(body, CreateImageEditRequestBody)
    return body


# The decoder's scanner (what ``raw_decode`` calls; an instance attribute typeshed leaves out).
_SCAN: Callable[[str, int], tuple[Any, int]] = vars(json.JSONDecoder())["scan_once"]
_SPACE = " \t\n\r"


def load_json(raw: bytes) -> Any:
    """``json.loads(raw)``, without its encoding sniffing when ``raw`` starts with ``{"``: that
    sniffing's own rules make such a body UTF-8 (RFC 8259 section 8.1).

    Raises:
        ValueError: not JSON (``JSONDecodeError``, with json's own message), or bad UTF-8.
        RecursionError: nested too deeply.
    """
    if raw[:2] != b'{"':
        return json.loads(raw)
    text = raw.decode("utf-8", "surrogatepass")
    try:
        value, end = _SCAN(text, 0)  # raw_decode's own step, without its frame
    except StopIteration as exc:  # (not reached from ``{"``: kept for the scanner's contract)
        raise json.JSONDecodeError("Expecting value", text, exc.value) from None
    if end != len(text):
        rest = text[end:].lstrip(_SPACE)
        if rest:
            raise json.JSONDecodeError("Extra data", text, len(text) - len(rest))
    return value


def parse_response(data: object) -> CreateImageEditResponseBody:
    """Structure a decoded JSON response body.

    Raises:
        ValueError: the body does not match the schema; the message names the field.
    """
    cls, flat, slow = _response_flat()
    try:
        body = flat(data)
    except Exception:  # the flat function vouches for nothing: the reference hook decides
        body = slow
    if body is slow:
        try:
            body = converter().get_structure_hook(cls)(data, cls)
        except Invalid as exc:
            raise ValueError(
                "; ".join(str(Problem(format_path(p), m)) for p, m in exc.problems)
            ) from None
    assert isinstance(body, cls)
    return body


MODELLED_FIELDS = frozenset(attrs.fields_dict(CreateImageEditRequestBody))


def is_modelled(name: str) -> bool:
    """Whether a part name belongs to a modelled field (``fallback_on_codes[]`` included)."""
    return name in MODELLED_FIELDS or name.removesuffix("[]") in MODELLED_FIELDS


def check_extra_files(extra: Mapping[str, Any] | None) -> list[Problem]:
    """Type-check per-call extra files (no I/O); names of modelled fields are refused."""
    problems: list[Problem] = []
    for name, value in (extra or {}).items():
        where = f"options.extra_files.{name}"
        if not name or is_modelled(name):
            problems.append(Problem(where, "not a new field name (send images with `image`)"))
            continue
        try:
            image_hook(value, None)
        except Invalid as exc:
            problems += [Problem(where + format_path(p), m) for p, m in exc.problems]
    return problems

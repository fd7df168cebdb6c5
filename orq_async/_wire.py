"""The non-file parts of the body: modelled fields and per-call extra fields, as wire text."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from orq_async._convert import MODELLED_FIELDS, to_plain
from orq_async.errors import Problem
from orq_async.models.request import CreateImageEditRequestBody

__all__ = ["WireField", "extra_wire_fields", "wire_fields"]

WireField = tuple[str, str, bool]
"""``(name, text, is_json)``: one non-file part of the multipart body."""

_TEXT_FIELDS = ("model", "prompt", "n", "size", "quality", "response_format", "user", "name")
_JSON_FIELDS = ("fallbacks", "retry", "cache", "load_balancer", "timeout", "orq")


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def wire_fields(body: CreateImageEditRequestBody) -> list[WireField]:
    """The non-file parts of the body, in a stable order; unset (None) fields are left out."""
    out: list[WireField] = []
    for name in _TEXT_FIELDS:
        value = getattr(body, name)
        if value is not None:
            out.append((name, str(value), False))
    for name in _JSON_FIELDS:
        value = getattr(body, name)
        if value is not None:
            out.append((name, _json(to_plain(value)), True))
    return out


def extra_wire_fields(extra: Mapping[str, Any] | None) -> tuple[list[WireField], list[Problem]]:
    """Per-call extra fields: ``str`` → text part, anything else → JSON part."""
    out: list[WireField] = []
    problems: list[Problem] = []
    for name, value in (extra or {}).items():
        where = f"options.extra_fields.{name}"
        if not name or name in MODELLED_FIELDS:
            problems.append(Problem(where, "not a new field name (modelled fields go in the body)"))
        elif isinstance(value, str):
            out.append((name, value, False))
        else:
            try:
                text = _json(value)
            except (TypeError, ValueError, RecursionError) as exc:
                problems.append(Problem(where, f"not JSON-serialisable: {exc}"))
            else:
                out.append((name, text, True))
    return out, problems

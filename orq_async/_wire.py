"""The non-file parts of the body: modelled fields and per-call extra fields, as wire text.

Which field travels how comes from :mod:`orq_async.contract` (derived from the models). The one
choice made here is the form of a top-level list of scalars (``fallback_on_codes``):
:data:`LIST_FORM`. ``"repeated"`` (the default) sends one ``fallback_on_codes[]`` text part per
code, as the official Python SDK (``orq-ai-sdk`` 4.17) does; ``"json"`` would send one
``fallback_on_codes`` part holding a JSON array. An empty list sends nothing in the repeated
form, which the gateway reads as it reads an empty list: its default codes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, Final, Literal

from orq_async._convert import is_modelled, to_plain
from orq_async.contract import FILE_FIELD, JSON_FIELDS, LIST_FIELDS, TEXT_FIELDS
from orq_async.errors import Problem
from orq_async.models.request import CreateImageEditRequestBody

__all__ = [
    "LIST_FORM",
    "FORMS",
    "WIRE_ORDER",
    "ListForm",
    "UnsendableField",
    "WireField",
    "extra_wire_fields",
    "list_parts",
    "wire_fields",
]

WireField = tuple[str, str, bool]
"""``(name, text, is_json)``: one non-file part of the multipart body."""

ListForm = Literal["repeated", "json"]
LIST_FORM: Final[ListForm] = "repeated"
"""How top-level lists of scalars travel; swap the form here and nowhere else."""


_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _json(value: Any) -> str:
    """Compact JSON; one encoder for every part (``json.dumps`` with options builds one each
    time)."""
    return _ENCODER.encode(value)


def list_parts(name: str, values: Iterable[int], form: ListForm = LIST_FORM) -> list[WireField]:
    """The parts of a top-level list of scalars: ``name[]`` text parts, or one JSON part."""
    if form == "json":
        return [(name, _json(list(values)), True)]
    return [(f"{name}[]", str(v), False) for v in values]


WIRE_ORDER: Final = (*TEXT_FIELDS, *LIST_FIELDS, *JSON_FIELDS)
"""The order of the non-file parts."""
FORMS: Final = {
    **dict.fromkeys(TEXT_FIELDS, "text"),
    **dict.fromkeys(LIST_FIELDS, "list"),
    **dict.fromkeys(JSON_FIELDS, "json"),
    FILE_FIELD: "file",
}
"""Each top-level field's wire form, in wire order (the file parts come last)."""


class UnsendableField(ValueError):
    """A validated field whose value has no wire form (an int too long to write as text)."""

    def __init__(self, name: str, cause: Exception) -> None:
        super().__init__(f"cannot be sent: {cause}")
        self.name = name


def wire_fields(body: CreateImageEditRequestBody) -> list[WireField]:
    """The non-file parts of the validated model, in :data:`WIRE_ORDER`; None fields left out.

    Raises:
        UnsendableField: naming the field whose value cannot be written out.
    """
    out: list[WireField] = []
    for name in WIRE_ORDER:
        value = getattr(body, name)
        if value is None:
            continue
        form = FORMS[name]
        try:
            if form == "text":
                out.append((name, str(value), False))
            elif form == "json":
                out.append((name, _json(to_plain(value)), True))
            else:
                out += list_parts(name, value)
        except (TypeError, ValueError, RecursionError) as exc:
            raise UnsendableField(name, exc) from None
    return out


def extra_wire_fields(extra: Mapping[str, Any] | None) -> tuple[list[WireField], list[Problem]]:
    """Per-call extra fields: ``str`` → text part, anything else → JSON part."""
    out: list[WireField] = []
    problems: list[Problem] = []
    for name, value in (extra or {}).items():
        where = f"options.extra_fields.{name}"
        if not name or is_modelled(name):
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

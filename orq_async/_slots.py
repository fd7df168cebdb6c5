"""Building an attrs instance slot by slot, for a class whose ``__init__`` only stores."""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

import attrs

__all__ = ["slot_setters"]

Setter = Callable[[Any, Any], None]


def slot_setters(cls: type[Any]) -> tuple[Setter, ...] | None:
    """The setters of ``cls``'s field slots, in field order, when its ``__init__`` only stores
    the fields (each one in ``__init__``, no validator, converter or post-init, every field a
    slot); else None: build it through ``__init__``. ``object.__new__(cls)`` then each setter
    makes the same instance in about half the time, frozen or not."""
    fields = attrs.fields(cls)
    if hasattr(cls, "__attrs_post_init__"):
        return None
    if any(not f.init or f.validator is not None or f.converter is not None for f in fields):
        return None
    slots = [cls.__dict__.get(f.name) for f in fields]
    if not all(isinstance(slot, types.MemberDescriptorType) for slot in slots):
        return None
    return tuple(slot.__set__ for slot in slots)  # type: ignore[union-attr]

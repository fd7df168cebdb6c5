"""Small attrs validators with messages that read well after a field path."""

from __future__ import annotations

import math
from collections.abc import Callable, Collection
from typing import Any

import attrs

__all__ = [
    "ItemErrors",
    "all_of",
    "condition",
    "between",
    "each",
    "finite_non_negative",
    "max_items",
    "non_empty",
    "one_of",
    "parts",
    "statuses",
    "unique",
]

Validator = Callable[[Any, "attrs.Attribute[Any]", Any], None]

_CONDITIONS: dict[Validator, str] = {}
_PARTS: dict[Validator, tuple[Validator, ...]] = {}


def condition(validator: Validator) -> str | None:
    """The validator as a Python condition on ``{v}`` (True when valid), if it has one.

    Used by :mod:`orq_async._compiled` to check inline what the validator checks; the
    condition holds literals only, never outside text.
    """
    return _CONDITIONS.get(validator)


def parts(validator: Validator) -> tuple[Validator, ...]:
    """The validators :func:`all_of` combined (or the validator itself)."""
    return _PARTS.get(validator, (validator,))


def _with_condition(check: Validator, text: str) -> Validator:
    _CONDITIONS[check] = text
    return check


def all_of(*validators: Validator) -> Validator:
    """Every one of ``validators``, in order."""

    def check(inst: Any, attr: attrs.Attribute[Any], value: Any) -> None:
        for validator in validators:
            validator(inst, attr, value)

    _PARTS[check] = validators
    return check


class ItemErrors(ValueError):
    """Problems with single items of a sequence, by index (the converter puts them in the path)."""

    def __init__(self, items: list[tuple[int, str]]) -> None:
        super().__init__("; ".join(f"[{i}] {msg}" for i, msg in items))
        self.items = items


def between(low: int, high: int | None = None) -> Validator:
    """The value (if not None) is within ``low..high`` inclusive."""

    def check(_inst: Any, _attr: attrs.Attribute[Any], value: Any) -> None:
        if value is None:
            return
        if value < low or (high is not None and value > high):
            bound = f"between {low} and {high}" if high is not None else f">= {low}"
            raise ValueError(f"must be {bound}, got {value!r}")

    upper = "" if high is None else f" <= {int(high)!r}"
    return _with_condition(check, f"{{v}} is None or {int(low)!r} <= {{v}}{upper}")


def finite_non_negative(_inst: Any, _attr: attrs.Attribute[Any], value: Any) -> None:
    """The number is finite and >= 0."""
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"must be a finite number >= 0, got {value!r}")


_with_condition(finite_non_negative, "{v} - {v} == 0 and {v} >= 0")


def one_of(allowed: Collection[str]) -> Validator:
    """The value (if not None) is one of ``allowed``."""
    listed = ", ".join(repr(a) for a in allowed)

    def check(_inst: Any, _attr: attrs.Attribute[Any], value: Any) -> None:
        if value is not None and value not in allowed:
            raise ValueError(f"must be one of {listed}, got {value!r}")

    if not allowed or not all(type(a) is str for a in allowed):
        return check
    literal = "{" + ", ".join(repr(a) for a in allowed) + "}"
    return _with_condition(check, f"{{v}} is None or {{v}} in {literal}")


def non_empty(_inst: Any, _attr: attrs.Attribute[Any], value: Any) -> None:
    """The string or sequence is not empty."""
    if value is not None and len(value) == 0:
        raise ValueError("must not be empty")


_with_condition(non_empty, "{v} is None or len({v}) != 0")


def max_items(limit: int) -> Validator:
    """The sequence (if not None) has at most ``limit`` items."""

    def check(_inst: Any, _attr: attrs.Attribute[Any], value: Any) -> None:
        if value is not None and len(value) > limit:
            raise ValueError(f"must have at most {limit} items, got {len(value)}")

    return _with_condition(check, f"{{v}} is None or len({{v}}) <= {int(limit)!r}")


def each(check_one: Callable[[Any], str | None]) -> Validator:
    """Every item passes ``check_one`` (which returns a message for a bad item)."""

    def check(_inst: Any, _attr: attrs.Attribute[Any], value: Any) -> None:
        if value is None:
            return
        bad = [(i, msg) for i, v in enumerate(value) if (msg := check_one(v))]
        if bad:
            raise ItemErrors(bad)

    return check


def statuses(low: int, high: int) -> Validator:
    """Every item of the sequence (if not None) is an HTTP status in ``low..high``."""

    def check_one(code: Any) -> str | None:
        ok = low <= code <= high
        return None if ok else f"must be an HTTP status {low}..{high}, got {code!r}"

    # Inline (items already checked as ints): the smallest and largest within the bounds.
    within = f"{int(low)!r} <= min({{v}}) and max({{v}}) <= {int(high)!r}"
    return _with_condition(each(check_one), f"{{v}} is None or not {{v}} or ({within})")


def unique(_inst: Any, _attr: attrs.Attribute[Any], value: Any) -> None:
    """No item of the sequence (if not None) repeats an earlier one."""
    if value is None:
        return
    first: dict[Any, int] = {}
    bad: list[tuple[int, str]] = []
    for i, item in enumerate(value):
        if item in first:
            bad.append((i, f"duplicate of [{first[item]}] ({item!r})"))
        else:
            first[item] = i
    if bad:
        raise ItemErrors(bad)


# Inline: as many distinct items as items (an unhashable item raises: the reference decides).
_with_condition(unique, "{v} is None or len(set({v})) == len({v})")

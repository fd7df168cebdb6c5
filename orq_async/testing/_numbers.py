"""Numbers read the way the gateway (a Node service) reads them: as JavaScript numbers.

JavaScript has one number type, so ``1.0`` *is* the integer 1: the official Python SDK sends
``n`` as ``"1.0"`` and ``"ttl": 3600.0``, and the gateway serves it. Decisions:

- A JSON number is an integer when its value is integral (``1``, ``1.0``, ``1e3``); ``1.5`` is
  not. ``true``/``false`` are not numbers (JSON has booleans).
- A text part is read like JavaScript's ``Number(text)`` restricted to decimal notation:
  surrounding whitespace is ignored (``" 2 "`` is 2, as ``Number(" 2 ")`` is), an optional sign,
  digits with an optional fraction and exponent (``"1.0"``, ``"2e0"``). An empty or blank text,
  hexadecimal (``"0x2"``), ``"Infinity"``, ``"NaN"`` and anything else are refused, because they
  are almost certainly mistakes, whatever ``Number()`` would make of them.
"""

from __future__ import annotations

import math
import re
from typing import Any

__all__ = ["integral", "number_from_text"]

_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def number_from_text(text: str) -> float | None:
    """Return the number a text part spells (see the module's rules), or None."""
    stripped = text.strip()
    if len(stripped) > 64 or not _DECIMAL.fullmatch(stripped):
        return None
    value = float(stripped)
    return value if math.isfinite(value) else None


def integral(value: Any) -> int | None:
    """Return a JSON value as an int when it is an integral number (``3.0`` is 3), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return None

"""Guards for what may reach the wire (headers, URLs) and for numeric settings.

Header names must be RFC 9110 tokens; header values, the key, filenames and part content types
must be text without CR, LF, NUL or lone surrogates (which have no UTF-8 form). Numeric settings
are checked where they are given (``OrqCore(...)``, ``RequestOptions(...)``, ``RetryConfig``):
only ``None`` means "no limit", never ``0``, a negative number, ``NaN`` or ``inf``.
"""

from __future__ import annotations

import ipaddress
import math
import re
from typing import Any

from yarl import URL

__all__ = [
    "check_count",
    "check_header_name",
    "check_milliseconds",
    "check_server_url",
    "is_loopback",
    "refuse_credentials",
    "text_problem",
]

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


def text_problem(value: object) -> str | None:
    """Why ``value`` cannot travel in a header or part head, or None if it can."""
    if not isinstance(value, str):
        return f"must be a str, got {type(value).__name__}"
    if "\r" in value or "\n" in value:
        return "contains CR or LF"
    if "\0" in value:
        return "contains NUL"
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "contains a lone surrogate (not valid Unicode text)"
    return None


def check_header_name(name: object) -> str | None:
    """Why ``name`` cannot be a header name, or None."""
    if not isinstance(name, str):
        return f"must be a str, got {type(name).__name__}"
    return None if _TOKEN.fullmatch(name) else "is not a valid header name"


def check_server_url(text: object) -> URL | str:
    """The parsed base URL, or why it cannot be used (no credentials are ever sent)."""
    if not isinstance(text, str):
        return f"server_url must be a str, got {type(text).__name__}"
    if text_problem(text) is not None:
        return "server_url must not contain CR, LF, NUL or lone surrogates"
    try:
        url = URL(text)
    except (TypeError, ValueError) as exc:
        return f"invalid server_url: {exc}"
    if url.user is not None or url.password is not None:
        return "server_url must not contain credentials (user:password@); use api_key"
    if url.scheme not in ("http", "https") or not url.host:
        return f"server_url must be an absolute http(s) URL, got {text!r}"
    return url


def refuse_credentials(name: str, text: object) -> None:
    """Raise ``ValueError`` (naming ``name``, never echoing the URL) if ``text`` holds a
    ``user:password@`` part: credentials in a URL would travel to wherever it points."""
    if not isinstance(text, str) or "@" not in text:
        return
    try:
        url = URL(text)
    except (TypeError, ValueError):
        return  # judged (and refused) when the call is planned
    if url.user is not None or url.password is not None:
        raise ValueError(f"{name} must not contain credentials (user:password@); use api_key")


def is_loopback(host: str | None) -> bool:
    """True for ``localhost`` and loopback addresses (``127.0.0.0/8``, ``::1``)."""
    if host is None:
        return False
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_milliseconds(name: str, value: Any) -> None:
    """A duration in ms: ``None`` (no limit) or a finite number > 0; raises naming ``name``."""
    if value is None:
        return
    if not _is_number(value):
        raise TypeError(f"{name} must be a number of milliseconds or None, got {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0 (None for no limit), got {value!r}")


def check_count(name: str, value: Any, *, minimum: int = 1, optional: bool = False) -> None:
    """An int >= ``minimum`` (or None when ``optional``); raises naming ``name``."""
    if value is None and optional:
        return
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")


def check_number(name: str, value: Any, *, minimum: float = 0.0) -> None:
    """A finite number >= ``minimum``; raises naming ``name``."""
    if not _is_number(value):
        raise TypeError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(value) or value < minimum:
        raise ValueError(f"{name} must be a finite number >= {minimum:g}, got {value!r}")

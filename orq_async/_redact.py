"""The one place that keeps the API key out of text, headers and exception chains.

A server (or a proxy) may echo the key back in any form: raw, JSON-escaped (``\\/``,
``\\uXXXX``), percent-encoded, upper- or lower-cased, broken by a line break, or base64-encoded
inside a larger token. :class:`Redactor` finds every one of those forms and replaces it with
``[REDACTED]``; it is built once per key and only used on paths that carry server text (errors,
logs), never on the success path.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from typing import Any, cast

__all__ = ["REDACTED", "Redactor", "redact_headers"]

REDACTED = "[REDACTED]"
_AUTH_REDACTED = "Bearer [REDACTED]"
# Between two characters of an echoed key: nothing, a line break, or a JSON-escaped one.
_BREAK = r"(?:\r?\n|\\r|\\n|%0[aAdD])*"
_MIN_FRAGMENT = 8  # base64 fragments shorter than this would match innocent text


def _char_forms(char: str) -> str:
    """A regex matching one character of the key as it may be echoed."""
    forms = [re.escape(char), rf"\\u{ord(char):04x}"]
    forms += ["".join(f"%{b:02x}" for b in char.encode("utf-8"))]
    if char == "/":
        forms.append(r"\\/")
    if char == " ":
        forms.append(r"\+")
    return "(?:" + "|".join(forms) + ")"


def _base64_fragments(secret: bytes) -> list[str]:
    """Base64 text that appears whenever ``secret`` is encoded inside a larger string.

    The encoding of a substring depends on its offset modulo 3, so take each of the three
    alignments and keep only the characters that depend on the secret's bytes alone.
    """
    fragments: list[str] = []
    for skip in range(3):
        tail = secret[skip:]
        whole = len(tail) // 3 * 3
        if whole == 0:
            continue
        encoded = base64.b64encode(tail[:whole]).decode("ascii")
        fragments += [encoded, encoded.replace("+", "-").replace("/", "_")]
    return [f for f in dict.fromkeys(fragments) if len(f) >= _MIN_FRAGMENT]


class Redactor:
    """Replaces every echoed form of one secret with ``[REDACTED]``."""

    __slots__ = ("_pattern", "_secret", "_shortest")

    def __init__(self, secret: str | None) -> None:
        self._secret = secret or None
        self._pattern: re.Pattern[str] | None = None
        self._shortest = 0  # no text shorter than this can hold a form of the secret
        if self._secret is not None:
            plain = _BREAK.join(_char_forms(c) for c in self._secret)
            fragments = _base64_fragments(self._secret.encode())
            self._pattern = re.compile("|".join([plain, *map(re.escape, fragments)]), re.I)
            self._shortest = min([len(self._secret), *map(len, fragments)])

    def text(self, text: str) -> str:
        """``text`` with every form of the secret replaced."""
        if self._pattern is None or len(text) < self._shortest:
            return text
        return self._pattern.sub(REDACTED, text)

    def found_in(self, text: str) -> bool:
        """Whether any form of the secret occurs in ``text``."""
        return (
            self._pattern is not None
            and len(text) >= self._shortest
            and self._pattern.search(text) is not None
        )

    def headers(self, headers: Mapping[str, str]) -> Mapping[str, str]:
        """``headers`` as they are, or a copy with every echoed form of the secret redacted."""
        if self._pattern is None or not any(self.found_in(v) for v in headers.values()):
            return headers
        from multidict import CIMultiDict, CIMultiDictProxy

        return CIMultiDictProxy(CIMultiDict((k, self.text(v)) for k, v in headers.items()))

    def body(self, body: bytes) -> bytes:
        """Raw bytes with the secret redacted; every other byte kept as it was."""
        if self._pattern is None or not body:
            return body
        text = body.decode("utf-8", "surrogateescape")
        redacted = self.text(text)
        return body if redacted == text else redacted.encode("utf-8", "surrogateescape")

    def value(self, value: Any) -> Any:
        """A parsed JSON value with the secret redacted from every string, keys included."""
        if self._pattern is None:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.value(v) for v in cast("list[object]", value)]
        if isinstance(value, dict):
            mapping = cast("dict[object, object]", value)
            return {
                self.text(k) if isinstance(k, str) else k: self.value(v) for k, v in mapping.items()
            }
        return value

    def exception(self, exc: BaseException) -> BaseException:
        """``exc`` fit to attach as a ``__cause__``: no traceback, and no trace of the secret.

        aiohttp's parser errors quote the raw bytes they choked on (which may echo the key):
        such an exception, or one whose chain mentions the key, is replaced by a plain
        :class:`SanitizedCause` naming the original type, with the text redacted.
        """
        chain: list[BaseException] = []
        seen: BaseException | None = exc
        while seen is not None and seen not in chain and len(chain) < 16:
            chain.append(seen)
            seen = seen.__cause__ or seen.__context__
        texts = [f"{type(e).__name__}: {e!s} {e.args!r}" for e in chain]
        if self._pattern is not None and any(self.found_in(t) for t in texts):
            return SanitizedCause(f"{type(exc).__name__}: {self.text(str(exc))}")
        return exc.with_traceback(None)


class SanitizedCause(Exception):
    """Stands in for a transport exception whose text echoed the API key (now redacted)."""


def redact_headers(headers: Mapping[str, str], shown: str = _AUTH_REDACTED) -> dict[str, str]:
    """A copy of request headers fit to show: ``Authorization`` as ``shown``."""
    return {k: (shown if k.lower() == "authorization" else v) for k, v in headers.items()}

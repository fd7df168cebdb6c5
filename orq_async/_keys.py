"""The API key of a core: a fixed key (checked once) or an async provider, and the redactor
that keeps each key out of everything an error carries."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from orq_async._guards import text_problem
from orq_async._redact import Redactor
from orq_async.errors import InvalidRequestError, OrqError, UnexpectedClientError

__all__ = ["ApiKey", "Keys"]

ApiKey = str | Callable[[], Awaitable[str]]
"""An API key, or an async callable returning the current one (for rotating keys)."""


class Keys:
    """Where a core's calls get their key and its redactor."""

    __slots__ = ("_checked", "_redactors", "source")

    def __init__(self, source: ApiKey | None) -> None:
        self.source = source
        self._checked: str | None = None
        self._redactors: dict[str | None, Redactor] = {}

    def current(self) -> str | OrqError | Awaitable[str | OrqError] | None:
        """The key for this call: at once for a fixed one (checked once), else an awaitable
        of the provider's; an error if it cannot travel in a header."""
        key = self.source
        if callable(key):
            return _provided(key)
        if key is not None and key is not self._checked:
            if text_problem(key) is not None:
                return _bad_key()
            self._checked = key
        return key

    def redactor(self, key: str | None) -> Redactor:
        """The redactor of ``key`` (a few cached: rotating keys keep the cache small)."""
        redactor = self._redactors.get(key)
        if redactor is None:
            if len(self._redactors) > 8:
                self._redactors.clear()
            redactor = self._redactors[key] = Redactor(key)
        return redactor


async def _provided(provider: Callable[[], Awaitable[str]]) -> str | OrqError:
    try:
        key = await provider()
    except Exception as exc:
        error = UnexpectedClientError(f"the api_key provider raised {type(exc).__name__}")
        error.__cause__ = exc
        return error
    return _bad_key() if text_problem(key) is not None else key


def _bad_key() -> InvalidRequestError:
    return InvalidRequestError("the API key must be a str without CR, LF, NUL or surrogates")

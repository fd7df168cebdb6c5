"""Result values: ``Ok(value)`` or ``Err(error)``, returned by every operation instead of raising.

Both carry a :class:`ResponseMeta` as ``.meta``: the HTTP status, response headers, request id
and the number of attempts made, so a caller can log or branch on them whatever the outcome.
``meta.status_code`` is ``None`` when no response was received (validation error, connection
failure, timeout).

    match await router_images_edits_create(core, body):
        case Ok(value):
            ...
        case Err(RateLimitError() as e):
            ...
        case Err(e):
            ...

Narrowing, in mypy and pyright alike: ``match`` (above), ``isinstance(res, Ok)`` /
``isinstance(res, Err)``, and the guards :func:`is_ok` / :func:`is_err` (``TypeIs``: both the
``if`` and the ``else`` branch narrow). ``if res.ok is True:`` narrows that branch in both.
``if res.ok:`` narrows in mypy only; pyright does not narrow on a property's truthiness.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Generic, Literal, NoReturn, TypeAlias, TypeVar

import attrs

from orq_async._slots import Setter, slot_setters

if TYPE_CHECKING:  # typing.TypeIs is new in 3.13; typing_extensions is not a runtime dependency
    from typing_extensions import TypeIs

__all__ = ["Err", "Ok", "ResponseMeta", "Result", "UnwrapError", "is_err", "is_ok"]

T = TypeVar("T", covariant=True)
E = TypeVar("E", bound=BaseException, covariant=True)
U = TypeVar("U")
_V = TypeVar("_V")
_X = TypeVar("_X", bound=BaseException)

_NO_HEADERS: Mapping[str, str] = {}


@attrs.frozen(kw_only=True)
class ResponseMeta:
    """What the transport saw for one call, available on both ``Ok`` and ``Err``.

    Attributes:
        status_code: HTTP status of the last response, or None if none arrived.
        headers: headers of the last response (case-insensitive when they came from aiohttp).
        request_id: the server's request id (``x-request-id`` or ``request-id``), if sent.
        attempts: HTTP attempts made, client retries included (0 when nothing was sent).
    """

    status_code: int | None = None
    headers: Mapping[str, str] = attrs.field(default=_NO_HEADERS, repr=False)
    request_id: str | None = None
    attempts: int = 0

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle and copy with the headers as a plain multidict (aiohttp's proxy does not
        pickle), so an ``Ok``/``Err`` can cross a process boundary."""
        headers = self.headers
        if not isinstance(headers, dict):
            from multidict import CIMultiDict

            headers = CIMultiDict(headers)
        return (_meta, (self.status_code, headers, self.request_id, self.attempts))


def _meta(
    status_code: int | None, headers: Mapping[str, str], request_id: str | None, attempts: int
) -> ResponseMeta:
    return ResponseMeta(
        status_code=status_code, headers=headers, request_id=request_id, attempts=attempts
    )


NO_META = ResponseMeta()


def _slot_setters(cls: type[Any]) -> tuple[Setter, ...]:
    """:func:`~orq_async._slots.slot_setters` of ``cls``, which must have them: a validator,
    converter or post-init added to it later fails at import, not silently."""
    setters = slot_setters(cls)
    if setters is None:
        raise TypeError(f"{cls.__name__} must be built through its __init__")
    return setters


def ok_with_meta(
    value: _V, status: int | None, headers: Mapping[str, str], request_id: str | None, attempts: int
) -> Ok[_V]:
    """``Ok(value, meta=ResponseMeta(...))`` for the core's hot path: both built slot by slot
    (neither class has a validator or converter), half the cost of their ``__init__``."""
    meta = _new(ResponseMeta)
    m_status, m_headers, m_request_id, m_attempts = _META_SET
    m_status(meta, status)
    m_headers(meta, headers)
    m_request_id(meta, request_id)
    m_attempts(meta, attempts)
    ok: Ok[_V] = _new(Ok)
    o_value, o_meta = _OK_SET
    o_value(ok, value)
    o_meta(ok, meta)
    return ok


class UnwrapError(Exception):
    """Raised by ``Ok.unwrap_err()``: there was no error to return."""


@attrs.frozen
class Ok(Generic[T]):
    """A successful outcome holding ``value``."""

    value: T
    meta: ResponseMeta = attrs.field(default=NO_META, kw_only=True, eq=False)

    @property
    def ok(self) -> Literal[True]:
        """Always True: this is a success."""
        return True

    def unwrap(self) -> T:
        """Return the value."""
        return self.value

    def unwrap_or(self, default: object) -> T:
        """Return the value (the default is ignored)."""
        return self.value

    def unwrap_err(self) -> NoReturn:
        """Raise :class:`UnwrapError`: a success has no error."""
        raise UnwrapError("called unwrap_err() on an Ok result")


_new: Callable[[type[Any]], Any] = object.__new__
_META_SET = _slot_setters(ResponseMeta)
_OK_SET = _slot_setters(Ok)


@attrs.frozen
class Err(Generic[E]):
    """A failed outcome holding ``error``, an exception that was returned, not raised."""

    error: E
    meta: ResponseMeta = attrs.field(default=NO_META, kw_only=True, eq=False)

    @property
    def ok(self) -> Literal[False]:
        """Always False: this is a failure."""
        return False

    def unwrap(self) -> NoReturn:
        """Raise the error."""
        raise self.error

    def unwrap_or(self, default: U) -> U:
        """Return ``default``."""
        return default

    def unwrap_err(self) -> E:
        """Return the error."""
        return self.error


Result: TypeAlias = Ok[T] | Err[E]
"""``Ok[T] | Err[E]``: narrow it with ``match``, ``isinstance``, :func:`is_ok` or :func:`is_err`."""


def is_ok(result: Ok[_V] | Err[_X]) -> TypeIs[Ok[_V]]:
    """True for ``Ok``; narrows to ``Ok`` (and ``Err`` in the else branch) in mypy and pyright."""
    return isinstance(result, Ok)


def is_err(result: Ok[_V] | Err[_X]) -> TypeIs[Err[_X]]:
    """True for ``Err``; narrows to ``Err`` (and ``Ok`` in the else branch) in mypy and pyright."""
    return isinstance(result, Err)

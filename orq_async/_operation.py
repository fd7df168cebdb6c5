"""What the core needs to know of an operation: its id, path, preparation and decoder."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from orq_async._multipart import EncodedBody
from orq_async.errors import OrqError, ResponseValidationError
from orq_async.options import RequestOptions

__all__ = ["Operation", "Prepared"]

T = TypeVar("T")

Prepared = EncodedBody | OrqError


class Operation(Generic[T]):
    """What the core needs to know of an operation: its id, path, preparation and decoder.

    ``prepare(body, options)`` validates and lays out a request body (``prepare_now`` is its
    synchronous shortcut for the common call, None when it cannot decide without I/O);
    ``decode(status, headers, body)`` turns a 2XX body into the value or a
    :class:`~orq_async.errors.ResponseValidationError`; each runs once per call.
    """

    __slots__ = ("decode", "operation_id", "path", "prepare", "prepare_now")

    def __init__(
        self,
        operation_id: str,
        path: str,
        decode: Callable[[int, Any, bytes], T | ResponseValidationError],
        prepare: Callable[[Any, RequestOptions | None], Awaitable[Prepared]],
        prepare_now: Callable[[Any, RequestOptions | None], Prepared | None],
    ) -> None:
        self.operation_id = operation_id
        self.path = path
        self.decode = decode
        self.prepare = prepare
        self.prepare_now = prepare_now

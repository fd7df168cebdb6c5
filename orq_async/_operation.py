"""What the core needs to know of an operation: its id, path, preparation and decoder."""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from orq_async._multipart import EncodedBody
from orq_async.errors import OrqError, ResponseValidationError
from orq_async.options import RequestOptions

__all__ = ["Operation", "Prepared"]

T = TypeVar("T")

Prepared = EncodedBody | OrqError


class Operation(Generic[T]):
    """What the core needs to know of an operation: its id, path, and where its steps live.

    The steps are the functions of the module named ``steps``, imported on first use (the
    first call), so that importing an operation does not import its models and encoders:
    ``prepare(body, options)`` validates and lays out a request body (``prepare_now`` is its
    synchronous shortcut for the common call, None when it cannot decide without I/O);
    ``decode(status, headers, body)`` turns a 2XX body into the value or a
    :class:`~orq_async.errors.ResponseValidationError`. Each runs once per call.
    """

    __slots__ = ("decode", "operation_id", "path", "prepare", "prepare_now", "steps")

    decode: Callable[[int, Any, bytes], T | ResponseValidationError]
    prepare: Callable[[Any, RequestOptions | None], Awaitable[Prepared]]
    prepare_now: Callable[[Any, RequestOptions | None], Prepared | None]

    def __init__(self, operation_id: str, path: str, steps: str) -> None:
        self.operation_id = operation_id
        self.path = path
        self.steps = steps

    def __getattr__(self, name: str) -> Any:
        """A step not loaded yet (an unset slot): import the steps' module, bind all three."""
        if name not in _STEPS:
            raise AttributeError(name)
        module = importlib.import_module(self.steps)
        for step in _STEPS:
            setattr(self, step, getattr(module, step))
        return getattr(self, name)


_STEPS = ("decode", "prepare", "prepare_now")

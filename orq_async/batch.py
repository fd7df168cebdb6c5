"""``edit_many``: many image edits through one core, yielding each result as it completes.

::

    from contextlib import aclosing
    from orq_async import OrqCore, edit_many

    async with OrqCore() as core:
        async with aclosing(edit_many(core, bodies, concurrency=16)) as results:
            async for index, result in results:
                ...  # index: the body's position in ``bodies``

Memory stays bounded: at most ``concurrency`` calls run at once, and a body is read from
``bodies`` only when a call can start for it, so a generator of a million bodies is fine.
Leaving the loop early (``break``, an exception, cancellation) cancels the calls in flight;
``contextlib.aclosing`` makes that happen at once rather than when the generator is collected.
Results pair with their index, not their order: a fast call overtakes a slow one. An async
generator given as ``bodies`` is closed when ``edit_many`` stops before its end.

Importing the operation does not import this module; ``from orq_async import edit_many`` loads
it on first use.
"""

from __future__ import annotations

import asyncio
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Iterable,
    Iterator,
    Mapping,
)
from typing import TYPE_CHECKING, TypeAlias, cast

from orq_async.core import OrqCore
from orq_async.errors import OrqError
from orq_async.funcs.router_images_edits_create import router_images_edits_create
from orq_async.models.request import CreateImageEditRequestBody
from orq_async.options import RequestOptions
from orq_async.result import Result

if TYPE_CHECKING:
    from orq_async.models.dicts import ImageEditBody as Body
    from orq_async.models.response import CreateImageEditResponseBody

__all__ = ["EditResult", "edit_many"]

EditResult: TypeAlias = "tuple[int, Result[CreateImageEditResponseBody, OrqError]]"
"""A body's index in the input and the Result of its call."""


def edit_many(
    core: OrqCore,
    bodies: Iterable[Body] | AsyncIterable[Body],
    *,
    concurrency: int = 8,
    options: RequestOptions | None = None,
) -> AsyncGenerator[EditResult, None]:
    """Edit every body in ``bodies``, at most ``concurrency`` at a time.

    Args:
        core: the shared :class:`~orq_async.OrqCore`.
        bodies: request bodies (an iterable or an async iterable), read lazily.
        concurrency: the most calls in flight at once (an int >= 1).
        options: per-call options applied to every call.

    Returns:
        An async generator of ``(index, Result)`` in completion order. Each call's failure is
        an ``Err`` in its own result; an exception raised by ``bodies`` itself, or a
        programmer error (a closed core), cancels the rest and propagates.

    Raises:
        TypeError: ``core`` is not an OrqCore, ``bodies`` is a single body or not iterable,
            or ``concurrency`` is not an int. ValueError: ``concurrency`` < 1.
    """
    if not isinstance(core, OrqCore):
        raise TypeError(f"core must be an OrqCore, got {type(core).__name__}")
    if isinstance(concurrency, bool) or not isinstance(concurrency, int):
        raise TypeError(f"concurrency must be an int >= 1, got {concurrency!r}")
    if concurrency < 1:
        raise ValueError(f"concurrency must be an int >= 1, got {concurrency!r}")
    if isinstance(bodies, (Mapping, CreateImageEditRequestBody, str, bytes)):
        raise TypeError(
            "bodies must be an iterable of request bodies,"
            f" got one {type(cast(object, bodies)).__name__}"
            " (wrap a single body in a list)"
        )
    if not isinstance(bodies, (Iterable, AsyncIterable)):
        raise TypeError(
            f"bodies must be an iterable or async iterable, got {type(bodies).__name__}"
        )
    return _edit_many(core, bodies, concurrency, options)


async def _edit_many(
    core: OrqCore,
    bodies: Iterable[Body] | AsyncIterable[Body],
    concurrency: int,
    options: RequestOptions | None,
) -> AsyncGenerator[EditResult, None]:
    async def one(index: int, body: Body) -> EditResult:
        return index, await router_images_edits_create(core, body, options)

    source: AsyncIterator[Body] | None = None
    items: Iterator[Body] = iter(())
    if isinstance(bodies, AsyncIterable):
        source = aiter(bodies)
    else:
        items = iter(bodies)
    pending: set[asyncio.Task[EditResult]] = set()
    index = 0
    exhausted = False
    try:
        while True:
            while not exhausted and len(pending) < concurrency:
                try:
                    body = next(items) if source is None else await anext(source)
                except (StopIteration, StopAsyncIteration):
                    exhausted = True
                else:
                    pending.add(asyncio.create_task(one(index, body)))
                    index += 1
            if not pending:
                return
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in sorted(done, key=_index_of):
                yield task.result()
    finally:
        for task in pending:
            task.cancel()
        if pending:  # wait until they are really gone: nothing outlives the generator
            await asyncio.wait(pending)
        if not exhausted and isinstance(source, AsyncGenerator):
            await source.aclose()  # an async generator of bodies, abandoned: close it now


def _index_of(task: asyncio.Task[EditResult]) -> int:
    """A finished task's index (an exception sorts first: it propagates anyway)."""
    if task.cancelled() or task.exception() is not None:
        return -1
    return task.result()[0]

"""Admission to the connection pool: first come, first served, before a body is prepared.

With more calls than pooled connections (a fan-out of thousands through a pool of 100),
aiohttp queues the surplus inside ``session.post``, each holding its prepared body, its
request object and every frame of the call; and a call starting just as a connection comes
back takes it ahead of the woken waiter, which goes back to sleep (wasted wake-ups, and the
oldest calls can starve). :class:`Admission` queues calls before they prepare anything: at
most ``size`` (the pool's limit) are past it at once, and a slot given back goes to the
oldest waiter. A wait is bounded by the call's timeout; the core closing ends it too. A call
gives its slot back while it sleeps before a retry (:class:`Hold`), then takes one again ahead
of the calls waiting to start: a backoff never keeps a connection idle.

One per event loop (its futures belong to one).

**GC pacing.** CPython's young collection runs when allocations of container objects minus
their frees pass a threshold (700), and a free while that count is at zero is not counted. A
queue moves an admitted call's allocations (its body, aiohttp's request: ~55 objects) into a
later loop step than the frees of the call that made room (~45), so most of those frees fall
on a count at zero and the collector runs as if nothing were ever freed: at 1024 calls through
a pool of 100, 42 young collections per 1000 calls and 13% of the CPU, against 1.4 and 1%
with the frees counted. So a handoff carries :data:`PACING` small objects, made in the
releasing call's step (its frees then count) and dropped in the admitted call's (they offset
its allocations): about 2 us per handoff, only when calls queue.
"""

from __future__ import annotations

import asyncio
import collections
import enum
import threading
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from orq_async.errors import APIConnectionError, APITimeoutError, OrqError

if TYPE_CHECKING:
    import aiohttp

__all__ = ["PACING", "Admission", "Hold", "Refused", "pool_size", "refusal_error", "runs_here"]

#: Objects a handoff carries from the releasing step to the admitted one (see the module
#: docstring): about what a finished call frees in its step (35-49 measured, aiohttp 3.14).
PACING = 40


def pool_size(session: aiohttp.ClientSession | None, limit: int | None) -> int:
    """The pool's total limit (0: none): the core's own, or the caller's session's."""
    if session is None:
        return limit or 0
    connector = session.connector
    return 0 if connector is None else connector.limit


def refusal_error(refused: Refused, timeout: float | None) -> OrqError:
    """The ``Err`` of a call not admitted (nothing was sent)."""
    if refused is Refused.TIMED_OUT:
        return APITimeoutError(
            f"no pooled connection became free within {timeout:g} s (the call's timeout; "
            "every connection was busy); nothing was sent"
        )
    return APIConnectionError("the core was closed while this call waited to be sent")


class Refused(enum.Enum):
    """Why a queued call was not admitted."""

    TIMED_OUT = "timed out"
    CLOSED = "closed"


def runs_here(loop: asyncio.AbstractEventLoop) -> bool:
    """Whether ``loop`` is this thread's running loop (asked from inside a coroutine).

    asyncio's own loops record the thread that runs them (``_thread_id``, None when stopped),
    and a thread runs one loop at a time: comparing it costs no system call, where
    ``asyncio.get_running_loop()`` makes one (``getpid``) on Python 3.10 and 3.11. Other loops
    (uvloop) are asked the usual way.
    """
    thread = getattr(loop, "_thread_id", _UNKNOWN)
    if thread is _UNKNOWN:
        return loop is asyncio.get_running_loop()
    return thread == threading.get_ident()


_UNKNOWN = object()


class Admission:
    """At most ``size`` calls admitted at once; the rest wait in arrival order.

    Timeouts share one timer, armed at the nearest deadline (a timer per waiting call would
    fill the loop's heap with a thousand handles, each cancelled on admission).
    """

    __slots__ = ("_pacing", "_timer", "_timer_at", "closed", "free", "loop", "size", "waiters")

    def __init__(self, size: int, loop: asyncio.AbstractEventLoop) -> None:
        self.size = size
        self.free = size
        self.loop = loop
        self.closed = False
        self.waiters: collections.deque[_Waiter] = collections.deque()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        # The pacing objects of handoffs whose waiter has not run yet (at most one per slot).
        self._pacing: collections.deque[tuple[_Pace, ...]] = collections.deque()

    def enter(self) -> bool:
        """Take a slot now if one is free (no await); else False: :meth:`wait`. (A slot is
        free only when nobody waits: :meth:`leave` hands it to a waiter first.)"""
        if self.free > 0:
            self.free -= 1
            return True
        return False

    async def wait(self, timeout: float | None) -> Refused | None:
        """Wait for a slot, at most ``timeout`` seconds (None: no limit).

        Returns:
            None once admitted (then :meth:`leave` gives the slot back), else why not.
        """
        if self.closed:
            return Refused.CLOSED
        waiter: asyncio.Future[Refused | None] = self.loop.create_future()
        deadline = None if timeout is None else self.loop.time() + timeout
        self.waiters.append((waiter, deadline))
        if deadline is not None and (self._timer_at is None or deadline < self._timer_at):
            self._arm(deadline)
        try:
            refused = await waiter
        except asyncio.CancelledError:
            self._abandon(waiter)
            raise
        return self._arrived(refused)

    def _arrived(self, refused: Refused | None) -> Refused | None:
        """A waiter runs again: if admitted, its step drops a handoff's pacing."""
        if refused is None and self._pacing:
            self._pacing.popleft()
        return refused

    def _abandon(self, waiter: asyncio.Future[Refused | None]) -> None:
        """The awaiter of a queued ``waiter`` was cancelled: if the slot had just been
        granted to it, pass the slot on."""
        if waiter.done() and not waiter.cancelled() and waiter.result() is None:
            self.leave()

    async def retake(self) -> bool:
        """Take a slot again after a pause, ahead of every waiting call; False once closed."""
        if self.enter():
            return True
        if self.closed:
            return False
        waiter: asyncio.Future[Refused | None] = self.loop.create_future()
        self.waiters.appendleft((waiter, None))
        try:
            refused = await waiter
        except asyncio.CancelledError:
            self._abandon(waiter)
            raise
        return self._arrived(refused) is None

    def leave(self) -> None:
        """Give a slot back: to the oldest waiter still waiting, else to the pool."""
        waiters = self.waiters
        while waiters:
            waiter, _ = waiters.popleft()
            if not waiter.done():
                if len(self._pacing) < self.size:
                    self._pacing.append(tuple(map(_new, _PACE_TYPES)))
                waiter.set_result(None)
                return
        self.free += 1
        if self.free == self.size:  # all slots back: nothing is left to pace
            self._pacing.clear()

    def close(self) -> None:
        """End every wait (the core closed); later waits end at once."""
        self.closed = True
        self._pacing.clear()
        if self._timer is not None:
            self._timer.cancel()
        while self.waiters:
            waiter, _ = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(Refused.CLOSED)

    @property
    def waiting(self) -> int:
        """Calls waiting for a slot."""
        return sum(1 for waiter, _ in self.waiters if not waiter.done())

    def _arm(self, at: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = at
        self._timer = self.loop.call_at(at, self._expire)

    def _expire(self) -> None:
        """Refuse every wait past its deadline (``leave`` skips them, done, in the queue);
        re-arm at the nearest deadline left."""
        self._timer = self._timer_at = None
        now = self.loop.time() + _EARLY
        nearest: float | None = None
        for waiter, deadline in self.waiters:
            if deadline is None or waiter.done():
                continue
            if deadline <= now:
                waiter.set_result(Refused.TIMED_OUT)
            elif nearest is None or deadline < nearest:
                nearest = deadline
        if nearest is not None:
            self._arm(nearest)


class Hold:
    """One admitted call's slot: :meth:`pause` is the sleep before a retry (the slot given back
    meanwhile), :meth:`release` ends the call (idempotent). ``since``: when the call started
    waiting for admission (``time.monotonic()``), None if it did not wait."""

    __slots__ = ("admission", "held", "since", "sleep")

    def __init__(
        self,
        admission: Admission,
        sleep: Callable[[float], Awaitable[None]],
        since: float | None,
    ) -> None:
        self.admission = admission
        self.sleep = sleep
        self.since = since
        self.held = True

    async def pause(self, seconds: float) -> None:
        """Sleep ``seconds`` without holding the slot, then take one again."""
        self.release()
        await self.sleep(seconds)
        self.held = await self.admission.retake()

    def release(self) -> None:
        """Give the slot back, if held."""
        if self.held:
            self.held = False
            self.admission.leave()


class _Pace:
    """A pacing object: one slot makes it a container the collector counts (no free list)."""

    __slots__ = ("_",)


_new = object.__new__
_PACE_TYPES = (_Pace,) * PACING
_Waiter = tuple["asyncio.Future[Refused | None]", "float | None"]
_EARLY = 0.001
"""The loop may run a timer up to its clock's resolution early: count that as on time."""

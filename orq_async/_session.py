"""The core's aiohttp session: one per running event loop, created lazily, closed with its loop.

A caller-owned session is used as given and never closed. An own session is created inside the
running loop on first use and registered with that loop's async-generator finaliser, so that
``asyncio.run`` closes it (and its pooled connections) when the loop ends; a core used across
several ``asyncio.run`` calls then gets a new session in each loop instead of leaking one.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import aiohttp

from orq_async.errors import InvalidRequestError

__all__ = ["LoopSession"]


class LoopSession:
    """Holds the session a core sends with (see the module docstring)."""

    __slots__ = ("_limit", "_limit_per_host", "_loop_end", "owned", "session")

    def __init__(
        self, session: aiohttp.ClientSession | None, limit: int | None, limit_per_host: int
    ) -> None:
        self.session = session
        self.owned = session is None
        self._limit = limit
        self._limit_per_host = limit_per_host
        self._loop_end: AsyncGenerator[None, None] | None = None

    def ready(
        self, running: asyncio.AbstractEventLoop | None = None
    ) -> aiohttp.ClientSession | None:
        """The session, if it is open and belongs to the running loop (no await needed).

        ``running``: the running loop when the caller already has it (asking costs a system
        call on Python 3.10 and 3.11: ``getpid``)."""
        session = self.session
        if session is None or session.closed:
            return None
        loop = getattr(session, "_loop", None)
        if loop is None or loop is (running or asyncio.get_running_loop()):
            return session
        return None

    async def get(self) -> aiohttp.ClientSession | InvalidRequestError:
        """The session for the running loop (created on first use, or after its loop ended).

        Raises:
            RuntimeError: the caller-owned session is closed.
        """
        session = self.ready()
        if session is not None:
            return session
        session = self.session
        if session is not None and not session.closed:  # open, but another loop's
            loop = session._loop  # pyright: ignore[reportPrivateUsage]  # (ready() read it too)
            if not (self.owned and loop.is_closed()):
                return InvalidRequestError(
                    "this OrqCore's session belongs to another, still running event loop; "
                    "use one OrqCore per event loop"
                )
        elif session is not None and not self.owned:
            raise RuntimeError("the aiohttp session given to OrqCore is closed")
        connector = aiohttp.TCPConnector(
            limit=self._limit or 0, limit_per_host=self._limit_per_host
        )
        self.session = aiohttp.ClientSession(connector=connector)
        self._loop_end = _close_at_loop_end(self.session)
        await self._loop_end.__anext__()  # registers with the loop's async-generator hooks
        return self.session

    async def aclose(self) -> None:
        """Close an own session (a caller-owned one is left open); idempotent."""
        loop_end, self._loop_end = self._loop_end, None
        if loop_end is not None:
            await loop_end.aclose()  # closes the session (see _close_at_loop_end)
        session, self.session = self.session, None
        if session is not None and self.owned and not session.closed:
            await session.close()


async def _close_at_loop_end(session: aiohttp.ClientSession) -> AsyncGenerator[None, None]:
    """Suspended for the session's life; closes it when the loop shuts down async generators
    (``asyncio.run`` finalises every live async generator before closing its loop)."""
    try:
        yield
    finally:
        if not session.closed:
            await session.close()

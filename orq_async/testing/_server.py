"""The :class:`Emulator`: a local aiohttp server that behaves like the orq.ai gateway."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Collection, Mapping
from types import TracebackType

from aiohttp import web

from ._admin import admin_token_for
from ._app import make_app
from ._faults import Fault, status_fault
from ._ratelimit import limiter
from ._state import EmulatorState
from ._traces import Trace

__all__ = ["Emulator", "serve", "serve_forever"]


class Emulator:
    """A real HTTP server honouring ``POST /v2/router/images/edits``, for tests and demos.

    ``async with Emulator() as emu:`` listens on 127.0.0.1 on a free port; point a client at
    ``emu.url``. An emulator starts once; after :meth:`close` it cannot be restarted.

    Args:
        api_keys: the accepted keys (``Authorization: Bearer <key>``); None accepts any or none.
        seed: the seed of the load balancer's random choices.
        prompts: the prompt store for ``orq.prompt``: id to prompt text.
        host: the interface to listen on (loopback by default).
        port: the port; 0 picks a free one.
        clock: monotonic seconds, used by the cache's expiry and the rate limit (inject one to
            expire or refill without sleeping).
        max_traces: how many traces to keep (the oldest go first), so a load test does not
            grow without bound.
        rate_limit: requests per second allowed per API key (a token bucket); over it, 429 with
            ``Retry-After`` (whole seconds, rounded up) and ``retry-after-ms``. None: no limit.
        burst: the bucket's size, the requests a key may send at once (default: ``rate_limit``
            rounded up, at least 1).
        keep_images: how many recent requests keep their input and output images in memory
            for the trace viewer (0: none).
        admin_token: the token the admin endpoints and the viewer require. None: no token on
            loopback; a random one (read it from :attr:`admin_token`) on any other host.
    """

    def __init__(
        self,
        *,
        api_keys: Collection[str] | None = None,
        seed: int | None = None,
        prompts: Mapping[str, str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], float] = time.monotonic,
        max_traces: int = 10_000,
        rate_limit: float | None = None,
        burst: int | None = None,
        keep_images: int = 20,
        admin_token: str | None = None,
    ) -> None:
        if max_traces < 1:
            raise ValueError(f"max_traces must be >= 1, got {max_traces}")
        self._state = EmulatorState(
            api_keys=api_keys,
            prompts=prompts or {},
            seed=seed,
            clock=clock,
            max_traces=max_traces,
            rate_limit=limiter(rate_limit, burst, clock),
            keep_images=keep_images,
            admin_token=admin_token_for(host, admin_token),
        )
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None
        self._url: str | None = None
        self._closed = False

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:54321`` (the server must be started)."""
        if self._url is None:
            raise RuntimeError("the emulator is not running: await start() first")
        return self._url

    @property
    def admin_token(self) -> str | None:
        """The token the admin endpoints and the viewer require (None: open, loopback only)."""
        return self._state.admin_token

    @property
    def viewer_url(self) -> str:
        """The trace viewer's URL, with the admin token when there is one."""
        token = self._state.admin_token
        return self.url + ("/" if token is None else f"/?token={token}")

    async def start(self) -> None:
        """Start listening; reads back the real port when ``port`` was 0."""
        if self._runner is not None or self._closed:
            raise RuntimeError("an emulator can be started only once")
        # A short shutdown grace: closing must not wait a minute for a slow model to answer.
        runner = web.AppRunner(
            make_app(self._state), access_log=None, handle_signals=False, shutdown_timeout=0.5
        )
        await runner.setup()
        self._runner = runner
        try:
            site = web.TCPSite(runner, self._host, self._port)
            await site.start()
        except BaseException:
            await self.close()
            raise
        host, port = runner.addresses[0][:2]
        shown = f"[{host}]" if ":" in host else host
        self._url = f"http://{shown}:{port}"

    async def close(self) -> None:
        """Stop listening and close open connections (idempotent)."""
        self._closed = True
        self._url = None
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> Emulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def traces(self) -> list[Trace]:
        """The finished requests to the operation, oldest first (a copy)."""
        return self._state.traces.list()

    def clear_traces(self) -> None:
        """Forget every trace."""
        self._state.traces.clear()

    @property
    def pending_faults(self) -> int:
        """How many requests the injected faults still apply to."""
        return len(self._state.faults)

    def inject(
        self,
        status: int = 503,
        *,
        times: int = 1,
        retry_after: str | None = None,
        retry_after_ms: int | None = None,
        body: bytes | str | None = None,
        content_type: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Answer the next ``times`` requests with ``status`` before any parsing.

        Args:
            status: the HTTP status (100..599).
            times: how many requests.
            retry_after: the ``Retry-After`` header (seconds or an HTTP date), if any.
            retry_after_ms: the ``retry-after-ms`` header, if any.
            body: the body; None sends a JSON error.
            content_type: the body's content type (default ``application/json``).
            headers: more response headers.
        """
        fault = status_fault(
            status,
            retry_after=retry_after,
            retry_after_ms=retry_after_ms,
            body=body,
            content_type=content_type,
            headers=headers,
        )
        self._state.faults.add(fault, times)

    def inject_disconnect(self, *, times: int = 1) -> None:
        """Close the connection of the next ``times`` requests without answering."""
        self._state.faults.add(Fault("disconnect"), times)

    def inject_delay(self, seconds: float, *, times: int = 1) -> None:
        """Wait ``seconds`` before handling each of the next ``times`` requests normally."""
        if seconds < 0:
            raise ValueError(f"seconds must be >= 0, got {seconds}")
        self._state.faults.add(Fault("delay", seconds=seconds), times)

    def inject_malformed(
        self,
        *,
        times: int = 1,
        body: bytes = b'{"created": ',
        content_type: str = "application/json",
    ) -> None:
        """Answer the next ``times`` requests with 200 and a malformed ``body``."""
        self._state.faults.add(Fault("malformed", body=body, content_type=content_type), times)

    def clear_faults(self) -> None:
        """Drop every pending injected fault."""
        self._state.faults.clear()


async def serve_forever(
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    on_ready: Callable[[str], None] | None = None,
    on_started: Callable[[Emulator], None] | None = None,
    api_keys: Collection[str] | None = None,
    seed: int | None = None,
    prompts: Mapping[str, str] | None = None,
    rate_limit: float | None = None,
    burst: int | None = None,
    admin_token: str | None = None,
    keep_images: int = 20,
) -> None:
    """Run an emulator until cancelled.

    This is what ``orq-async emulator serve`` runs. Once it listens, ``on_ready`` receives its
    URL (e.g. ``on_ready=print``) and ``on_started`` the running :class:`Emulator` (to print its
    ``admin_token`` or ``viewer_url``). The other arguments are :class:`Emulator`'s.
    """
    async with Emulator(
        api_keys=api_keys,
        seed=seed,
        prompts=prompts,
        host=host,
        port=port,
        rate_limit=rate_limit,
        burst=burst,
        admin_token=admin_token,
        keep_images=keep_images,
    ) as emulator:
        if on_ready is not None:
            on_ready(emulator.url)
        if on_started is not None:
            on_started(emulator)
        await asyncio.Event().wait()


def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    api_keys: Collection[str] | None = None,
    seed: int | None = None,
    prompts: Mapping[str, str] | None = None,
) -> None:
    """Run an emulator in the foreground until Ctrl-C, printing its URL."""
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(
            serve_forever(host, port, on_ready=print, api_keys=api_keys, seed=seed, prompts=prompts)
        )

"""``OrqCore``: configuration, the aiohttp session's lifecycle and the one request pipeline.

The pipeline of :meth:`OrqCore.call` (:meth:`OrqCore.send` from the second step on)::

    admit to the connection pool               orq_async._admission, FIFO, before preparing
    prepare(body, options)                     the operation's: validate, inspect, lay out
    plan = resolve(settings, options)          pure, cached for the default options
    gate (cooldown, adaptive slot)             orq_async.throttle
    retries( send_once  →  classify )          I/O only, then pure
    decode once                                the operation's decoder
    hooks, logging                             → Result
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import warnings
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

import aiohttp

from orq_async import __version__
from orq_async._admission import Admission, Hold, pool_size, refusal_error, runs_here
from orq_async._guards import check_count, check_milliseconds, refuse_credentials
from orq_async._keys import ApiKey, Keys
from orq_async._logging import debug_logger_from_env, log_result
from orq_async._operation import Operation, Prepared
from orq_async._pipeline import Attempts, decode_result, first_deadline, retry
from orq_async._plan import (
    DEFAULT_MAX_RESPONSE_BYTES,
    CallPlan,
    Settings,
    resolve,
    reusable,
)
from orq_async._session import LoopSession
from orq_async.errors import InvalidRequestError, OrqError
from orq_async.hooks import HookContext, Hooks, run_after
from orq_async.options import RequestOptions
from orq_async.result import NO_META, Err, Result
from orq_async.retries import SAFE_DEFAULT, RetryConfig

if TYPE_CHECKING:
    from orq_async.throttle import Throttle

__all__ = ["DEFAULT_SERVER_URL", "ApiKey", "InsecureTransportWarning", "OrqCore", "Operation"]

DEFAULT_SERVER_URL = "https://my.orq.ai"

T = TypeVar("T")


class InsecureTransportWarning(UserWarning):
    """The API key is about to travel over plain HTTP to a host that is not loopback."""


class OrqCore:
    """Holds configuration and one aiohttp session; share one instance across tasks.

    Args:
        api_key: the key, or an async callable returning it; default ``ORQ_API_KEY``. With no
            key, no ``Authorization`` header is sent (fine for the local emulator).
        server_url: base URL, default ``https://my.orq.ai`` (no ``user:password@``).
        timeout_ms: per-attempt timeout in milliseconds (default 600 000), upload included;
            ``None`` for none. Clipped to what is left of the retry budget. A call that waits
            for a pooled connection (more calls than the pool's limit) counts the wait in its
            first attempt: past it, ``Err(APITimeoutError)`` with nothing sent.
        read_timeout_ms: the longest silence allowed while waiting for the response, counted
            from when the body has been sent (aiohttp's ``sock_read``); None (default) for
            none. Unlike ``timeout_ms`` it never cuts a slow but progressing upload.
        retry_config: client retries; default :data:`~orq_async.retries.SAFE_DEFAULT`
            (429 only: the operation is a paid, non-idempotent POST).
        user_agent: the ``User-Agent`` header.
        session: a caller-owned ``aiohttp.ClientSession``, used as given and never closed.
        limit: the connection pool's total limit (own session only); ``None`` for none.
            Calls beyond it (a caller-owned session's own limit likewise) wait their turn
            first come, first served, before their body is prepared.
        limit_per_host: the pool's per-host limit, 0 for none (own session only).
        sleep: how retry waits (and the default throttle's cooldown waits) sleep; inject a
            fake in tests.
        hooks: :class:`~orq_async.hooks.Hooks` to run in the pipeline (also ``core.hooks``).
        debug_logger: where to log the pipeline at DEBUG; default the ``orq_async`` logger,
            which ``ORQ_DEBUG=1`` switches on (to stderr). The key is never logged.
        max_response_bytes: the most response bytes read, after decompression (default
            64 MiB: ten large images as base64 fit well under it); ``None`` for no cap.
        throttle: the gate every attempt passes (also ``core.throttle``, whose ``state`` is
            there for metrics). Default ``Throttle()``: a 429/503 with ``Retry-After`` pauses
            every call of this core until then (released at a paced rate, not all at once);
            ``Throttle(cooldown=False)`` turns that off, ``Throttle(adaptive=True)`` adds an
            adaptive limit on calls in flight. See :mod:`orq_async.throttle`.

    Raises:
        TypeError, ValueError: a setting of the wrong type or out of range (``timeout_ms=0``,
            ``NaN``, ``inf``, a negative ``limit``...), named in the message.

    The session is created lazily inside the running loop, and closed for you when that loop
    ends (``asyncio.run`` returns): the same core then works in the next loop with a new
    session. After :meth:`aclose`, calls raise ``RuntimeError``: using a closed core is a
    programmer error.
    """

    def __init__(
        self,
        api_key: ApiKey | None = None,
        *,
        server_url: str = DEFAULT_SERVER_URL,
        timeout_ms: float | None = 600_000,
        read_timeout_ms: float | None = None,
        retry_config: RetryConfig = SAFE_DEFAULT,
        user_agent: str = f"orq-async/{__version__}",
        session: aiohttp.ClientSession | None = None,
        limit: int | None = 100,
        limit_per_host: int = 0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        hooks: Hooks | None = None,
        debug_logger: logging.Logger | None = None,
        max_response_bytes: int | None = DEFAULT_MAX_RESPONSE_BYTES,
        throttle: Throttle | None = None,
    ) -> None:
        check_milliseconds("timeout_ms", timeout_ms)
        check_milliseconds("read_timeout_ms", read_timeout_ms)
        check_count("limit", limit, optional=True)
        check_count("limit_per_host", limit_per_host, minimum=0)
        check_count("max_response_bytes", max_response_bytes, optional=True)
        if not isinstance(retry_config, RetryConfig):
            raise TypeError(f"retry_config must be a RetryConfig, got {retry_config!r}")
        from orq_async.throttle import Throttle  # on first use: a cheap operation import

        if throttle is not None and not isinstance(throttle, Throttle):
            raise TypeError(f"throttle must be a Throttle, got {throttle!r}")
        if not isinstance(server_url, str):
            raise TypeError(f"server_url must be a str, got {type(server_url).__name__}")
        refuse_credentials("server_url", server_url)
        self._keys = Keys(api_key or os.environ.get("ORQ_API_KEY") or None)
        self._settings = Settings(
            server_url=server_url,
            timeout_ms=timeout_ms,
            read_timeout_ms=read_timeout_ms,
            retry=retry_config,
            user_agent=user_agent,
            max_response_bytes=max_response_bytes,
        )
        self._sessions = LoopSession(session, limit, limit_per_host)
        self._pool_size = pool_size(session, limit)
        self._admission: Admission | None = None
        self._sleep = sleep
        self._closed = False
        self._plans: dict[str, CallPlan | InvalidRequestError] = {}
        self._other_gates: dict[str, Throttle] = {}
        self.hooks = hooks if hooks is not None else Hooks()
        self.throttle = throttle or Throttle(max_limit=limit or 100, sleep=sleep)
        self._logger = debug_logger or debug_logger_from_env()

    server_url = property(lambda self: self._settings.server_url, doc="The base URL.")
    timeout_ms = property(lambda self: self._settings.timeout_ms, doc="Per-attempt timeout.")
    read_timeout_ms = property(lambda self: self._settings.read_timeout_ms, doc="Read timeout.")
    retry_config = property(lambda self: self._settings.retry, doc="Client retries.")
    user_agent = property(lambda self: self._settings.user_agent, doc="The User-Agent.")
    max_response_bytes = property(
        lambda self: self._settings.max_response_bytes, doc="The response size cap."
    )

    @property
    def throttle(self) -> Throttle:
        """The gate every attempt passes; its ``state`` is there for metrics."""
        return self._throttle

    @throttle.setter
    def throttle(self, throttle: Throttle) -> None:
        self._throttle = throttle
        self._adaptive = throttle.adaptive  # asked once, not per call

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<OrqCore {self.server_url} {state}>"

    @property
    def closed(self) -> bool:
        """Whether :meth:`aclose` was called."""
        return self._closed

    async def __aenter__(self) -> OrqCore:
        self._ensure_open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the session if the core created it; idempotent.

        Calls still in flight end as ``Err(APIConnectionError)`` ("the core was closed").
        """
        self._closed = True
        if self._admission is not None:
            self._admission.close()
        await self._sessions.aclose()

    def _ensure_open(self) -> None:
        if self._closed:
            raise RuntimeError("this OrqCore is closed; create a new one")

    @property
    def _session(self) -> aiohttp.ClientSession | None:
        return self._sessions.session

    def _plan(self, path: str, options: RequestOptions | None) -> CallPlan | InvalidRequestError:
        if not reusable(options):
            return resolve(self._settings, options, path)
        plan = self._plans.get(path)
        if plan is None:
            plan = self._plans[path] = resolve(self._settings, None, path)
        return plan

    def _gate(self, plan: CallPlan) -> Throttle:
        """The cooldown of the call's server: the core's own, or one per other server."""
        if plan.base_url == self._settings.server_url:
            return self._throttle
        origin = str(plan.url.origin())
        gate = self._other_gates.get(origin)
        if gate is None:
            if len(self._other_gates) > 64:  # many per-call servers: keep memory bounded
                self._other_gates.clear()
            gate = self._other_gates[origin] = self._throttle.for_other_server()
        return gate

    async def call(
        self, operation: Operation[T], body: Any, options: RequestOptions | None = None
    ) -> Result[T, OrqError]:
        """The whole pipeline for a request body: wait for a pooled connection to be free
        (first come, first served, at most the call's timeout), prepare, then :meth:`send`.

        Raises:
            RuntimeError: the core (or its caller-owned session) is closed.
        """
        if self._closed:
            self._ensure_open()
        admission = self._admission
        if admission is None or not runs_here(admission.loop):
            admission = self._new_admission()
        hold = None
        if admission is not None:
            since = None
            if not admission.enter():
                since = time.monotonic()
                plan = self._plan(operation.path, options)
                total = None if isinstance(plan, InvalidRequestError) else plan.total_s
                refused = await admission.wait(total)
                if refused is not None:
                    error = refusal_error(refused, total)
                    return await self._finish(operation, options, None, Err(error, meta=NO_META))
            hold = Hold(admission, self._sleep, since)
        try:
            prepared = operation.prepare_now(body, options) or await operation.prepare(
                body, options
            )
            return await self.send(operation, prepared, options, hold)
        finally:
            if hold is not None:
                hold.release()

    def _new_admission(self) -> Admission | None:
        """This loop's admission queue (a new one in a new loop), None for an unlimited pool."""
        if not self._pool_size:
            return None
        self._admission = Admission(self._pool_size, asyncio.get_running_loop())
        return self._admission

    async def send(
        self,
        operation: Operation[T],
        prepared: Prepared,
        options: RequestOptions | None = None,
        hold: Hold | None = None,
    ) -> Result[T, OrqError]:
        """Run the pipeline for a prepared call (or finish an input error); return the Result.

        Args:
            operation: the operation's id, path and decoder.
            prepared: the encoded body, or the input error found while preparing it.
            options: the call's options.
            hold: the call's admission slot (:meth:`call`'s): a wait for it counts in the first
                attempt's timeout, and it is given back while sleeping before a retry.

        Raises:
            RuntimeError: the core (or its caller-owned session) is closed.
        """
        if self._closed:
            self._ensure_open()
        if isinstance(prepared, OrqError):
            return await self._finish(operation, options, None, Err(prepared, meta=NO_META))
        running = None if hold is None else hold.admission.loop  # checked by call()
        session = self._sessions.ready(running) or await self._sessions.get()
        if isinstance(session, OrqError):
            return await self._finish(operation, options, None, Err(session, meta=NO_META))
        plan = self._plan(operation.path, options)
        if isinstance(plan, InvalidRequestError):
            return await self._finish(operation, options, None, Err(plan, meta=NO_META))
        key = self._keys.current()
        if not (key is None or isinstance(key, (str, OrqError))):
            key = await key
        if isinstance(key, OrqError):
            return await self._finish(operation, options, plan, Err(key, meta=NO_META))
        headers = plan.with_key(key)
        if key is not None and plan.insecure:
            warnings.warn(
                f"sending the API key over plain HTTP to {plan.url.host}",
                InsecureTransportWarning,
                stacklevel=4,  # send <- call <- the operation <- its caller
            )
        redactor = self._keys.redactor(key)
        log = self._logger if self._logger.isEnabledFor(logging.DEBUG) else None
        attempt = Attempts(
            operation.operation_id,
            options or _NONE,
            plan,
            session,
            headers,
            prepared,
            redactor,
            self.hooks.before_request,
            self._gate(plan),
            log,
        )
        limiter = self._throttle if self._adaptive else None
        if limiter is not None:
            await limiter.acquire()
        try:  # the first attempt, then the retries the policy allows
            since = None if hold is None else hold.since
            first, budget, started = first_deadline(plan, prepared.replayable, since)
            last = await attempt.make(1, first)
            if budget is not None and last.should_retry(
                plan.codes, plan.retry.retry_connection_errors
            ):
                sleep = self._sleep if hold is None else hold.pause
                last = await retry(attempt, last, started, budget, sleep)
        finally:
            if limiter is not None:
                limiter.release()
        result = decode_result(operation.decode, last, attempt.made, redactor)
        if log is None and not (self.hooks.after_success or self.hooks.after_error):
            return result
        return await self._finish(operation, options, plan, result)

    async def _finish(
        self,
        operation: Operation[T],
        options: RequestOptions | None,
        plan: CallPlan | None,
        result: Result[T, OrqError],
    ) -> Result[T, OrqError]:
        """Run the after-hooks and log how the call ended, whatever the outcome."""
        if self.hooks.after_success or self.hooks.after_error:
            base = plan.base_url if plan is not None else self._base_url(options)
            ctx = HookContext(operation.operation_id, base, result.meta.attempts, options or _NONE)
            result = await run_after(self.hooks, ctx, result)
        if self._logger.isEnabledFor(logging.DEBUG):
            log_result(self._logger, operation.operation_id, result)
        return result

    def _base_url(self, options: RequestOptions | None) -> str:
        url = None if options is None else options.server_url
        return url if isinstance(url, str) else self._settings.server_url


_NONE = RequestOptions()

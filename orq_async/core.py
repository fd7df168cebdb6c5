"""``OrqCore``: configuration, the aiohttp session's lifecycle and the one request pipeline."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import warnings
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any

import aiohttp
from yarl import URL

from orq_async import __version__
from orq_async._http import Attempt, Decoder, send_once
from orq_async._logging import debug_logger_from_env, log_result, log_send, retry_logger
from orq_async._multipart import EncodedBody
from orq_async.errors import InvalidRequestError, OrqError, UnexpectedClientError
from orq_async.hooks import HookContext, Hooks, run_after, run_before_request
from orq_async.options import UNSET, RequestOptions
from orq_async.result import Err, Result
from orq_async.retries import SAFE_DEFAULT, RetryConfig, retry_codes_matcher, run_with_retries

__all__ = ["DEFAULT_SERVER_URL", "ApiKey", "InsecureTransportWarning", "OrqCore"]

DEFAULT_SERVER_URL = "https://my.orq.ai"
ApiKey = str | Callable[[], Awaitable[str]]
"""An API key, or an async callable returning the current one (for rotating keys)."""


class InsecureTransportWarning(UserWarning):
    """The API key is about to travel over plain HTTP to a host that is not loopback."""


def _has_crlf(value: object) -> bool:
    """True for a non-str too: either way the value cannot be a header value."""
    return not isinstance(value, str) or "\r" in value or "\n" in value or "\0" in value


def _unsafe_header(headers: Mapping[str, object], where: str) -> InvalidRequestError | None:
    """The error for the first header whose name or value cannot be sent, if any."""
    for name, value in headers.items():
        if _has_crlf(name) or _has_crlf(value):
            return InvalidRequestError(f"header {name!r}{where} must be a str without CR/LF")
    return None


def _is_loopback(host: str | None) -> bool:
    if host in (None, "localhost"):
        return True
    try:
        return ipaddress.ip_address(str(host).strip("[]")).is_loopback
    except ValueError:
        return False


class OrqCore:
    """Holds configuration and one aiohttp session; share one instance across tasks.

    Args:
        api_key: the key, or an async callable returning it; default ``ORQ_API_KEY``. With no
            key, no ``Authorization`` header is sent (fine for the local emulator).
        server_url: base URL, default ``https://my.orq.ai``.
        timeout_ms: per-attempt timeout in milliseconds (default 600 000), upload included;
            None for none.
        read_timeout_ms: the longest silence allowed while waiting for the response, counted
            from when the body has been sent (aiohttp's ``sock_read``); None (default) for
            none. Unlike ``timeout_ms`` it never cuts a slow but progressing upload.
        retry_config: client retries; default :data:`~orq_async.retries.SAFE_DEFAULT`
            (429 only: the operation is a paid, non-idempotent POST).
        user_agent: the ``User-Agent`` header.
        session: a caller-owned ``aiohttp.ClientSession``, used as given and never closed.
        limit: the connection pool's total limit (own session only).
        limit_per_host: the pool's per-host limit, 0 for none (own session only).
        sleep: how retry waits sleep; inject a fake in tests.
        hooks: :class:`~orq_async.hooks.Hooks` to run in the pipeline (also ``core.hooks``).
        debug_logger: where to log the pipeline at DEBUG; default the ``orq_async`` logger,
            which ``ORQ_DEBUG=1`` switches on (to stderr). The key is never logged.

    The session is created lazily inside the running loop. After :meth:`aclose`, calls raise
    ``RuntimeError``: using a closed core is a programmer error.
    """

    def __init__(
        self,
        api_key: ApiKey | None = None,
        *,
        server_url: str = DEFAULT_SERVER_URL,
        timeout_ms: int | None = 600_000,
        read_timeout_ms: int | None = None,
        retry_config: RetryConfig = SAFE_DEFAULT,
        user_agent: str = f"orq-async/{__version__}",
        session: aiohttp.ClientSession | None = None,
        limit: int = 100,
        limit_per_host: int = 0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        hooks: Hooks | None = None,
        debug_logger: logging.Logger | None = None,
    ) -> None:
        self._api_key: ApiKey | None = api_key or os.environ.get("ORQ_API_KEY") or None
        self.server_url = server_url
        self.timeout_ms = timeout_ms
        self.read_timeout_ms = read_timeout_ms
        self.retry_config = retry_config
        self.user_agent = user_agent
        self._session = session
        self._owns_session = session is None
        self._limit = limit
        self._limit_per_host = limit_per_host
        self._sleep = sleep
        self._closed = False
        self._base_headers = {"Accept": "application/json", "User-Agent": user_agent}
        self._urls: dict[tuple[str, str], URL] = {}
        self._timeouts: dict[tuple[int | None, int | None], aiohttp.ClientTimeout] = {}
        self._codes = retry_codes_matcher(retry_config.retry_codes)
        self.hooks = hooks if hooks is not None else Hooks()
        self._logger = debug_logger or debug_logger_from_env()

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
        """Close the session if the core created it; idempotent."""
        self._closed = True
        session, self._session = self._session, None
        if session is not None and self._owns_session:
            await session.close()

    def _ensure_open(self) -> None:
        if self._closed:
            raise RuntimeError("this OrqCore is closed; create a new one")

    def _get_session(self) -> aiohttp.ClientSession:
        self._ensure_open()
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=self._limit, limit_per_host=self._limit_per_host)
            self._session = aiohttp.ClientSession(connector=connector)
        elif self._session.closed:
            raise RuntimeError("the aiohttp session given to OrqCore is closed")
        return self._session

    def _url(self, base: str, path: str) -> URL | InvalidRequestError:
        key = (base, path)
        url = self._urls.get(key)
        if url is None:
            try:
                parsed = URL(base)
            except (TypeError, ValueError) as exc:
                return InvalidRequestError(f"invalid server_url {base!r}: {exc}")
            if parsed.scheme not in ("http", "https") or not parsed.host:
                return InvalidRequestError(f"server_url must be an absolute http(s) URL: {base!r}")
            url = parsed.with_path(parsed.path.rstrip("/") + path)
            self._urls[key] = url
        return url

    def _timeout(self, opts: RequestOptions) -> aiohttp.ClientTimeout:
        total_ms = self.timeout_ms if opts.timeout_ms is UNSET else opts.timeout_ms
        read_ms = self.read_timeout_ms if opts.read_timeout_ms is UNSET else opts.read_timeout_ms
        timeout = self._timeouts.get((total_ms, read_ms))
        if timeout is None:
            timeout = aiohttp.ClientTimeout(
                total=None if total_ms is None else total_ms / 1000,
                sock_read=None if read_ms is None else read_ms / 1000,
            )
            self._timeouts[total_ms, read_ms] = timeout
        return timeout

    async def _headers(self, extra: Mapping[str, str]) -> dict[str, str] | OrqError:
        unsafe = _unsafe_header(extra, "")
        if unsafe is not None:
            return unsafe
        if any(name.lower() == "authorization" for name in extra):
            return InvalidRequestError("set the API key with api_key, not a header")
        headers = {**self._base_headers, **extra}
        if _has_crlf(self.user_agent):
            return InvalidRequestError("user_agent contains CR or LF")
        key = self._api_key
        if callable(key):
            try:
                key = await key()
            except Exception as exc:
                error = UnexpectedClientError(f"the api_key provider raised {type(exc).__name__}")
                error.__cause__ = exc
                return error
        if key is not None:
            if _has_crlf(key):
                return InvalidRequestError("the API key must be a str without CR, LF or NUL")
            headers["Authorization"] = f"Bearer {key}"
        return headers

    async def request(
        self,
        operation_id: str,
        path: str,
        body: EncodedBody,
        decode: Decoder,
        options: RequestOptions | None = None,
    ) -> Result[Any, OrqError]:
        """Send ``body`` to ``path`` with auth, hooks, timeout and retries; return the Result.

        Raises:
            RuntimeError: the core (or its caller-owned session) is closed.
        """
        session = self._get_session()
        opts = options or _NO_OPTIONS
        base = self.server_url if opts.server_url is UNSET else opts.server_url
        log = self._logger if self._logger.isEnabledFor(logging.DEBUG) else None
        url = self._url(base, path)
        if isinstance(url, InvalidRequestError):
            return await self.fail(operation_id, url, opts, base_url=base)
        headers = await self._headers({} if opts.headers is UNSET else opts.headers)
        if isinstance(headers, OrqError):
            return await self.fail(operation_id, headers, opts, base_url=base)
        if url.scheme == "http" and "Authorization" in headers and not _is_loopback(url.host):
            warnings.warn(
                f"sending the API key over plain HTTP to {url.host}",
                InsecureTransportWarning,
                stacklevel=3,
            )
        secret = headers.get("Authorization", "")[7:] or None
        timeout = self._timeout(opts)
        config = self.retry_config if opts.retries is UNSET else opts.retries
        codes = self._codes
        if opts.retry_codes is not UNSET:
            codes = retry_codes_matcher(opts.retry_codes)
        elif config is not self.retry_config:
            codes = retry_codes_matcher(config.retry_codes)
        hooks = self.hooks.before_request
        attempts = 0

        async def attempt(number: int) -> Attempt:
            nonlocal attempts
            attempts = number
            sent = headers
            if hooks:
                ctx = HookContext(operation_id, base, number, opts)
                changed = await run_before_request(hooks, ctx, headers)
                if isinstance(changed, OrqError):
                    return Attempt(changed)
                unsafe = _unsafe_header(changed, " set by a hook")
                if unsafe is not None:
                    return Attempt(unsafe)
                sent = changed
            if log is not None:
                log_send(log, url, number, body, sent)
            return await send_once(
                session,
                url,
                sent,
                body,
                timeout,
                decode,
                secret=secret,
                attempt=number,
                log=log,
                progress=opts.upload_progress,
            )

        last = await run_with_retries(
            attempt,
            config,
            codes,
            replayable=body.replayable,
            sleep=self._sleep,
            before_sleep=None if log is None else retry_logger(log),
        )
        result = last.to_result(attempts)
        if self.hooks.after_success or self.hooks.after_error:
            result = await run_after(
                self.hooks, HookContext(operation_id, base, attempts, opts), result
            )
        if log is not None:
            log_result(log, operation_id, result)
        return result

    async def fail(
        self,
        operation_id: str,
        error: OrqError,
        options: RequestOptions | None = None,
        *,
        base_url: str | None = None,
    ) -> Result[Any, OrqError]:
        """Return ``Err(error)`` for a call that sent nothing, after the ``after_error`` hooks."""
        result: Result[Any, OrqError] = Err(error)
        opts = options or _NO_OPTIONS
        if self.hooks.after_error:
            base = base_url or (self.server_url if opts.server_url is UNSET else opts.server_url)
            result = await run_after(self.hooks, HookContext(operation_id, base, 0, opts), result)
        if self._logger.isEnabledFor(logging.DEBUG):
            log_result(self._logger, operation_id, result)
        return result


_NO_OPTIONS = RequestOptions()

"""Resolve once: the core's settings plus a call's options → one frozen call plan. Pure.

Every ``UNSET`` option is resolved here and nowhere else; the core then runs the plan
(gate → retries(send once) → classify → decode once → hooks) without looking at options again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import aiohttp
from yarl import URL

from orq_async._guards import check_header_name, check_server_url, is_loopback, text_problem
from orq_async._http import ACCEPT_ENCODING
from orq_async.errors import InvalidRequestError
from orq_async.options import UNSET, RequestOptions
from orq_async.retries import RetryConfig, retry_budget, retry_codes_matcher

if TYPE_CHECKING:
    from orq_async._multipart import Progress

__all__ = ["DEFAULT_MAX_RESPONSE_BYTES", "CallPlan", "Settings", "header_problem", "resolve"]

#: 64 MiB: ten large (4096x4096) PNG results as base64 JSON stay well under it.
DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024


class Settings:
    """The core's validated settings, as one immutable value (private)."""

    __slots__ = (
        "codes",
        "max_response_bytes",
        "read_timeout_ms",
        "retry",
        "server_url",
        "timeout_ms",
        "user_agent",
    )

    def __init__(
        self,
        *,
        server_url: str,
        timeout_ms: float | None,
        read_timeout_ms: float | None,
        retry: RetryConfig,
        user_agent: str,
        max_response_bytes: int | None,
    ) -> None:
        self.server_url = server_url
        self.timeout_ms = timeout_ms
        self.read_timeout_ms = read_timeout_ms
        self.retry = retry
        self.codes = retry_codes_matcher(retry.retry_codes)
        self.user_agent = user_agent
        self.max_response_bytes = max_response_bytes


class CallPlan:
    """Everything one call needs, resolved: URL, headers (without the key), limits, policy."""

    __slots__ = (
        "authed",
        "base_url",
        "budget_s",
        "codes",
        "headers",
        "insecure",
        "max_bytes",
        "progress",
        "retry",
        "timeout",
        "total_s",
        "url",
    )

    def __init__(
        self,
        *,
        base_url: str,
        url: URL,
        headers: dict[str, str],
        timeout: aiohttp.ClientTimeout,
        retry: RetryConfig,
        codes: Callable[[int], bool],
        max_bytes: int | None,
        progress: Progress | None,
    ) -> None:
        self.base_url = base_url
        self.url = url
        self.headers = headers
        self.timeout = timeout
        self.total_s = timeout.total
        self.retry = retry
        #: the policy's retry budget (seconds), None when it allows one attempt only
        self.budget_s = retry_budget(retry)
        self.codes = codes
        self.max_bytes = max_bytes
        self.progress = progress
        self.authed: tuple[str, dict[str, str]] | None = None  # (key, headers) cache
        #: plain HTTP to a host that is not loopback: a key would travel in clear text
        self.insecure = url.scheme == "http" and not is_loopback(url.host)

    def with_key(self, key: str | None) -> dict[str, str]:
        """The headers with ``Authorization`` for ``key`` (cached for a fixed key)."""
        if key is None:
            return self.headers
        authed = self.authed
        if authed is None or authed[0] != key:
            authed = self.authed = (key, {**self.headers, "Authorization": f"Bearer {key}"})
        return authed[1]


def header_problem(headers: Mapping[Any, object], where: str) -> InvalidRequestError | None:
    """The error for the first header whose name or value cannot be sent, if any."""
    for name, value in headers.items():
        problem = check_header_name(name)
        if problem is None:
            problem = text_problem(value)
        if problem is not None:
            shown = name if isinstance(name, str) and text_problem(name) is None else "?"
            return InvalidRequestError(f"header {shown!r}{where}: {problem}")
    return None


def resolve(
    settings: Settings, options: RequestOptions | None, path: str
) -> CallPlan | InvalidRequestError:
    """The call plan for ``options`` (or the core's defaults), or why none can be made."""
    o = options
    base = settings.server_url if o is None or o.server_url is UNSET else o.server_url
    url = check_server_url(base)
    if isinstance(url, str):
        return InvalidRequestError(url)
    extra: Mapping[str, str] = {} if o is None or o.headers is UNSET else o.headers
    problem = header_problem(extra, "")
    if problem is not None:
        return problem
    if any(name.lower() == "authorization" for name in extra):
        return InvalidRequestError("set the API key with api_key, not a header")
    if text_problem(settings.user_agent) is not None:
        return InvalidRequestError("user_agent must be a str without CR, LF, NUL or surrogates")
    headers = {
        "Accept": "application/json",
        "Accept-Encoding": ACCEPT_ENCODING,
        "User-Agent": settings.user_agent,
        **extra,
    }
    total = settings.timeout_ms if o is None or o.timeout_ms is UNSET else o.timeout_ms
    read = (
        settings.read_timeout_ms if o is None or o.read_timeout_ms is UNSET else o.read_timeout_ms
    )
    timeout = aiohttp.ClientTimeout(
        total=None if total is None else total / 1000,
        sock_read=None if read is None else read / 1000,
    )
    retry, codes = settings.retry, settings.codes
    if o is not None and o.retries is not UNSET:
        retry = o.retries
        codes = retry_codes_matcher(retry.retry_codes)
    if o is not None and o.retry_codes is not UNSET:
        codes = retry_codes_matcher(o.retry_codes)
    cap = settings.max_response_bytes
    if o is not None and o.max_response_bytes is not UNSET:
        cap = o.max_response_bytes
    return CallPlan(
        base_url=base,
        url=url.with_path(url.path.rstrip("/") + path),
        headers=headers,
        timeout=timeout,
        retry=retry,
        codes=codes,
        max_bytes=cap,
        progress=None if o is None else o.upload_progress,
    )


def reusable(options: RequestOptions | None) -> bool:
    """Whether the plan for ``options`` equals the core's default plan (so it can be cached)."""
    if options is None:
        return True
    o = options
    return (
        o.server_url is UNSET
        and o.headers is UNSET
        and o.timeout_ms is UNSET
        and o.read_timeout_ms is UNSET
        and o.retries is UNSET
        and o.retry_codes is UNSET
        and o.max_response_bytes is UNSET
        and o.upload_progress is None
    )

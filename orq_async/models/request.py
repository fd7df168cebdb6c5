"""The request body of ``createImageEdit`` and every gateway option in it.

Each option type is defined once and used both at the top level and inside ``orq``.
``GatewayRetry`` is the gateway's retrying of *providers*; the client's own HTTP retries are
:class:`orq_async.retries.RetryConfig`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, get_args

import attrs

from orq_async.models import limits
from orq_async.models._validators import (
    all_of,
    between,
    finite_non_negative,
    max_items,
    non_empty,
    one_of,
    statuses,
    unique,
)
from orq_async.models.files import ImageValue

__all__ = [
    "Cache",
    "CacheType",
    "CreateImageEditRequestBody",
    "Fallback",
    "GatewayRetry",
    "Identity",
    "LoadBalancer",
    "LoadBalancerModel",
    "LoadBalancerType",
    "OrqOptions",
    "Prompt",
    "PromptVersion",
    "Quality",
    "ResponseFormat",
    "Timeout",
]

Quality = Literal["auto", "high", "medium", "low", "standard"]
ResponseFormat = Literal["url", "b64_json"]
CacheType = Literal["exact_match"]
LoadBalancerType = Literal["weight_based"]
PromptVersion = Literal["latest"]


def _fallback_on_codes() -> Any:
    """The ``fallback_on_codes`` field, the same at the top level and inside ``orq``."""
    return attrs.field(
        default=None,
        validator=all_of(
            max_items(limits.FALLBACK_ON_CODES_MAX),
            statuses(limits.FALLBACK_STATUS_MIN, limits.FALLBACK_STATUS_MAX),
            unique,
        ),
    )


@attrs.frozen(kw_only=True)
class Fallback:
    """A model the gateway tries if the primary one fails."""

    model: str = attrs.field(validator=non_empty)


@attrs.frozen(kw_only=True)
class GatewayRetry:
    """The gateway's retries of the provider call (not the client's HTTP retries).

    Args:
        count: retries, 1..5 (the gateway's default is 3).
        on_codes: provider statuses that trigger a retry.
    """

    count: int | None = attrs.field(
        default=None, validator=between(limits.RETRY_COUNT_MIN, limits.RETRY_COUNT_MAX)
    )
    on_codes: Sequence[int] | None = attrs.field(default=None, validator=statuses(100, 599))


@attrs.frozen(kw_only=True)
class Cache:
    """Exact-match response caching at the gateway.

    Args:
        type: ``"exact_match"``, the only kind.
        ttl: seconds to keep the response, 1..259200 (the gateway's default is 3600).
    """

    type: CacheType = attrs.field(validator=one_of(get_args(CacheType)))
    ttl: int | None = attrs.field(default=None, validator=between(1, limits.CACHE_TTL_MAX))


@attrs.frozen(kw_only=True)
class LoadBalancerModel:
    """One model of a weight-based load balancer."""

    model: str = attrs.field(validator=non_empty)
    weight: float = attrs.field(default=0.5, validator=finite_non_negative)


@attrs.frozen(kw_only=True)
class LoadBalancer:
    """Spread calls over several models by weight."""

    type: LoadBalancerType = attrs.field(validator=one_of(get_args(LoadBalancerType)))
    models: Sequence[LoadBalancerModel] = attrs.field(validator=non_empty)


@attrs.frozen(kw_only=True)
class Timeout:
    """Per provider call timeout; on expiry the gateway retries or falls back."""

    call_timeout: int = attrs.field(validator=between(1))
    """Milliseconds."""


@attrs.frozen(kw_only=True)
class Prompt:
    """A prompt stored in orq.ai, by id."""

    id: str = attrs.field(validator=non_empty)
    version: PromptVersion = attrs.field(validator=one_of(get_args(PromptVersion)))


@attrs.frozen(kw_only=True)
class Identity:
    """The end user the call is made for; created on the fly if unknown."""

    id: str = attrs.field(validator=non_empty)
    display_name: str | None = None
    email: str | None = None
    metadata: Sequence[dict[str, Any]] | None = None
    logo_url: str | None = None
    tags: Sequence[str] | None = None


@attrs.frozen(kw_only=True)
class OrqOptions:
    """The ``orq`` object: the gateway options grouped, plus prompt and identity.

    ``fallback_on_codes`` (here, sent inside the JSON) is the same as the top-level field: up
    to 20 unique statuses in 400..599 that trigger the ``fallbacks``; omitted or empty, the
    gateway uses 408, 429, 500, 502, 503, 504 and 529. ``contact`` is the deprecated name of
    ``identity``.
    """

    name: str | None = None
    retry: GatewayRetry | None = None
    fallbacks: Sequence[Fallback] | None = None
    fallback_on_codes: Sequence[int] | None = _fallback_on_codes()
    cache: Cache | None = None
    load_balancer: LoadBalancer | None = None
    timeout: Timeout | None = None
    prompt: Prompt | None = None
    identity: Identity | None = None
    contact: Identity | None = None


@attrs.frozen(kw_only=True)
class CreateImageEditRequestBody:
    """The body of ``POST /v2/router/images/edits``. Fields left None are not sent.

    ``fallback_on_codes``: up to 20 unique statuses in 400..599 on which the gateway tries the
    ``fallbacks``; omitted or empty, it uses 408, 429, 500, 502, 503, 504 and 529. Its wire
    form at the top level is chosen in :mod:`orq_async._wire`.
    """

    model: str = attrs.field(validator=non_empty)
    prompt: str
    image: ImageValue | None = None
    n: int | None = attrs.field(default=None, validator=between(limits.N_MIN, limits.N_MAX))
    size: str | None = None
    quality: Quality | None = attrs.field(default=None, validator=one_of(get_args(Quality)))
    response_format: ResponseFormat | None = attrs.field(
        default=None, validator=one_of(get_args(ResponseFormat))
    )
    user: str | None = None
    name: str | None = None
    fallbacks: Sequence[Fallback] | None = None
    fallback_on_codes: Sequence[int] | None = _fallback_on_codes()
    retry: GatewayRetry | None = None
    cache: Cache | None = None
    load_balancer: LoadBalancer | None = None
    timeout: Timeout | None = None
    orq: OrqOptions | None = None

"""``TypedDict`` twins of the request models, so a dict body is checked statically too.

``router_images_edits_create(core, {"modle": ...})`` or ``{"quality": "ultra"}`` is then an
error under ``mypy --strict`` and pyright, while the runtime validation (which also reports
it) stays as it is. Every nested option accepts its attrs model or its dict.

Optional keys are declared by inheritance (a required base, then a ``total=False`` subclass)
rather than with ``NotRequired``: ``typing.NotRequired`` is new in 3.11, ``typing_extensions``
is not a runtime dependency, and this form keeps ``__required_keys__`` right at runtime on
every supported Python. ``tests/test_models_dicts.py`` ties each class to its model's fields.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeAlias, TypedDict

from orq_async.models.files import ImageValue
from orq_async.models.request import (
    Cache,
    CacheType,
    CreateImageEditRequestBody,
    Fallback,
    GatewayRetry,
    Identity,
    LoadBalancer,
    LoadBalancerModel,
    LoadBalancerType,
    OrqOptions,
    Prompt,
    PromptVersion,
    Quality,
    ResponseFormat,
    Timeout,
)

__all__ = [
    "CacheDict",
    "CreateImageEditRequestDict",
    "FallbackDict",
    "GatewayRetryDict",
    "IdentityDict",
    "ImageEditBody",
    "LoadBalancerDict",
    "LoadBalancerModelDict",
    "OrqOptionsDict",
    "PromptDict",
    "TimeoutDict",
]


class FallbackDict(TypedDict):
    """:class:`~orq_async.models.request.Fallback` as a dict."""

    model: str


class GatewayRetryDict(TypedDict, total=False):
    """:class:`~orq_async.models.request.GatewayRetry` as a dict."""

    count: int | None
    on_codes: Sequence[int] | None


class _CacheRequired(TypedDict):
    type: CacheType


class CacheDict(_CacheRequired, total=False):
    """:class:`~orq_async.models.request.Cache` as a dict."""

    ttl: int | None


class _LoadBalancerModelRequired(TypedDict):
    model: str


class LoadBalancerModelDict(_LoadBalancerModelRequired, total=False):
    """:class:`~orq_async.models.request.LoadBalancerModel` as a dict."""

    weight: float


class LoadBalancerDict(TypedDict):
    """:class:`~orq_async.models.request.LoadBalancer` as a dict."""

    type: LoadBalancerType
    models: Sequence[LoadBalancerModel | LoadBalancerModelDict]


class TimeoutDict(TypedDict):
    """:class:`~orq_async.models.request.Timeout` as a dict."""

    call_timeout: int


class PromptDict(TypedDict):
    """:class:`~orq_async.models.request.Prompt` as a dict."""

    id: str
    version: PromptVersion


class _IdentityRequired(TypedDict):
    id: str


class IdentityDict(_IdentityRequired, total=False):
    """:class:`~orq_async.models.request.Identity` as a dict."""

    display_name: str | None
    email: str | None
    metadata: Sequence[dict[str, Any]] | None
    logo_url: str | None
    tags: Sequence[str] | None


class OrqOptionsDict(TypedDict, total=False):
    """:class:`~orq_async.models.request.OrqOptions` as a dict."""

    name: str | None
    retry: GatewayRetry | GatewayRetryDict | None
    fallbacks: Sequence[Fallback | FallbackDict] | None
    fallback_on_codes: Sequence[int] | None
    cache: Cache | CacheDict | None
    load_balancer: LoadBalancer | LoadBalancerDict | None
    timeout: Timeout | TimeoutDict | None
    prompt: Prompt | PromptDict | None
    identity: Identity | IdentityDict | None
    contact: Identity | IdentityDict | None


class _RequestRequired(TypedDict):
    model: str
    prompt: str


class CreateImageEditRequestDict(_RequestRequired, total=False):
    """:class:`~orq_async.models.request.CreateImageEditRequestBody` as a dict."""

    image: ImageValue | None
    n: int | None
    size: str | None
    quality: Quality | None
    response_format: ResponseFormat | None
    user: str | None
    name: str | None
    fallbacks: Sequence[Fallback | FallbackDict] | None
    fallback_on_codes: Sequence[int] | None
    retry: GatewayRetry | GatewayRetryDict | None
    cache: Cache | CacheDict | None
    load_balancer: LoadBalancer | LoadBalancerDict | None
    timeout: Timeout | TimeoutDict | None
    orq: OrqOptions | OrqOptionsDict | None


ImageEditBody: TypeAlias = CreateImageEditRequestBody | CreateImageEditRequestDict
"""What ``router_images_edits_create`` takes as its body: the model or the typed dict."""

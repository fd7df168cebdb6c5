"""attrs models of the image-edit request and response, and the request's TypedDict twins
(re-exported lazily, PEP 562)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from orq_async.models.dicts import (
        CacheDict,
        CreateImageEditRequestDict,
        FallbackDict,
        GatewayRetryDict,
        IdentityDict,
        ImageEditBody,
        LoadBalancerDict,
        LoadBalancerModelDict,
        OrqOptionsDict,
        PromptDict,
        TimeoutDict,
    )
    from orq_async.models.files import FileContent, FileInput, ImageInput, ImageValue
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
    from orq_async.models.response import (
        CreateImageEditResponseBody,
        ImageData,
        InputTokensDetails,
        Usage,
    )

_DICTS = (
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
)
_FILES = ("FileContent", "FileInput", "ImageInput", "ImageValue")
_REQUEST = (
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
)
_RESPONSE = ("CreateImageEditResponseBody", "ImageData", "InputTokensDetails", "Usage")
_WHERE = {
    **dict.fromkeys(_DICTS, "orq_async.models.dicts"),
    **dict.fromkeys(_FILES, "orq_async.models.files"),
    **dict.fromkeys(_REQUEST, "orq_async.models.request"),
    **dict.fromkeys(_RESPONSE, "orq_async.models.response"),
}

__all__ = [
    "Cache",
    "CacheDict",
    "CacheType",
    "CreateImageEditRequestBody",
    "CreateImageEditRequestDict",
    "CreateImageEditResponseBody",
    "Fallback",
    "FallbackDict",
    "FileContent",
    "FileInput",
    "GatewayRetry",
    "GatewayRetryDict",
    "Identity",
    "IdentityDict",
    "ImageData",
    "ImageEditBody",
    "ImageInput",
    "ImageValue",
    "InputTokensDetails",
    "LoadBalancer",
    "LoadBalancerDict",
    "LoadBalancerModel",
    "LoadBalancerModelDict",
    "LoadBalancerType",
    "OrqOptions",
    "OrqOptionsDict",
    "Prompt",
    "PromptDict",
    "PromptVersion",
    "Quality",
    "ResponseFormat",
    "Timeout",
    "TimeoutDict",
    "Usage",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'orq_async.models' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__

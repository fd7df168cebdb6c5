"""attrs models of the image-edit request and response (re-exported lazily, PEP 562)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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
    **dict.fromkeys(_FILES, "orq_async.models.files"),
    **dict.fromkeys(_REQUEST, "orq_async.models.request"),
    **dict.fromkeys(_RESPONSE, "orq_async.models.response"),
}

__all__ = [
    "Cache",
    "CacheType",
    "CreateImageEditRequestBody",
    "CreateImageEditResponseBody",
    "Fallback",
    "FileContent",
    "FileInput",
    "GatewayRetry",
    "Identity",
    "ImageData",
    "ImageInput",
    "ImageValue",
    "InputTokensDetails",
    "LoadBalancer",
    "LoadBalancerModel",
    "LoadBalancerType",
    "OrqOptions",
    "Prompt",
    "PromptVersion",
    "Quality",
    "ResponseFormat",
    "Timeout",
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

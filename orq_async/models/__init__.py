"""attrs models of the image-edit request and response."""

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

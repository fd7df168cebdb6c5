"""orq_async: an async-first SDK with a functional core for the orq.ai image-edit operation.

The root re-exports lazily (PEP 562), so importing one name loads only what it needs::

    from orq_async import OrqCore, Ok, Err
    from orq_async.funcs.router_images_edits_create import router_images_edits_create
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from orq_async.batch import edit_many
    from orq_async.core import OrqCore
    from orq_async.errors import (
        APIConnectionError,
        APIError,
        APITimeoutError,
        AuthenticationError,
        BadRequestError,
        InputStreamError,
        InternalServerError,
        InvalidRequestError,
        NotFoundError,
        OrqError,
        PermissionDeniedError,
        RateLimitError,
        ResponseTooLargeError,
        ResponseValidationError,
        SDKValidationError,
        UnexpectedClientError,
        UnprocessableEntityError,
    )
    from orq_async.models.files import FileInput
    from orq_async.options import UNSET, RequestOptions
    from orq_async.result import Err, Ok, ResponseMeta, Result
    from orq_async.retries import BackoffStrategy, RetryConfig
    from orq_async.sdk import Orq
    from orq_async.throttle import Throttle

_WHERE = {
    "OrqCore": "orq_async.core",
    "Orq": "orq_async.sdk",
    "edit_many": "orq_async.batch",
    "Throttle": "orq_async.throttle",
    "Ok": "orq_async.result",
    "Err": "orq_async.result",
    "Result": "orq_async.result",
    "ResponseMeta": "orq_async.result",
    "RequestOptions": "orq_async.options",
    "UNSET": "orq_async.options",
    "RetryConfig": "orq_async.retries",
    "BackoffStrategy": "orq_async.retries",
    "FileInput": "orq_async.models.files",
    **dict.fromkeys(
        (
            "APIConnectionError",
            "APIError",
            "APITimeoutError",
            "AuthenticationError",
            "BadRequestError",
            "InternalServerError",
            "InputStreamError",
            "InvalidRequestError",
            "NotFoundError",
            "OrqError",
            "PermissionDeniedError",
            "RateLimitError",
            "ResponseTooLargeError",
            "ResponseValidationError",
            "SDKValidationError",
            "UnexpectedClientError",
            "UnprocessableEntityError",
        ),
        "orq_async.errors",
    ),
}

__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AuthenticationError",
    "BackoffStrategy",
    "BadRequestError",
    "Err",
    "FileInput",
    "InputStreamError",
    "InternalServerError",
    "InvalidRequestError",
    "NotFoundError",
    "Ok",
    "Orq",
    "OrqCore",
    "OrqError",
    "PermissionDeniedError",
    "RateLimitError",
    "RequestOptions",
    "ResponseMeta",
    "ResponseTooLargeError",
    "ResponseValidationError",
    "Result",
    "RetryConfig",
    "SDKValidationError",
    "Throttle",
    "UNSET",
    "UnexpectedClientError",
    "UnprocessableEntityError",
    "__version__",
    "edit_many",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'orq_async' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__

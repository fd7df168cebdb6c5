"""The operation's wire contract in one place: field names, wire forms, enum values, limits.

Both the SDK (encoding) and the emulator (its own, independent validation) import the *names*
from here, so a new gateway option is added once: to the models. The field lists are derived
from the attrs models (by each field's type) and the enum values from their ``Literal`` types,
never re-typed; ``tests/test_contract.py`` ties them together.

Wire forms of the top-level fields:

- :data:`TEXT_FIELDS`: scalars, one text part each;
- :data:`JSON_FIELDS`: option objects (and lists of them), one part whose text is JSON;
- :data:`LIST_FIELDS`: lists of scalars (``fallback_on_codes``); the form the SDK sends is
  chosen in one place, :mod:`orq_async._wire` (repeated ``name[]`` text parts today); a
  server should accept ``name``/``name[]`` text parts and a JSON part;
- :data:`FILE_FIELD`: the file part(s).

Inside the ``orq`` JSON object every field is plain JSON.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType, UnionType
from typing import Any, Union, get_args, get_origin

import attrs

from orq_async.models import request
from orq_async.models.endpoint import OPERATION_ID, PATH
from orq_async.models.files import FileInput
from orq_async.models.limits import (
    CACHE_TTL_DEFAULT,
    CACHE_TTL_MAX,
    DEFAULT_FALLBACK_ON_CODES,
    FALLBACK_ON_CODES_MAX,
    FALLBACK_STATUS_MAX,
    FALLBACK_STATUS_MIN,
    IMAGE_CONTENT_TYPES,
    MAX_IMAGE_BYTES,
    MAX_IMAGES,
    N_MAX,
    N_MIN,
    RETRY_COUNT_DEFAULT,
    RETRY_COUNT_MAX,
    RETRY_COUNT_MIN,
)

__all__ = [
    "BODY_FIELDS",
    "CACHE_TTL_DEFAULT",
    "CACHE_TTL_MAX",
    "CACHE_TYPES",
    "DEFAULT_FALLBACK_ON_CODES",
    "FALLBACK_ON_CODES_MAX",
    "FALLBACK_STATUS_MAX",
    "FALLBACK_STATUS_MIN",
    "FILE_FIELD",
    "IMAGE_CONTENT_TYPES",
    "JSON_FIELDS",
    "LIST_FIELDS",
    "LOAD_BALANCER_TYPES",
    "MAX_IMAGES",
    "MAX_IMAGE_BYTES",
    "N_MAX",
    "N_MIN",
    "OBJECT_FIELDS",
    "OPERATION_ID",
    "ORQ_FIELDS",
    "PATH",
    "PROMPT_VERSIONS",
    "QUALITIES",
    "REQUIRED_FIELDS",
    "RESPONSE_FORMATS",
    "RETRY_COUNT_DEFAULT",
    "RETRY_COUNT_MAX",
    "RETRY_COUNT_MIN",
    "TEXT_FIELDS",
]


def _inner(t: Any) -> Any:
    """``X`` from ``X | None``."""
    if get_origin(t) in (Union, UnionType):
        rest = [a for a in get_args(t) if a is not type(None)]
        if len(rest) == 1:
            return rest[0]
    return t


def _is_file(t: Any) -> bool:
    return FileInput in get_args(t)


def _is_json(t: Any) -> bool:
    t = _inner(t)
    if get_origin(t) is Sequence:
        t = get_args(t)[0]
    return attrs.has(t)


def _is_scalar_list(t: Any) -> bool:
    t = _inner(t)
    return get_origin(t) is Sequence and not attrs.has(get_args(t)[0])


def _fields(cls: type[Any]) -> tuple[attrs.Attribute[Any], ...]:
    return tuple(attrs.fields(cls))


_BODY = attrs.fields(attrs.resolve_types(request.CreateImageEditRequestBody))  # types: forms

#: Every top-level field, in the order the SDK sends them.
BODY_FIELDS: tuple[str, ...] = tuple(f.name for f in _BODY)
#: The file field (``image``): one part per file; a URL or data URI is a text part.
(FILE_FIELD,) = (f.name for f in _BODY if _is_file(f.type))
#: Scalars, sent as text parts.
TEXT_FIELDS: tuple[str, ...] = tuple(
    f.name for f in _BODY if not (_is_file(f.type) or _is_json(f.type) or _is_scalar_list(f.type))
)
#: Option objects, sent as parts whose text is JSON.
JSON_FIELDS: tuple[str, ...] = tuple(f.name for f in _BODY if _is_json(f.type))
#: Lists of scalars at the top level (``fallback_on_codes``): the form is :mod:`_wire`'s choice.
LIST_FIELDS: tuple[str, ...] = tuple(f.name for f in _BODY if _is_scalar_list(f.type))
#: The keys of the ``orq`` object.
ORQ_FIELDS: tuple[str, ...] = tuple(f.name for f in _fields(request.OrqOptions))

_OBJECTS: dict[str, type[Any]] = {
    "fallback": request.Fallback,
    "retry": request.GatewayRetry,
    "cache": request.Cache,
    "load_balancer": request.LoadBalancer,
    "load_balancer_model": request.LoadBalancerModel,
    "timeout": request.Timeout,
    "prompt": request.Prompt,
    "identity": request.Identity,
    "orq": request.OrqOptions,
    "body": request.CreateImageEditRequestBody,
}
#: The keys of each JSON object (and of the body), by object kind.
OBJECT_FIELDS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {kind: tuple(f.name for f in _fields(cls)) for kind, cls in _OBJECTS.items()}
)
#: The keys each JSON object (and the body) must have, by object kind.
REQUIRED_FIELDS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        kind: tuple(f.name for f in _fields(cls) if f.default is attrs.NOTHING)
        for kind, cls in _OBJECTS.items()
    }
)

QUALITIES: tuple[str, ...] = get_args(request.Quality)
RESPONSE_FORMATS: tuple[str, ...] = get_args(request.ResponseFormat)
CACHE_TYPES: tuple[str, ...] = get_args(request.CacheType)
LOAD_BALANCER_TYPES: tuple[str, ...] = get_args(request.LoadBalancerType)
PROMPT_VERSIONS: tuple[str, ...] = get_args(request.PromptVersion)

"""Validation of the gateway options that travel as JSON parts (and inside ``orq``).

Each checker takes the decoded JSON value and the field's path (``orq.retry``) and returns a
frozen attrs value or raises :class:`GatewayError` (400) naming the path of the bad field.
Unknown keys are refused (a camelCased ``callTimeout`` is a bug worth hearing about), integers
must be JSON integers (``1.0`` and ``true`` are refused), and an optional key sent as ``null``
counts as not given.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from orq_async.models.limits import CACHE_TTL_MAX, RETRY_COUNT_MAX, RETRY_COUNT_MIN

from ._errors import GatewayError

__all__ = [
    "DEFAULT_ON_CODES",
    "Cache",
    "GatewayOptions",
    "LoadBalancer",
    "OrqOptions",
    "PromptRef",
    "Retry",
    "Weighted",
    "check_gateway_option",
    "check_orq",
]

DEFAULT_ON_CODES = (429, 500, 502, 503, 504)
DEFAULT_CACHE_TTL = 1800
DEFAULT_WEIGHT = 0.5


@attrs.frozen
class Retry:
    """Gateway-side retries of a provider call."""

    count: int = 3
    on_codes: tuple[int, ...] = DEFAULT_ON_CODES


@attrs.frozen
class Cache:
    """The exact-match response cache; ``ttl`` in seconds."""

    ttl: int = DEFAULT_CACHE_TTL
    type: str = "exact_match"


@attrs.frozen
class Weighted:
    """One model of a load balancer with its weight."""

    model: str
    weight: float


@attrs.frozen
class LoadBalancer:
    """A weight-based choice of the primary model."""

    models: tuple[Weighted, ...]
    type: str = "weight_based"


@attrs.frozen
class PromptRef:
    """A reference to a stored prompt."""

    id: str
    version: str = "latest"


@attrs.frozen
class GatewayOptions:
    """The options that may be given at the top level or inside ``orq`` (``None``: not given)."""

    retry: Retry | None = None
    fallbacks: tuple[str, ...] | None = None
    cache: Cache | None = None
    load_balancer: LoadBalancer | None = None
    call_timeout_ms: int | None = None
    name: str | None = None


@attrs.frozen
class OrqOptions:
    """The ``orq`` object: gateway options plus prompt and identity."""

    options: GatewayOptions = attrs.field(factory=GatewayOptions)
    prompt: PromptRef | None = None
    identity: Mapping[str, Any] | None = None
    contact: Mapping[str, Any] | None = None


def _bad(path: str, message: str, code: str = "invalid_value") -> GatewayError:
    return GatewayError(400, f"{path}: {message}", param=path, code=code)


def _object(
    value: Any, path: str, required: tuple[str, ...], optional: tuple[str, ...]
) -> dict[str, Any]:
    """Check an object's keys; return it without the keys whose value is null."""
    if not isinstance(value, dict):
        raise _bad(path, "must be an object")
    for key in value:
        if key not in required and key not in optional:
            raise _bad(f"{path}.{key}", "unknown field", "unknown_field")
    for key in required:
        if value.get(key) is None:
            raise _bad(f"{path}.{key}", "is required", "missing_field")
    return {key: item for key, item in value.items() if item is not None}


def _int(value: Any, path: str, low: int, high: int | None = None) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise _bad(path, f"must be an integer, got {value!r}")
    if value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f">= {low}"
        raise _bad(path, f"must be {bounds}, got {value}")
    return value


def _str(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise _bad(path, f"must be a string, got {value!r}")
    return value


def _model(value: Any, path: str) -> str:
    name = _str(value, path)
    if not name.strip():
        raise _bad(path, "must not be empty")
    return name


def _list(value: Any, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise _bad(path, "must be an array")
    return value


def check_retry(value: Any, path: str) -> Retry:
    """Check ``{"count": 1..5, "on_codes": [int]}``."""
    obj = _object(value, path, (), ("count", "on_codes"))
    count = _int(obj.get("count", 3), f"{path}.count", RETRY_COUNT_MIN, RETRY_COUNT_MAX)
    codes = obj.get("on_codes")
    if codes is None:
        return Retry(count=count)
    checked = tuple(
        _int(code, f"{path}.on_codes[{i}]", 100, 599)
        for i, code in enumerate(_list(codes, f"{path}.on_codes"))
    )
    return Retry(count=count, on_codes=checked)


def check_fallbacks(value: Any, path: str) -> tuple[str, ...]:
    """Check ``[{"model": str}]``."""
    models = []
    for i, item in enumerate(_list(value, path)):
        obj = _object(item, f"{path}[{i}]", ("model",), ())
        models.append(_model(obj["model"], f"{path}[{i}].model"))
    return tuple(models)


def check_cache(value: Any, path: str) -> Cache:
    """Check ``{"type": "exact_match", "ttl": 1..259200}``."""
    obj = _object(value, path, ("type",), ("ttl",))
    if obj["type"] != "exact_match":
        raise _bad(f"{path}.type", f"must be 'exact_match', got {obj['type']!r}")
    ttl = _int(obj.get("ttl", DEFAULT_CACHE_TTL), f"{path}.ttl", 1, CACHE_TTL_MAX)
    return Cache(ttl=ttl)


def check_load_balancer(value: Any, path: str) -> LoadBalancer:
    """Check ``{"type": "weight_based", "models": [{"model", "weight" >= 0}]}``."""
    obj = _object(value, path, ("type", "models"), ())
    if obj["type"] != "weight_based":
        raise _bad(f"{path}.type", f"must be 'weight_based', got {obj['type']!r}")
    models = []
    for i, item in enumerate(_list(obj["models"], f"{path}.models")):
        where = f"{path}.models[{i}]"
        entry = _object(item, where, ("model",), ("weight",))
        weight = entry.get("weight", DEFAULT_WEIGHT)
        if not isinstance(weight, (int, float)) or isinstance(weight, bool) or not weight >= 0:
            raise _bad(f"{where}.weight", f"must be a number >= 0, got {weight!r}")
        models.append(
            Weighted(model=_model(entry["model"], f"{where}.model"), weight=float(weight))
        )
    if not models:
        raise _bad(f"{path}.models", "must not be empty")
    if sum(m.weight for m in models) <= 0:
        raise _bad(f"{path}.models", "the weights add up to zero")
    return LoadBalancer(models=tuple(models))


def check_timeout(value: Any, path: str) -> int:
    """Check ``{"call_timeout": milliseconds}`` and return the milliseconds."""
    obj = _object(value, path, ("call_timeout",), ())
    return _int(obj["call_timeout"], f"{path}.call_timeout", 1)


def _identity(value: Any, path: str) -> dict[str, Any]:
    obj = _object(value, path, ("id",), ("display_name", "email", "metadata", "logo_url", "tags"))
    for key in ("id", "display_name", "email", "logo_url"):
        if key in obj:
            _str(obj[key], f"{path}.{key}")
    for i, item in enumerate(_list(obj.get("metadata", []), f"{path}.metadata")):
        if not isinstance(item, dict):
            raise _bad(f"{path}.metadata[{i}]", "must be an object")
    for i, tag in enumerate(_list(obj.get("tags", []), f"{path}.tags")):
        _str(tag, f"{path}.tags[{i}]")
    return obj


def _prompt(value: Any, path: str) -> PromptRef:
    obj = _object(value, path, ("id", "version"), ())
    if obj["version"] != "latest":
        raise _bad(f"{path}.version", f"must be 'latest', got {obj['version']!r}")
    return PromptRef(id=_model(obj["id"], f"{path}.id"))


def check_gateway_option(key: str, value: Any, path: str) -> dict[str, Any]:
    """Check one gateway option; return it as keyword arguments of :class:`GatewayOptions`."""
    if key == "retry":
        return {"retry": check_retry(value, path)}
    if key == "fallbacks":
        return {"fallbacks": check_fallbacks(value, path)}
    if key == "cache":
        return {"cache": check_cache(value, path)}
    if key == "load_balancer":
        return {"load_balancer": check_load_balancer(value, path)}
    if key == "timeout":
        return {"call_timeout_ms": check_timeout(value, path)}
    if key == "name":
        return {"name": _str(value, path)}
    raise _bad(path, "unknown field", "unknown_field")


GATEWAY_KEYS = ("retry", "fallbacks", "cache", "load_balancer", "timeout", "name")


def check_orq(value: Any, path: str = "orq") -> OrqOptions:
    """Check the ``orq`` object."""
    obj = _object(value, path, (), (*GATEWAY_KEYS, "prompt", "identity", "contact"))
    fields: dict[str, Any] = {}
    for key in GATEWAY_KEYS:
        if key in obj:
            fields.update(check_gateway_option(key, obj[key], f"{path}.{key}"))
    return OrqOptions(
        options=GatewayOptions(**fields),
        prompt=_prompt(obj["prompt"], f"{path}.prompt") if "prompt" in obj else None,
        identity=_identity(obj["identity"], f"{path}.identity") if "identity" in obj else None,
        contact=_identity(obj["contact"], f"{path}.contact") if "contact" in obj else None,
    )

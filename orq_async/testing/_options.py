"""Validation of the gateway options (top level and inside ``orq``): the emulator's own oracle.

The option *names* come from :mod:`orq_async.contract`; the checks here are written
independently of the SDK's models, so the emulator catches what the SDK gets wrong. Each
checker takes the decoded value and the field's path (``orq.retry``) and returns a frozen attrs
value or raises :class:`GatewayError` (400) naming the path of the bad field. Unknown keys are
refused (a camelCased ``callTimeout`` is a bug worth hearing about); integers are read as
JavaScript numbers (``3600.0`` is 3600, ``1.5`` and ``true`` are refused, see ``_numbers``); an
optional key sent as ``null`` counts as not given.

A new gateway option is one field of :class:`GatewayOptions` plus one entry of ``CHECKERS``
(and its name in the contract): merging, the cache key and the ``orq`` object follow.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, cast

import attrs

from orq_async.contract import (
    CACHE_TTL_DEFAULT,
    CACHE_TTL_MAX,
    CACHE_TYPES,
    FALLBACK_ON_CODES_MAX,
    FALLBACK_STATUS_MAX,
    FALLBACK_STATUS_MIN,
    LOAD_BALANCER_TYPES,
    OBJECT_FIELDS,
    PROMPT_VERSIONS,
    RETRY_COUNT_DEFAULT,
    RETRY_COUNT_MAX,
    RETRY_COUNT_MIN,
)

from ._errors import GatewayError
from ._numbers import integral

__all__ = [
    "CHECKERS",
    "DEFAULT_RETRY_CODES",
    "BalancerRule",
    "CacheRule",
    "GatewayOptions",
    "OrqObject",
    "PromptRef",
    "RetryRule",
    "WeightedModel",
    "check_fallback_codes",
    "check_orq",
]

# The gateway's defaults that the contract does not name (its models leave them to the server).
DEFAULT_RETRY_CODES = (429, 500, 502, 503, 504)
DEFAULT_WEIGHT = 0.5


@attrs.frozen
class RetryRule:
    """Gateway-side retries of a provider call."""

    count: int = RETRY_COUNT_DEFAULT
    on_codes: tuple[int, ...] = DEFAULT_RETRY_CODES


@attrs.frozen
class CacheRule:
    """The exact-match response cache; ``ttl`` in seconds."""

    ttl: int = CACHE_TTL_DEFAULT
    type: str = CACHE_TYPES[0]


@attrs.frozen
class WeightedModel:
    """One model of a load balancer with its weight."""

    model: str
    weight: float


@attrs.frozen
class BalancerRule:
    """A weight-based choice of the primary model."""

    models: tuple[WeightedModel, ...]
    type: str = LOAD_BALANCER_TYPES[0]


@attrs.frozen
class PromptRef:
    """A reference to a stored prompt."""

    id: str
    version: str = PROMPT_VERSIONS[0]


@attrs.frozen
class GatewayOptions:
    """Options given at the top level or inside ``orq``, named as on the wire (None: not given).

    ``timeout`` holds ``call_timeout`` in milliseconds; an empty ``fallback_on_codes`` means the
    gateway's default codes (``DEFAULT_FALLBACK_ON_CODES``).
    """

    retry: RetryRule | None = None
    fallbacks: tuple[str, ...] | None = None
    fallback_on_codes: tuple[int, ...] | None = None
    cache: CacheRule | None = None
    load_balancer: BalancerRule | None = None
    timeout: int | None = None
    name: str | None = None

    def over(self, base: GatewayOptions) -> GatewayOptions:
        """Merge per option: each option given here replaces ``base``'s whole."""
        return GatewayOptions(
            **{
                field.name: getattr(base, field.name)
                if getattr(self, field.name) is None
                else getattr(self, field.name)
                for field in attrs.fields(GatewayOptions)
            }
        )


@attrs.frozen
class OrqObject:
    """The ``orq`` object: gateway options plus prompt and identity."""

    options: GatewayOptions = attrs.field(factory=GatewayOptions)
    prompt: PromptRef | None = None
    identity: Mapping[str, Any] | None = None
    contact: Mapping[str, Any] | None = None


def bad(path: str, message: str, code: str = "invalid_value") -> GatewayError:
    """A 400 naming the field at ``path``."""
    return GatewayError(400, f"{path}: {message}", param=path, code=code)


def _object(value: Any, path: str, kind: str, required: tuple[str, ...] = ()) -> dict[str, Any]:
    """Check an object's keys (the contract's names for ``kind``); drop the null ones."""
    if not isinstance(value, dict):
        raise bad(path, "must be an object")
    value = cast(dict[str, Any], value)
    known = OBJECT_FIELDS[kind]
    for key in value:
        if key not in known:
            raise bad(f"{path}.{key}", "unknown field", "unknown_field")
    for key in required:
        if value.get(key) is None:
            raise bad(f"{path}.{key}", "is required", "missing_field")
    return {key: item for key, item in value.items() if item is not None}


def check_int(value: Any, path: str, low: int, high: int | None = None) -> int:
    """Check an integral JavaScript number within ``low..high``."""
    number = integral(value)
    if number is None:
        raise bad(path, f"must be an integer, got {value!r}")
    if number < low or (high is not None and number > high):
        bounds = f"between {low} and {high}" if high is not None else f">= {low}"
        raise bad(path, f"must be {bounds}, got {value!r}")
    return number


def _str(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise bad(path, f"must be a string, got {value!r}")
    return value


def _model(value: Any, path: str) -> str:
    name = _str(value, path)
    if not name.strip():
        raise bad(path, "must not be empty")
    return name


def _one_of(value: Any, path: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise bad(path, f"must be one of {', '.join(map(repr, allowed))}, got {value!r}")


def _list(value: Any, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise bad(path, "must be an array")
    return cast(list[object], value)


def _retry(value: Any, path: str) -> RetryRule:
    obj = _object(value, path, "retry")
    count = check_int(
        obj.get("count", RETRY_COUNT_DEFAULT), f"{path}.count", RETRY_COUNT_MIN, RETRY_COUNT_MAX
    )
    codes = obj.get("on_codes")
    if codes is None:
        return RetryRule(count=count)
    checked = tuple(
        check_int(code, f"{path}.on_codes[{i}]", 100, 599)
        for i, code in enumerate(_list(codes, f"{path}.on_codes"))
    )
    return RetryRule(count=count, on_codes=checked)


def _fallbacks(value: Any, path: str) -> tuple[str, ...]:
    models: list[str] = []
    for i, item in enumerate(_list(value, path)):
        obj = _object(item, f"{path}[{i}]", "fallback", ("model",))
        models.append(_model(obj["model"], f"{path}[{i}].model"))
    return tuple(models)


def check_fallback_codes(value: Any, path: str) -> tuple[int, ...]:
    """Check up to 20 unique integers in 400..599 (empty: the gateway's default codes)."""
    codes = _list(value, path)
    if len(codes) > FALLBACK_ON_CODES_MAX:
        raise bad(path, f"at most {FALLBACK_ON_CODES_MAX} codes are allowed, got {len(codes)}")
    checked: list[int] = []
    for i, code in enumerate(codes):
        number = check_int(code, f"{path}[{i}]", FALLBACK_STATUS_MIN, FALLBACK_STATUS_MAX)
        if number in checked:
            raise bad(f"{path}[{i}]", f"{number} is given more than once")
        checked.append(number)
    return tuple(checked)


def _cache(value: Any, path: str) -> CacheRule:
    obj = _object(value, path, "cache", ("type",))
    _one_of(obj["type"], f"{path}.type", CACHE_TYPES)
    ttl = check_int(obj.get("ttl", CACHE_TTL_DEFAULT), f"{path}.ttl", 1, CACHE_TTL_MAX)
    return CacheRule(ttl=ttl)


def _load_balancer(value: Any, path: str) -> BalancerRule:
    obj = _object(value, path, "load_balancer", ("type", "models"))
    _one_of(obj["type"], f"{path}.type", LOAD_BALANCER_TYPES)
    models: list[WeightedModel] = []
    for i, item in enumerate(_list(obj["models"], f"{path}.models")):
        where = f"{path}.models[{i}]"
        entry = _object(item, where, "load_balancer_model", ("model",))
        weight = entry.get("weight", DEFAULT_WEIGHT)
        if not isinstance(weight, (int, float)) or isinstance(weight, bool) or not weight >= 0:
            raise bad(f"{where}.weight", f"must be a number >= 0, got {weight!r}")
        models.append(
            WeightedModel(model=_model(entry["model"], f"{where}.model"), weight=float(weight))
        )
    if not models:
        raise bad(f"{path}.models", "must not be empty")
    if sum(m.weight for m in models) <= 0:
        raise bad(f"{path}.models", "the weights add up to zero")
    return BalancerRule(models=tuple(models))


def _timeout(value: Any, path: str) -> int:
    obj = _object(value, path, "timeout", ("call_timeout",))
    return check_int(obj["call_timeout"], f"{path}.call_timeout", 1)


#: One checker per :class:`GatewayOptions` field, keyed by its wire name.
CHECKERS: Mapping[str, Callable[[Any, str], Any]] = {
    "retry": _retry,
    "fallbacks": _fallbacks,
    "fallback_on_codes": check_fallback_codes,
    "cache": _cache,
    "load_balancer": _load_balancer,
    "timeout": _timeout,
    "name": _str,
}


def _identity(value: Any, path: str) -> dict[str, Any]:
    obj = _object(value, path, "identity", ("id",))
    for key in ("id", "display_name", "email", "logo_url"):
        if key in obj:
            _str(obj[key], f"{path}.{key}")
    for i, item in enumerate(_list(obj.get("metadata", []), f"{path}.metadata")):
        if not isinstance(item, dict):
            raise bad(f"{path}.metadata[{i}]", "must be an object")
    for i, tag in enumerate(_list(obj.get("tags", []), f"{path}.tags")):
        _str(tag, f"{path}.tags[{i}]")
    return obj


def _prompt(value: Any, path: str) -> PromptRef:
    obj = _object(value, path, "prompt", ("id", "version"))
    _one_of(obj["version"], f"{path}.version", PROMPT_VERSIONS)
    return PromptRef(id=_model(obj["id"], f"{path}.id"))


def check_orq(value: Any, path: str = "orq") -> OrqObject:
    """Check the ``orq`` object."""
    obj = _object(value, path, "orq")
    options = {key: CHECKERS[key](obj[key], f"{path}.{key}") for key in CHECKERS if key in obj}
    return OrqObject(
        options=GatewayOptions(**options),
        prompt=_prompt(obj["prompt"], f"{path}.prompt") if "prompt" in obj else None,
        identity=_identity(obj["identity"], f"{path}.identity") if "identity" in obj else None,
        contact=_identity(obj["contact"], f"{path}.contact") if "contact" in obj else None,
    )

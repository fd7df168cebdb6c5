"""The contract module's names are the models' fields and ``Literal`` values, never re-typed."""

from __future__ import annotations

from typing import Any, get_args

import attrs
import pytest

from orq_async import contract
from orq_async._convert import structure_request
from orq_async._wire import wire_fields
from orq_async.errors import SDKValidationError
from orq_async.models import request


def _names(cls: type[Any]) -> tuple[str, ...]:
    return tuple(f.name for f in attrs.fields(cls))


def test_top_level_wire_forms_partition_the_body_fields() -> None:
    forms = [
        contract.TEXT_FIELDS,
        contract.JSON_FIELDS,
        contract.LIST_FIELDS,
        (contract.FILE_FIELD,),
    ]
    every = [name for form in forms for name in form]
    assert sorted(every) == sorted(contract.BODY_FIELDS)
    assert len(every) == len(set(every))
    assert _names(request.CreateImageEditRequestBody) == contract.BODY_FIELDS


def test_wire_forms_match_the_api_reference() -> None:
    # The table in API.md, written out independently of the derivation.
    assert contract.TEXT_FIELDS == (
        "model", "prompt", "n", "size", "quality", "response_format", "user", "name"
    )  # fmt: skip
    assert contract.JSON_FIELDS == (
        "fallbacks",
        "retry",
        "cache",
        "load_balancer",
        "timeout",
        "orq",
    )
    assert contract.LIST_FIELDS == ("fallback_on_codes",)
    assert contract.FILE_FIELD == "image"


def test_object_fields_and_required_keys_come_from_the_models() -> None:
    assert _names(request.OrqOptions) == contract.ORQ_FIELDS
    assert "fallback_on_codes" in contract.ORQ_FIELDS
    assert contract.OBJECT_FIELDS["cache"] == ("type", "ttl")
    assert contract.REQUIRED_FIELDS["cache"] == ("type",)
    assert contract.REQUIRED_FIELDS["body"] == ("model", "prompt")
    assert contract.REQUIRED_FIELDS["identity"] == ("id",)
    for kind, names in contract.OBJECT_FIELDS.items():
        assert set(contract.REQUIRED_FIELDS[kind]) <= set(names), kind


@pytest.mark.parametrize(
    ("values", "literal", "field"),
    [
        (contract.QUALITIES, request.Quality, "quality"),
        (contract.RESPONSE_FORMATS, request.ResponseFormat, "response_format"),
    ],
)
def test_enum_values_are_the_literals_and_the_validator_takes_exactly_them(
    values: tuple[str, ...], literal: Any, field: str
) -> None:
    assert values == get_args(literal)
    for value in values:
        assert (
            getattr(structure_request({"model": "m", "prompt": "p", field: value}), field) == value
        )
    with pytest.raises(SDKValidationError, match=field):
        structure_request({"model": "m", "prompt": "p", field: "ultra"})


def test_nested_enum_values_are_the_literals() -> None:
    assert contract.CACHE_TYPES == get_args(request.CacheType) == ("exact_match",)
    assert contract.LOAD_BALANCER_TYPES == get_args(request.LoadBalancerType) == ("weight_based",)
    assert contract.PROMPT_VERSIONS == get_args(request.PromptVersion) == ("latest",)


def test_limits_and_gateway_defaults() -> None:
    assert contract.CACHE_TTL_DEFAULT == 3600
    assert contract.CACHE_TTL_MAX == 259_200
    assert (contract.FALLBACK_STATUS_MIN, contract.FALLBACK_STATUS_MAX) == (400, 599)
    assert contract.FALLBACK_ON_CODES_MAX == 20
    assert contract.DEFAULT_FALLBACK_ON_CODES == (408, 429, 500, 502, 503, 504, 529)
    assert len(set(contract.DEFAULT_FALLBACK_ON_CODES)) == len(contract.DEFAULT_FALLBACK_ON_CODES)


def test_every_part_the_sdk_sends_is_named_by_the_contract() -> None:
    body = structure_request(
        {
            "model": "m",
            "prompt": "p",
            "n": 2,
            "size": "1x1",
            "quality": "low",
            "response_format": "url",
            "user": "u",
            "name": "t",
            "fallbacks": [{"model": "f"}],
            "fallback_on_codes": [429, 503],
            "retry": {"count": 2},
            "cache": {"type": "exact_match"},
            "load_balancer": {"type": "weight_based", "models": [{"model": "x"}]},
            "timeout": {"call_timeout": 1000},
            "orq": {"name": "o"},
        }
    )
    sent = {(name, is_json) for name, _text, is_json in wire_fields(body)}
    assert sent == {
        *((n, False) for n in contract.TEXT_FIELDS),
        *((f"{n}[]", False) for n in contract.LIST_FIELDS),
        *((n, True) for n in contract.JSON_FIELDS),
    }

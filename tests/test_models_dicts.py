"""Each ``TypedDict`` in ``models.dicts`` has exactly its attrs model's keys, requiredness and
value types (a nested model ``M`` becoming ``M | MDict``)."""

from __future__ import annotations

import types
import typing
from typing import Any, Union, get_args, get_origin, get_type_hints

import attrs
import pytest

from orq_async._convert import structure_request
from orq_async.models import dicts, request
from orq_async.models.files import FileInput

PAIRS: dict[type[Any], Any] = {
    request.Fallback: dicts.FallbackDict,
    request.GatewayRetry: dicts.GatewayRetryDict,
    request.Cache: dicts.CacheDict,
    request.LoadBalancerModel: dicts.LoadBalancerModelDict,
    request.LoadBalancer: dicts.LoadBalancerDict,
    request.Timeout: dicts.TimeoutDict,
    request.Prompt: dicts.PromptDict,
    request.Identity: dicts.IdentityDict,
    request.OrqOptions: dicts.OrqOptionsDict,
    request.CreateImageEditRequestBody: dicts.CreateImageEditRequestDict,
}


def _norm(t: Any, expand: bool) -> Any:
    """A comparable form of a type: unions as flat sets; with ``expand``, a request model ``M``
    stands for ``M | MDict``."""
    if get_origin(t) in (Union, types.UnionType):
        out: set[Any] = set()
        for arg in get_args(t):
            n = _norm(arg, expand)
            out |= n if isinstance(n, frozenset) else {n}
        return frozenset(out)
    if expand and t in PAIRS:
        return frozenset({t, PAIRS[t]})
    if get_origin(t) is not None and get_origin(t) is not typing.Literal:
        return (get_origin(t), tuple(_norm(a, expand) for a in get_args(t)))
    return t


def test_every_request_model_has_a_dict_twin() -> None:
    names = [getattr(request, n) for n in request.__all__]
    models = {m for m in names if isinstance(m, type) and attrs.has(m)}
    assert models == set(PAIRS)
    assert set(dicts.__all__) == {d.__name__ for d in PAIRS.values()} | {"ImageEditBody"}


@pytest.mark.parametrize("model", list(PAIRS), ids=lambda m: m.__name__)
def test_dict_keys_requiredness_and_types_match_the_model(model: type[Any]) -> None:
    typed = PAIRS[model]
    fields = attrs.fields(attrs.resolve_types(model))
    hints = get_type_hints(typed)
    assert list(hints) == [f.name for f in fields]
    assert typed.__required_keys__ == {f.name for f in fields if f.default is attrs.NOTHING}
    for f in fields:
        assert _norm(hints[f.name], False) == _norm(f.type, True), f.name


def test_the_body_alias_is_the_model_or_the_dict() -> None:
    assert set(get_args(dicts.ImageEditBody)) == {
        request.CreateImageEditRequestBody,
        dicts.CreateImageEditRequestDict,
    }


def test_a_dict_using_every_key_is_valid_at_runtime_too() -> None:
    identity: dicts.IdentityDict = {
        "id": "c",
        "display_name": "C",
        "email": "c@example.com",
        "metadata": [{"k": 1}],
        "logo_url": "https://example.com/l.png",
        "tags": ["t"],
    }
    body: dicts.CreateImageEditRequestDict = {
        "model": "m",
        "prompt": "p",
        "image": [FileInput("a.png", b"\x89PNG\r\n\x1a\n")],
        "n": 2,
        "size": "1024x1024",
        "quality": "high",
        "response_format": "b64_json",
        "user": "u",
        "name": "t",
        "fallbacks": [{"model": "f"}, request.Fallback(model="g")],
        "fallback_on_codes": [429],
        "retry": {"count": 2, "on_codes": [500]},
        "cache": {"type": "exact_match", "ttl": 3600},
        "load_balancer": {"type": "weight_based", "models": [{"model": "a", "weight": 1}]},
        "timeout": {"call_timeout": 1000},
        "orq": {
            "name": "o",
            "retry": request.GatewayRetry(count=1),
            "fallbacks": [{"model": "f"}],
            "fallback_on_codes": [503],
            "cache": {"type": "exact_match"},
            "load_balancer": {"type": "weight_based", "models": [{"model": "a"}]},
            "timeout": {"call_timeout": 5},
            "prompt": {"id": "p1", "version": "latest"},
            "identity": identity,
            "contact": identity,
        },
    }
    assert set(body) == set(dicts.CreateImageEditRequestDict.__annotations__) | {"model", "prompt"}
    model = structure_request(body)
    assert model.orq is not None
    assert model.orq.identity is not None
    assert (model.orq.identity.metadata, model.orq.identity.tags) == (({"k": 1},), ("t",))

"""The generated flat functions agree with the reference path, and take the common case.

``orq_async._compiled`` writes one straight-line function per model for speed; the cattrs
hooks of ``orq_async._structure`` (then ``_wire`` and ``_multipart``) stay the reference. For
random bodies and responses built from the models' own field types (valid values, boundary
values, wrong types, unknown keys, missing keys, one random change anywhere in the tree),
whenever a flat function answers, the reference must give the same: the same multipart text
for a request, an equal model for a response. And the common cases must not fall back (a fast
path that always says SLOW would pass the first test and be useless).
"""

from __future__ import annotations

import json
import types
from collections.abc import Sequence
from typing import Any, Literal, Union, get_args, get_origin

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orq_async._compiled import SLOW, response_model
from orq_async._convert import converter, load_json, structure_request
from orq_async._multipart import EncodedBody, render_fields
from orq_async._prepare import _wire_request
from orq_async._structure import Invalid
from orq_async._wire import wire_fields
from orq_async.errors import SDKValidationError
from orq_async.models import request, response
from orq_async.models.files import FileInput
from tests.conftest import OK_BODY, PNG

EXAMPLES = settings(
    max_examples=400,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

JUNK: list[Any] = [None, True, -1, 0, 2.0, 2.5, float("nan"), "", "x", [], [1, 1], {}, {"a": 1}]
IMAGES = st.sampled_from(
    [PNG, "https://example.com/a.png", b"not an image", 5, [PNG, "data:image/png;base64,AA"], []]
)


def _value(t: Any, model: Any) -> st.SearchStrategy[Any]:
    """Values of type ``t``, mostly valid; some just past the validators' bounds."""
    if FileInput in get_args(t):
        return IMAGES
    if get_origin(t) in (Union, types.UnionType):
        inner = [a for a in get_args(t) if a is not type(None)]
        return st.one_of(st.none(), *(_value(a, model) for a in inner))
    if t is str:
        return st.one_of(st.sampled_from(["x", "contact_123", "1024x1024"]), st.text(max_size=4))
    if t is int:
        return st.sampled_from([1, 2, 3, 429, 503] if model is request else [0, 7, 7.0])
    if t is float:
        return st.one_of(st.floats(0, 10), st.just(0.5))
    if get_origin(t) is Literal:
        return st.sampled_from(get_args(t))
    if get_origin(t) is Sequence:
        items = _value(get_args(t)[0], model)
        return st.one_of(st.lists(items, max_size=3), st.lists(items, max_size=2).map(tuple))
    if t == dict[str, Any]:
        return st.dictionaries(st.text(max_size=2), st.one_of(st.integers(), st.floats()))
    if t is Any:
        return st.integers()
    if attrs.has(t):
        return _object(t, model)
    raise AssertionError(f"no strategy for {t!r}")


def _object(cls: type[Any], model: Any) -> st.SearchStrategy[dict[str, Any]]:
    """A dict for ``cls``: required fields present, each optional one present or not."""
    fields = [f for f in attrs.fields(attrs.resolve_types(cls)) if f.name != "extra"]
    required = {f.name: _value(f.type, model) for f in fields if f.default is attrs.NOTHING}
    optional = {f.name: _value(f.type, model) for f in fields if f.default is not attrs.NOTHING}
    return st.fixed_dictionaries(required, optional=optional)


def _mutate(value: dict[str, Any], rng: Any) -> dict[str, Any]:
    """One random change somewhere in the tree: a key set to junk, dropped, or added."""
    nodes: list[dict[str, Any]] = []

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            node = {k: walk(v) for k, v in node.items()}
            nodes.append(node)
        elif isinstance(node, list):
            node = [walk(v) for v in node]
        return node

    value = walk(value)
    node = rng.choice(nodes)
    key = rng.choice([*node, "zz", "Model", "extra"])
    if rng.random() < 0.2:
        node.pop(key, None)
    else:
        node[key] = rng.choice(JUNK)
    return value


def _bodies(cls: type[Any], model: Any) -> st.SearchStrategy[dict[str, Any]]:
    clean = _object(cls, model)
    return st.one_of(clean, st.builds(_mutate, clean, st.randoms(use_true_random=False)))


BODIES = _bodies(request.CreateImageEditRequestBody, request)
VALID_BODY: dict[str, Any] = {
    "model": "openai/gpt-image-1",
    "prompt": "add a hat",
    "image": PNG,
    "n": 1,
    "size": "1024x1024",
    "quality": "high",
    "response_format": "b64_json",
    "user": "u",
    "fallbacks": [{"model": "openai/dall-e-2"}],
    "fallback_on_codes": [429, 503],
    "retry": {"count": 2, "on_codes": [429, 503]},
    "cache": {"type": "exact_match", "ttl": 3600},
    "load_balancer": {"type": "weight_based", "models": [{"model": "a", "weight": 0.7}]},
    "timeout": {"call_timeout": 30000},
    "orq": {"identity": {"id": "contact_123", "metadata": [{"k": 1}]}, "name": "n"},
}
DELIM = "--b0undary\r\n"
flat_response = response_model(response.CreateImageEditResponseBody)


def _flat(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except Exception:  # what the callers do: any exception means "ask the reference"
        return SLOW


def _reference_text(model: request.CreateImageEditRequestBody) -> str:
    return "".join(render_fields(wire_fields(model), DELIM))


def _fast_text(body: object) -> tuple[str, Any] | Any:
    wired = _wire_request(body, DELIM)
    return SLOW if wired is None else ("".join(wired[0]), wired[1])


@EXAMPLES
@given(BODIES)
def test_a_flat_request_is_the_reference_one(body: dict[str, Any]) -> None:
    fast = _fast_text(body)
    try:
        model = structure_request(body)
    except SDKValidationError:
        assert fast is SLOW, f"the flat function accepted what the reference refuses: {body!r}"
        return
    if fast is not SLOW:
        assert fast == (_reference_text(model), model.image)
        # the model itself goes the flat way too, to the same text
        again = _fast_text(model)
        assert again is SLOW or again == fast


@pytest.mark.parametrize("drop", [None, "fallbacks", "orq", "load_balancer"])
def test_the_common_bodies_take_the_flat_path(drop: str | None) -> None:
    body = {k: v for k, v in VALID_BODY.items() if k != drop}
    model = structure_request(body)
    assert _fast_text(body) == (_reference_text(model), PNG)
    assert _fast_text(model) == (_reference_text(model), PNG)


def test_defaults_are_left_out_as_the_reference_leaves_them_out() -> None:
    body = VALID_BODY | {
        "load_balancer": {"type": "weight_based", "models": [{"model": "a", "weight": 0.5}]}
    }
    text, _ = _fast_text(body)
    assert '{"type":"weight_based","models":[{"model":"a"}]}' in text
    assert text == _reference_text(structure_request(body))


def test_text_json_and_list_parts_are_laid_out_in_wire_order() -> None:
    text, _ = _fast_text(VALID_BODY)
    assert text.index('name="user"') < text.index('name="fallback_on_codes[]"')
    assert text.index('name="fallback_on_codes[]"') < text.index('name="fallbacks"')
    assert '"orq"\r\nContent-Type: application/json\r\n\r\n{"name":"n","identity":' in text


@pytest.mark.parametrize(
    "change",
    [
        {"n": True},  # a bool is not an int
        {"n": 2.0},  # converted by the reference, not by the flat function
        {"quality": "best"},
        {"retry": {"count": 9}},
        {"cache": {"type": "exact_match", "ttl": 0}},
        {"fallback_on_codes": [429, 429]},
        {"fallback_on_codes": [429, 399]},  # each item in range, not just the first
        {"retry": {"count": 2, "on_codes": [429, 600]}},
        {"orq": {"retry": {"on_codes": [99]}}},
        {"orq": {"identity": {"id": ""}}},
        {"orq": {"unknown": 1}},
        {"Model": "x"},
        {"load_balancer": {"type": "weight_based", "models": [{"model": "a", "weight": 1}]}},
    ],
)
def test_anything_unusual_goes_to_the_reference(change: dict[str, Any]) -> None:
    assert _fast_text(VALID_BODY | change) is SLOW


RESPONSES = _bodies(response.CreateImageEditResponseBody, response)


@EXAMPLES
@given(RESPONSES)
def test_a_flat_response_is_the_reference_one(data: dict[str, Any]) -> None:
    cls = response.CreateImageEditResponseBody
    value = _flat(flat_response, data)
    try:
        expected = converter().get_structure_hook(cls)(data, cls)
    except Invalid:
        assert value is SLOW
        return
    if value is not SLOW:
        assert value == expected
        assert type(value.data) is type(expected.data) is tuple


def test_the_common_response_takes_the_flat_path() -> None:
    value = flat_response(OK_BODY | {"new_field": [1]})
    assert value is not SLOW
    assert value.extra == {"new_field": [1]}
    assert isinstance(value.data, tuple)


_NO_EXTRA: Any = types.MappingProxyType({})


@attrs.frozen(kw_only=True)
class _Plain:
    n: int
    extra: Any = _NO_EXTRA


@attrs.frozen(kw_only=True)
class _Validated:
    n: int = attrs.field(validator=attrs.validators.ge(0))
    extra: Any = _NO_EXTRA


def test_a_model_that_only_stores_is_built_slot_by_slot_equal_to_its_init() -> None:
    value = response_model(_Plain)({"n": 3, "more": 1})
    assert value == _Plain(n=3, extra={"more": 1})
    assert type(value) is _Plain
    assert value.extra == {"more": 1}
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        value.n = 4  # type: ignore[misc]


def test_a_model_with_a_validator_is_built_through_its_init() -> None:
    flat = response_model(_Validated)
    assert flat({"n": 3}) == _Validated(n=3)
    with pytest.raises(ValueError, match="n"):
        flat({"n": -1})  # the validator ran: the caller falls back to the reference hook


@pytest.mark.parametrize(
    "raw",
    [
        b'{"a":1}',
        b'{"a":1}  \n',
        b'{"a":1} x',
        b'{"a":1}\n\n  {',
        b'{"a": [1,2',
        b'{"',  # the scanner's own error, straight from the object's first key
        b'{"a":1,}',
        b'{"a":NaN,"b":-Infinity}',  # json's constants, accepted as json.loads does
        b"[1]",
        b' {"a":1}',
        b'{"a":"\xed\xa0\x80"}',  # a lone surrogate, as json's surrogatepass reads it
        b'{"a":"\xff"}',
        '\ufeff{"a":1}'.encode("utf-16"),
    ],
)
def test_load_json_is_json_loads(raw: bytes) -> None:
    """The response's JSON reader gives json.loads's value, or its error with its message."""
    try:
        expected: Any = json.loads(raw)
    except ValueError as exc:
        expected = (type(exc), str(exc))
    try:
        got: Any = load_json(raw)
    except ValueError as exc:
        got = (type(exc), str(exc))
    assert got == expected


class _PosingAsStr:
    """Claims to be a str through ``__class__`` (isinstance believes it; type() does not)."""

    @property
    def __class__(self) -> type:  # type: ignore[override]
        return str

    def __str__(self) -> str:
        return "posing"


class _HostileDict(dict[str, Any]):
    """A dict whose ``get`` lies."""

    def get(self, key: str, default: Any = None) -> Any:
        raise RuntimeError("no get for you")


@pytest.mark.parametrize(
    "body",
    [
        VALID_BODY | {"model": _PosingAsStr()},
        VALID_BODY | {"orq": {"identity": {"id": _PosingAsStr()}}},
        _HostileDict(VALID_BODY),
        VALID_BODY | {"cache": _HostileDict({"type": "exact_match"})},
    ],
    ids=["str-posing text field", "str-posing JSON field", "dict with a lying get", "nested"],
)
async def test_hostile_values_get_the_reference_outcome(body: Any) -> None:
    """What the fast path declines, the reference path decides; nothing escapes as an
    exception, and the outcome is the same whichever path ran."""
    from orq_async._prepare import prepare, prepare_now

    assert _fast_text(body) is SLOW
    now = prepare_now(body, None)
    later = await prepare(body, None)
    assert isinstance(later, (EncodedBody, SDKValidationError))
    if now is not None:
        assert type(now) is type(later)

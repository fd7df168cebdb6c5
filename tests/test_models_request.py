"""``fallback_on_codes``: modelled at the top level and inside ``orq``, validated, sent."""

from __future__ import annotations

from typing import Any

import pytest

from orq_async import OrqCore
from orq_async._convert import structure_request
from orq_async._wire import extra_wire_fields, list_parts, wire_fields
from orq_async.errors import SDKValidationError
from orq_async.funcs.router_images_edits_create import router_images_edits_create
from orq_async.models.request import CreateImageEditRequestBody, OrqOptions
from tests.conftest import Server


def _problems(body: dict[str, Any]) -> list[str]:
    with pytest.raises(SDKValidationError) as info:
        structure_request({"model": "m", "prompt": "p", **body})
    return [str(p) for p in info.value.problems]


@pytest.mark.parametrize("where", ["top", "orq"])
def test_fallback_on_codes_is_accepted_at_both_levels(where: str) -> None:
    codes = [408, 429, 599, 400]
    wrapped: dict[str, Any] = (
        {"fallback_on_codes": codes} if where == "top" else {"orq": {"fallback_on_codes": codes}}
    )
    body = structure_request({"model": "m", "prompt": "p", **wrapped})
    got = body.fallback_on_codes if where == "top" else body.orq and body.orq.fallback_on_codes
    assert got == (408, 429, 599, 400)


@pytest.mark.parametrize("prefix", ["", "orq."])
def test_fallback_on_codes_problems_name_the_item(prefix: str) -> None:
    def at(codes: Any) -> list[str]:
        key = "fallback_on_codes"
        return _problems({key: codes} if not prefix else {"orq": {key: codes}})

    assert at([429, 399, 600, 500]) == [
        f"{prefix}fallback_on_codes[1]: must be an HTTP status 400..599, got 399",
        f"{prefix}fallback_on_codes[2]: must be an HTTP status 400..599, got 600",
    ]
    assert at([429, 500, 429, 429]) == [
        f"{prefix}fallback_on_codes[2]: duplicate of [0] (429)",
        f"{prefix}fallback_on_codes[3]: duplicate of [0] (429)",
    ]
    assert at(list(range(400, 421))) == [
        f"{prefix}fallback_on_codes: must have at most 20 items, got 21"
    ]
    assert at([429, "503", True, 500.5]) == [
        f"{prefix}fallback_on_codes[1]: must be an integer, got str",
        f"{prefix}fallback_on_codes[2]: must be an integer, got bool",
        f"{prefix}fallback_on_codes[3]: must be an integer, got 500.5",
    ]
    assert at("429") == [f"{prefix}fallback_on_codes: must be a list, got str"]


def test_twenty_codes_and_an_empty_list_are_fine() -> None:
    assert structure_request(
        {"model": "m", "prompt": "p", "fallback_on_codes": list(range(400, 420))}
    ).fallback_on_codes == tuple(range(400, 420))
    body = structure_request({"model": "m", "prompt": "p", "fallback_on_codes": []})
    assert body.fallback_on_codes == ()


def test_the_models_validate_too() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        OrqOptions(fallback_on_codes=[500, 500])
    with pytest.raises(ValueError, match=r"400\.\.599"):
        CreateImageEditRequestBody(model="m", prompt="p", fallback_on_codes=[302])


def test_the_top_level_form_is_repeated_text_parts_and_json_inside_orq() -> None:
    body = structure_request(
        {
            "model": "m",
            "prompt": "p",
            "fallback_on_codes": [429.0, 503],
            "orq": {"fallback_on_codes": [500]},
        }
    )
    fields = wire_fields(body)
    assert [f for f in fields if f[0].startswith("fallback_on_codes")] == [
        ("fallback_on_codes[]", "429", False),
        ("fallback_on_codes[]", "503", False),
    ]
    assert ("orq", '{"fallback_on_codes":[500]}', True) in fields


def test_the_list_form_is_swappable_in_one_place() -> None:
    assert list_parts("fallback_on_codes", [429, 500]) == [
        ("fallback_on_codes[]", "429", False),
        ("fallback_on_codes[]", "500", False),
    ]
    assert list_parts("fallback_on_codes", [429, 500], "json") == [
        ("fallback_on_codes", "[429,500]", True)
    ]
    assert list_parts("fallback_on_codes", [], "json") == [("fallback_on_codes", "[]", True)]
    assert list_parts("fallback_on_codes", []) == []


def test_extra_fields_cannot_smuggle_the_bracketed_name() -> None:
    _fields, problems = extra_wire_fields({"fallback_on_codes[]": "429"})
    assert [p.path for p in problems] == ["options.extra_fields.fallback_on_codes[]"]


async def test_fallback_on_codes_reach_the_server(server: Server) -> None:
    async with OrqCore(server_url=server.url) as core:
        res = await router_images_edits_create(
            core,
            {
                "model": "m",
                "prompt": "p",
                "fallback_on_codes": [429, 503],
                "orq": {"fallback_on_codes": [500, 502]},
            },
        )
    assert res.ok
    sent = server.requests[0]
    assert [p.text for p in sent.named("fallback_on_codes[]")] == ["429", "503"]
    assert sent.named("fallback_on_codes") == []
    assert sent.one("orq").json == {"fallback_on_codes": [500, 502]}


async def test_bad_codes_are_refused_before_sending(server: Server) -> None:
    async with OrqCore(server_url=server.url) as core:
        res = await router_images_edits_create(
            core, {"model": "m", "prompt": "p", "orq": {"fallback_on_codes": [200]}}
        )
    assert not res.ok
    assert isinstance(res.error, SDKValidationError)
    assert [p.path for p in res.error.problems] == ["orq.fallback_on_codes[0]"]
    assert server.requests == []


def test_cache_ttl_docstring_says_the_current_default() -> None:
    from orq_async.models.request import Cache

    assert "default is 3600" in (Cache.__doc__ or "")

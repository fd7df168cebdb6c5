"""``fallback_on_codes``: every wire form, validation, and falling back only on those codes."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from orq_async.testing import Emulator

from ._helpers import image_bytes, last, post, raw_multipart

FALLBACKS = b'[{"model": "local/echo"}]'


def _form(model: str, extra: list[tuple[str, bytes]]) -> tuple[bytes, dict[str, str]]:
    return raw_multipart(
        [
            ('form-data; name="model"', model.encode()),
            ('form-data; name="prompt"', b"p"),
            ('form-data; name="image"; filename="a.png"', image_bytes()),
            ('form-data; name="fallbacks"', FALLBACKS),
            *extra,
        ]
    )


def _codes(name: str, *codes: str) -> list[tuple[str, bytes]]:
    return [(f'form-data; name="{name}"', code.encode()) for code in codes]


def _orq(value: Any) -> list[tuple[str, bytes]]:
    return [('form-data; name="orq"', json.dumps({"fallback_on_codes": value}).encode())]


@pytest.mark.parametrize(
    ("model", "falls_back"),
    [
        ("local/fail-408", True),
        ("local/fail-429", True),
        ("local/fail-503", True),
        ("local/fail-529", True),
        ("local/fail-400", False),
        ("local/fail-404", False),
        ("local/fail-501", False),
    ],
)
async def test_default_codes(
    emu: Emulator, session: aiohttp.ClientSession, model: str, falls_back: bool
) -> None:
    body, headers = _form(model, [])
    status, _ = await post(session, emu.url, body, headers=headers)
    models = [attempt.model for attempt in last(emu).attempts]
    if falls_back:
        assert (status, models) == (200, [model, "local/echo"])
    else:
        assert (status, models) == (int(model[-3:]), [model])


WIRE_FORMS = {
    "repeated text parts": _codes("fallback_on_codes", "400", "404.0"),
    "repeated [] parts": _codes("fallback_on_codes[]", "400", " 404 "),
    "one JSON part": _codes("fallback_on_codes", "[400, 404]"),
    "inside orq": _orq([400, 404.0]),
}


@pytest.mark.parametrize("extra", WIRE_FORMS.values(), ids=WIRE_FORMS.keys())
async def test_given_codes_replace_the_default(
    emu: Emulator, session: aiohttp.ClientSession, extra: list[tuple[str, bytes]]
) -> None:
    body, headers = _form("local/fail-404", extra)
    assert (await post(session, emu.url, body, headers=headers))[0] == 200
    assert [a.model for a in last(emu).attempts] == ["local/fail-404", "local/echo"]
    body, headers = _form("local/fail-503", extra)  # 503 is no longer a fallback code
    assert (await post(session, emu.url, body, headers=headers))[0] == 503
    assert [a.model for a in last(emu).attempts] == ["local/fail-503"]


async def test_empty_list_means_the_default(emu: Emulator, session: aiohttp.ClientSession) -> None:
    body, headers = _form("local/fail-503", _orq([]))
    assert (await post(session, emu.url, body, headers=headers))[0] == 200


async def test_orq_codes_win_over_top_level(emu: Emulator, session: aiohttp.ClientSession) -> None:
    body, headers = _form("local/fail-404", _codes("fallback_on_codes", "404") + _orq([500]))
    assert (await post(session, emu.url, body, headers=headers))[0] == 404


BAD: list[tuple[list[tuple[str, bytes]], str]] = [
    (_codes("fallback_on_codes", "4o4"), "fallback_on_codes[0]"),
    (_codes("fallback_on_codes", "429", "600"), "fallback_on_codes[1]"),
    (_codes("fallback_on_codes[]", "429", "429.0"), "fallback_on_codes[1]"),
    (_codes("fallback_on_codes", "429.5"), "fallback_on_codes[0]"),
    (_codes("fallback_on_codes", "[429, true]"), "fallback_on_codes[1]"),
    (_codes("fallback_on_codes", "[429"), "fallback_on_codes"),
    (_codes("fallback_on_codes", *map(str, range(400, 421))), "fallback_on_codes"),
    (
        _codes("fallback_on_codes", "429") + _codes("fallback_on_codes[]", "500"),
        "fallback_on_codes",
    ),
]


@pytest.mark.parametrize(("extra", "param"), BAD, ids=[f"{i}-{p}" for i, (_, p) in enumerate(BAD)])
async def test_bad_codes_are_a_400_naming_the_field(
    emu: Emulator, session: aiohttp.ClientSession, extra: list[tuple[str, bytes]], param: str
) -> None:
    body, headers = _form("local/echo", extra)
    status, answer = await post(session, emu.url, body, headers=headers)
    assert status == 400, answer
    assert answer["error"]["param"] == param


async def test_twenty_unique_codes_are_allowed(
    emu: Emulator, session: aiohttp.ClientSession
) -> None:
    body, headers = _form("local/echo", _codes("fallback_on_codes[]", *map(str, range(400, 420))))
    assert (await post(session, emu.url, body, headers=headers))[0] == 200

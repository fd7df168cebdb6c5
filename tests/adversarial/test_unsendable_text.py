"""Issue 10, point 15: NUL and lone surrogates never reach the wire.

In any header value or name (per call, user agent), the API key (static or from a provider),
a filename or a part content type (``image`` and ``extra_files``), a NUL or a lone surrogate
is refused before sending: ``Err(InvalidRequestError)`` for headers and the key,
``Err(SDKValidationError)`` naming the field for filenames and content types. The server gets
no connection at all.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from orq_async import OrqCore
from orq_async.errors import InvalidRequestError, SDKValidationError
from orq_async.hooks import HookContext, Hooks
from orq_async.models import FileInput
from tests.adversarial._support import OFF, body, edit, err_of
from tests.conftest import PNG
from tests.reliability._support import RawServer, Seen

BAD = {"NUL": "a\x00b", "lone surrogate": "a\ud800b", "escaped byte": "a\udcffb"}


async def _ok(_n: int, _seen: Seen, _writer: asyncio.StreamWriter) -> bool:
    return False


def _provider(key: str) -> Any:
    async def provide() -> str:
        return key

    return provide


def _hook_setting(bad: str) -> Hooks:
    def hook(_ctx: HookContext, headers: Any) -> None:
        headers["X-From-Hook"] = bad

    return Hooks(before_request=[hook])


HEADER_CASES: dict[str, Callable[[str], tuple[dict[str, Any], dict[str, Any]]]] = {
    "header value": lambda bad: ({}, {"headers": {"X-Note": bad}}),
    "header name": lambda bad: ({}, {"headers": {f"X-{bad}": "v"}}),
    "user agent": lambda bad: ({"user_agent": bad}, {}),
    "api key": lambda bad: ({"api_key": f"sk-{bad}"}, {}),
    "api key from a provider": lambda bad: ({"api_key": _provider(f"sk-{bad}")}, {}),
    "header set by a hook": lambda bad: ({"hooks": _hook_setting(bad)}, {}),
}


@pytest.mark.parametrize("where", list(HEADER_CASES))
@pytest.mark.parametrize("bad", list(BAD.values()), ids=list(BAD))
async def test_headers_and_keys_with_nul_or_surrogates_are_refused(where: str, bad: str) -> None:
    """Point 15: ``Err(InvalidRequestError)``, no connection made (hook headers included)."""
    core_kw, options = HEADER_CASES[where](bad)
    async with (
        RawServer(_ok) as srv,
        OrqCore(server_url=srv.url, retry_config=OFF, **core_kw) as core,
    ):
        result = await asyncio.wait_for(edit(core, **options), 5)
    err_of(result, InvalidRequestError)
    assert srv.connections == 0


FILE_CASES: dict[str, Callable[[str], tuple[Any, dict[str, Any], str]]] = {
    "image filename": lambda bad: (body([FileInput(f"x{bad}.png", PNG)]), {}, "image[0]"),
    "image tuple filename": lambda bad: (body((f"x{bad}.png", PNG)), {}, "image"),
    "image content type": lambda bad: (
        body([FileInput("x.png", PNG, f"image/png{bad}")]),
        {},
        "image[0]",
    ),
    "extra file filename": lambda bad: (
        body(),
        {"extra_files": {"mask": FileInput(f"m{bad}.png", PNG)}},
        "options.extra_files.mask",
    ),
    "extra file content type": lambda bad: (
        body(),
        {"extra_files": {"mask": ("m.png", PNG, f"image/png{bad}")}},
        "options.extra_files.mask",
    ),
}


@pytest.mark.parametrize("where", list(FILE_CASES))
@pytest.mark.parametrize("bad", list(BAD.values()), ids=list(BAD))
async def test_file_names_and_types_with_nul_or_surrogates_are_refused(
    where: str, bad: str
) -> None:
    """Point 15: ``Err(SDKValidationError)`` naming the field, no connection made."""
    request, options, path = FILE_CASES[where](bad)
    async with (
        RawServer(_ok) as srv,
        OrqCore(server_url=srv.url, retry_config=OFF) as core,
    ):
        result = await asyncio.wait_for(edit(core, request, **options), 5)
    error = err_of(result, SDKValidationError)
    assert any(p.path == path for p in error.problems), error.problems
    assert srv.connections == 0


HUGE = 10**5000  # more digits than Python writes out as text (sys.get_int_max_str_digits)


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"timeout": {"call_timeout": HUGE}}, "timeout"),
        ({"n": HUGE}, "n"),
        ({"fallback_on_codes": [HUGE]}, "fallback_on_codes"),
        ({"orq": {"identity": {"id": "c", "metadata": [{"k": HUGE}]}}}, "orq.identity.metadata[0]"),
    ],
)
async def test_an_int_too_long_to_write_is_an_input_error(
    change: dict[str, Any], path: str
) -> None:
    """A value that validates but has no text form is refused, naming the field; never raised."""
    async with (
        RawServer(_ok) as srv,
        OrqCore(server_url=srv.url, retry_config=OFF) as core,
    ):
        result = await asyncio.wait_for(edit(core, body() | change), 5)
    error = err_of(result, SDKValidationError)
    assert [p.path for p in error.problems] == [path], error.problems
    assert srv.connections == 0

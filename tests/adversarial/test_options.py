"""Issue 10, points 3, 11 and 14: bad settings are refused where they are given.

A timeout of 0, a negative number, NaN, inf, a bool or a string must not mean "forever" (or
crash later): only ``None`` means no timeout. Every invalid number, option or URL raises a
``TypeError``/``ValueError`` naming the field when ``OrqCore(...)``, ``RequestOptions(...)``,
``RetryConfig(...)`` or ``BackoffStrategy(...)`` is built, never an ``AttributeError`` (or
anything else) from inside a call. A ``server_url`` carrying ``user:pass@`` is refused without
echoing the password.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from typing import Any, cast

import pytest

from orq_async import BackoffStrategy, Err, Ok, OrqCore, RequestOptions, RetryConfig
from orq_async.funcs.router_images_edits_create import router_images_edits_create
from tests.adversarial._support import OFF, body, edit
from tests.conftest import Server

NOT_A_DURATION = [0, -1, -0.5, math.nan, math.inf, -math.inf, True, False, "100", b"1", [1]]
NOT_A_COUNT = [-1, 1.5, math.nan, math.inf, True, "10", None]
NOT_A_CAP = [0, -1, 1.5, math.nan, math.inf, True, "1024"]


def _refused(field: str, build: Callable[[], object]) -> None:
    with pytest.raises((TypeError, ValueError)) as caught:
        build()
    assert field in str(caught.value), f"{type(caught.value).__name__}: {caught.value}"
    assert "unexpected keyword" not in str(caught.value), "the setting does not exist yet"
    assert not isinstance(caught.value, AttributeError)


@pytest.mark.parametrize("field", ["timeout_ms", "read_timeout_ms"])
@pytest.mark.parametrize("value", NOT_A_DURATION, ids=repr)
def test_a_timeout_that_is_not_a_positive_finite_number_is_refused(field: str, value: Any) -> None:
    """Point 3: 0, negatives, NaN, inf, bools and strings, on the core and per call."""
    _refused(field, lambda: OrqCore(**{field: value}))
    _refused(field, lambda: RequestOptions(**{field: value}))


@pytest.mark.parametrize("value", NOT_A_CAP, ids=repr)
def test_a_response_cap_that_is_not_a_positive_int_is_refused(value: Any) -> None:
    """Points 1 and 3: ``max_response_bytes`` is a positive int or None."""
    _refused("max_response_bytes", lambda: OrqCore(max_response_bytes=value))
    _refused("max_response_bytes", lambda: RequestOptions(max_response_bytes=value))


@pytest.mark.parametrize("field", ["limit", "limit_per_host"])
@pytest.mark.parametrize("value", [-1, 1.5, math.nan, True, "10"], ids=repr)
def test_a_pool_limit_that_is_not_a_count_is_refused(field: str, value: Any) -> None:
    """Point 3: the pool limits are ints >= 0 (0: aiohttp's "no limit")."""
    _refused(field, lambda: OrqCore(**{field: value}))


@pytest.mark.parametrize("value", NOT_A_COUNT, ids=repr)
def test_max_retries_that_is_not_a_count_is_refused(value: Any) -> None:
    """Point 3: ``RetryConfig.max_retries``."""
    _refused("max_retries", lambda: RetryConfig("backoff", max_retries=value))


@pytest.mark.parametrize(
    "field", ["initial_interval", "max_interval", "exponent", "max_elapsed_time"]
)
@pytest.mark.parametrize("value", [-1, math.nan, math.inf, True, "5", None], ids=repr)
def test_a_backoff_number_that_is_not_finite_and_positive_is_refused(
    field: str, value: Any
) -> None:
    """Point 3: every ``BackoffStrategy`` field, and through ``RetryConfig``."""
    _refused(field, lambda: BackoffStrategy(**{field: value}))


@pytest.mark.parametrize("value", ["abc", "6XXX", "", 5, [429.5], ["4X9"], [True]], ids=repr)
def test_bad_retry_codes_are_refused(value: Any) -> None:
    """Point 11: ``retry_codes`` in ``RetryConfig`` and ``RequestOptions``."""
    codes: Any = [value] if isinstance(value, str) else value
    _refused("retry_codes", lambda: RetryConfig("backoff", retry_codes=codes))
    _refused("retry_codes", lambda: RequestOptions(retry_codes=codes))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("extra_fields", {5: "x"}),
        ("extra_fields", [("note", "x")]),
        ("headers", [("X-A", "b")]),
        ("headers", "X-A: b"),
        ("retry_codes", ["abc"]),
        ("retry_codes", 5),
        ("timeout_ms", "100"),
        ("read_timeout_ms", "100"),
        ("retries", "backoff"),
        ("retries", 3),
        ("upload_progress", "print"),
        ("server_url", 5),
        ("extra_files", [("mask", b"x")]),
    ],
    ids=repr,
)
def test_malformed_options_are_refused_at_construction(field: str, value: Any) -> None:
    """Point 11: a ``TypeError``/``ValueError`` naming the field, not an error from the call."""
    _refused(field, lambda: RequestOptions(**{field: value}))


@pytest.mark.parametrize(
    ("field", "value"),
    [("headers", {"X-A": 5}), ("extra_fields", {"note": object()}), ("extra_files", {"m": 5})],
    ids=repr,
)
async def test_malformed_option_values_never_raise_from_the_call(
    server: Server, field: str, value: Any
) -> None:
    """Point 11: refused at construction, or ``Err`` from the call; never an exception."""
    try:
        options = RequestOptions(**{field: value})
    except (TypeError, ValueError) as exc:
        refused: BaseException | None = exc
    else:
        refused = None
    if refused is not None:
        assert field in str(refused)
        return
    async with OrqCore(server_url=server.url, retry_config=OFF) as core:
        result = await router_images_edits_create(core, cast("Any", body()), options)
    assert isinstance(result, Err), result
    assert not server.requests


@pytest.mark.parametrize("where", ["core", "options"])
async def test_none_means_no_timeout(server: Server, where: str) -> None:
    """Point 3: ``None`` is the one way to say "no timeout", and it works."""
    settings: dict[str, Any] = {"timeout_ms": None, "read_timeout_ms": None}
    core_kw = settings if where == "core" else {}
    call_kw = settings if where == "options" else {}
    async with OrqCore(server_url=server.url, retry_config=OFF, **core_kw) as core:
        result = await asyncio.wait_for(edit(core, **call_kw), 10)
    assert isinstance(result, Ok), result


PASSWORD = "hunter2-PASSWORD"


@pytest.mark.parametrize(
    "url",
    [
        f"http://user:{PASSWORD}@127.0.0.1:1",
        f"https://user:{PASSWORD}@my.orq.ai/",
        f"http://{PASSWORD}@127.0.0.1:1",
    ],
)
def test_credentials_in_the_server_url_are_refused_without_echoing_them(url: str) -> None:
    """Point 14: ``ValueError`` naming ``server_url`` at construction; the password stays out."""
    for build in (lambda: OrqCore(server_url=url), lambda: RequestOptions(server_url=url)):
        with pytest.raises(ValueError, match="server_url") as caught:
            build()
        assert PASSWORD not in str(caught.value)
        assert all(PASSWORD not in repr(arg) for arg in caught.value.args)

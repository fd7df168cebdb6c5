"""Gateway semantics: retries, fallbacks, timeouts, load balancer, cache, prompt store."""

from __future__ import annotations

import collections
import time
from typing import Any

import aiohttp
import pytest

from orq_async.testing import Emulator

from ._helpers import FakeClock, edit_form, last, post


def attempts(emu: Emulator) -> list[tuple[str, int]]:
    return [(a.model, a.status) for a in last(emu).attempts]


async def test_fail_model_always_fails(emu: Emulator, session: aiohttp.ClientSession) -> None:
    status, body = await post(session, emu.url, edit_form(model="local/fail-503"))
    assert status == 503
    assert body["error"]["type"] == "provider_error"
    assert attempts(emu) == [("local/fail-503", 503)]
    assert last(emu).model_used is None


async def test_retry_recovers_a_flaky_model(emu: Emulator, session: aiohttp.ClientSession) -> None:
    form = edit_form(model="local/flaky-2-503", retry={"count": 3})
    status, _ = await post(session, emu.url, form)
    assert status == 200
    assert attempts(emu) == [("local/flaky-2-503", 503)] * 2 + [("local/flaky-2-503", 200)]
    # The flaky counter is per emulator and per model: the next call succeeds at once.
    assert (await post(session, emu.url, edit_form(model="local/flaky-2-503")))[0] == 200
    assert attempts(emu) == [("local/flaky-2-503", 200)]


async def test_retries_stop_at_count(emu: Emulator, session: aiohttp.ClientSession) -> None:
    status, _ = await post(session, emu.url, edit_form(model="local/fail-502", retry={"count": 2}))
    assert status == 502
    assert attempts(emu) == [("local/fail-502", 502)] * 3


async def test_default_retry_count_is_three(emu: Emulator, session: aiohttp.ClientSession) -> None:
    form = edit_form(model="local/fail-429", retry={"on_codes": [429]})
    assert (await post(session, emu.url, form))[0] == 429
    assert len(attempts(emu)) == 4


async def test_no_retry_for_codes_outside_on_codes(
    emu: Emulator, session: aiohttp.ClientSession
) -> None:
    form = edit_form(model="local/fail-500", retry={"count": 5, "on_codes": [503]})
    assert (await post(session, emu.url, form))[0] == 500
    assert attempts(emu) == [("local/fail-500", 500)]
    form = edit_form(model="local/fail-400", retry={"count": 5})  # 400 is not a default code
    assert (await post(session, emu.url, form))[0] == 400
    assert len(attempts(emu)) == 1


async def test_without_retry_option_there_is_one_call(
    emu: Emulator, session: aiohttp.ClientSession
) -> None:
    assert (await post(session, emu.url, edit_form(model="local/flaky-1-503")))[0] == 503
    assert len(attempts(emu)) == 1


async def test_fallbacks_in_order(emu: Emulator, session: aiohttp.ClientSession) -> None:
    fallbacks = [{"model": "local/fail-502"}, {"model": "local/echo"}, {"model": "local/fail-500"}]
    form = edit_form(model="local/fail-503", fallbacks=fallbacks)
    assert (await post(session, emu.url, form))[0] == 200
    assert attempts(emu) == [("local/fail-503", 503), ("local/fail-502", 502), ("local/echo", 200)]
    assert last(emu).model_used == "local/echo"


async def test_all_failing_answers_the_last_status(
    emu: Emulator, session: aiohttp.ClientSession
) -> None:
    fallbacks = [{"model": "local/fail-502"}, {"model": "local/fail-404"}]
    form = edit_form(model="local/fail-503", fallbacks=fallbacks, retry={"count": 1})
    status, body = await post(session, emu.url, form)
    assert status == 404
    assert "local/fail-404" in body["error"]["message"]
    assert attempts(emu) == [
        ("local/fail-503", 503),
        ("local/fail-503", 503),
        ("local/fail-502", 502),
        ("local/fail-502", 502),
        ("local/fail-404", 404),
    ]
    assert last(emu).model_used is None


async def test_slow_model_answers_after_its_delay(
    emu: Emulator, session: aiohttp.ClientSession
) -> None:
    started = time.perf_counter()
    assert (await post(session, emu.url, edit_form(model="local/slow-120")))[0] == 200
    assert time.perf_counter() - started >= 0.12
    assert last(emu).attempts[0].latency_ms >= 120


async def test_call_timeout_cuts_off_then_retries_and_falls_back(
    emu: Emulator, session: aiohttp.ClientSession
) -> None:
    form = edit_form(
        model="local/slow-5000",
        timeout={"call_timeout": 50},
        retry={"count": 1},
        fallbacks=[{"model": "local/echo"}],
    )
    started = time.perf_counter()
    status, _ = await post(session, emu.url, form)
    assert status == 200
    assert time.perf_counter() - started < 2
    assert attempts(emu) == [
        ("local/slow-5000", 504),
        ("local/slow-5000", 504),
        ("local/echo", 200),
    ]
    assert all(45 <= a.latency_ms < 1000 for a in last(emu).attempts[:2])


async def test_call_timeout_alone_answers_504(
    emu: Emulator, session: aiohttp.ClientSession
) -> None:
    form = edit_form(model="local/slow-5000", timeout={"call_timeout": 30})
    status, body = await post(session, emu.url, form)
    assert status == 504
    assert "30 ms" in body["error"]["message"]


async def test_load_balancer_splits_by_weight(session: aiohttp.ClientSession) -> None:
    balancer = {
        "type": "weight_based",
        "models": [{"model": "a/model", "weight": 3}, {"model": "b/model", "weight": 1}],
    }
    async with Emulator(seed=42) as emu:
        for _ in range(300):
            status, _ = await post(session, emu.url, edit_form(load_balancer=balancer))
            assert status == 200
        counts = collections.Counter(t.model_used for t in emu.traces)
        assert set(counts) == {"a/model", "b/model"}
        assert 225 - 30 <= counts["a/model"] <= 225 + 30
        assert all(t.model_requested == "local/echo" for t in emu.traces)
    async with Emulator(seed=42) as again:
        for _ in range(300):
            await post(session, again.url, edit_form(load_balancer=balancer))
        assert [t.model_used for t in again.traces] == [t.model_used for t in emu.traces]


async def test_load_balancer_default_weight_and_fallback(
    emu: Emulator, session: aiohttp.ClientSession
) -> None:
    balancer = {"type": "weight_based", "models": [{"model": "local/fail-503"}]}
    form = edit_form(load_balancer=balancer, fallbacks=[{"model": "local/echo"}])
    assert (await post(session, emu.url, form))[0] == 200
    assert attempts(emu) == [("local/fail-503", 503), ("local/echo", 200)]


async def test_cache_hit_miss_and_expiry(session: aiohttp.ClientSession) -> None:
    clock = FakeClock()
    cache = {"type": "exact_match", "ttl": 60}
    async with Emulator(clock=clock) as emu:
        first = await post(session, emu.url, edit_form(n=2, cache=cache))
        assert first[0] == 200
        assert last(emu).cache_hit is False
        # ttl, name, user and identity are not part of the key.
        again = edit_form(
            n=2,
            cache={"type": "exact_match", "ttl": 5},
            user="u1",
            name="other",
            orq={"identity": {"id": "c1"}},
        )
        assert await post(session, emu.url, again) == first
        assert last(emu).cache_hit is True
        assert last(emu).attempts == ()
        assert last(emu).model_used == "local/echo"
        for changed in (
            edit_form(n=3, cache=cache),
            edit_form(n=2, prompt="another prompt", cache=cache),
            edit_form(n=2, model="other/model", cache=cache),
            edit_form(n=2, cache=cache, size="2x2"),
            edit_form(n=2, cache=cache, retry={"count": 1}),
            edit_form(n=2),  # no cache option: neither read nor written
        ):
            assert (await post(session, emu.url, changed))[0] == 200
            assert last(emu).cache_hit is False
        clock.now += 59.9
        assert await post(session, emu.url, edit_form(n=2, cache=cache)) == first
        assert last(emu).cache_hit is True
        clock.now += 0.1
        assert (await post(session, emu.url, edit_form(n=2, cache=cache)))[0] == 200
        assert last(emu).cache_hit is False


async def test_failures_are_not_cached(emu: Emulator, session: aiohttp.ClientSession) -> None:
    cache = {"type": "exact_match"}
    form = edit_form(model="local/flaky-1-503", cache=cache)
    assert (await post(session, emu.url, form))[0] == 503
    form = edit_form(model="local/flaky-1-503", cache=cache)
    assert (await post(session, emu.url, form))[0] == 200
    assert last(emu).cache_hit is False


async def test_prompt_store(session: aiohttp.ClientSession) -> None:
    async with Emulator(prompts={"p_1": "make it blue"}) as emu:
        orq = {"prompt": {"id": "p_1", "version": "latest"}}
        status, body = await post(session, emu.url, edit_form(prompt="", orq=orq))
        assert status == 200
        assert (last(emu).prompt, last(emu).prompt_id) == ("make it blue", "p_1")
        assert body["usage"]["input_tokens_details"]["text_tokens"] == 3
        await post(session, emu.url, edit_form(prompt="mine wins", orq=orq))
        assert last(emu).prompt == "mine wins"
        missing = {"prompt": {"id": "p_404", "version": "latest"}}
        status, body = await post(session, emu.url, edit_form(orq=missing))
        assert status == 404
        assert body["error"]["param"] == "orq.prompt.id"
        assert "p_404" in body["error"]["message"]


@pytest.mark.parametrize("where", ["top", "orq"])
async def test_orq_options_win_over_top_level(
    emu: Emulator, session: aiohttp.ClientSession, where: str
) -> None:
    strong: dict[str, Any] = {
        "retry": {"count": 3},
        "fallbacks": [{"model": "local/echo"}],
        "name": "inner",
    }
    weak: dict[str, Any] = {
        "retry": {"count": 1},
        "fallbacks": [{"model": "local/fail-500"}],
        "name": "outer",
    }
    top, inner = (weak, strong) if where == "orq" else (strong, {})
    form = edit_form(model="local/flaky-3-503", orq=inner, **top)
    assert (await post(session, emu.url, form))[0] == 200
    assert attempts(emu) == [("local/flaky-3-503", 503)] * 3 + [("local/flaky-3-503", 200)]
    assert last(emu).name == "inner"


async def test_orq_retry_replaces_top_level_retry_whole(
    emu: Emulator, session: aiohttp.ClientSession
) -> None:
    form = edit_form(
        model="local/fail-418",
        retry={"count": 2, "on_codes": [418]},
        orq={"retry": {"count": 2}},  # default on_codes: 418 is not retried
    )
    assert (await post(session, emu.url, form))[0] == 418
    assert len(attempts(emu)) == 1

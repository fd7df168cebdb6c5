"""Admission to the connection pool: more calls than connections wait their turn, in order,
before their body is prepared, at most their timeout; cancelling or closing leaks no slot.

Real servers on 127.0.0.1 that hold each request until the test lets it go.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from orq_async import Ok, OrqCore
from orq_async._admission import PACING, Admission, Hold, Refused, runs_here
from orq_async._pipeline import _CLIPPED, clipped_timeout  # pyright: ignore[reportPrivateUsage]
from orq_async.errors import APIConnectionError, APITimeoutError, SDKValidationError
from orq_async.funcs.router_images_edits_create import router_images_edits_create
from orq_async.options import RequestOptions
from tests.adversarial._support import OFF, ON, body, err_of
from tests.conftest import OK_BODY, parse_multipart

pytestmark = pytest.mark.filterwarnings("error::ResourceWarning")


class HoldingServer:
    """Answers each request once ``release`` is set (or after ``hold`` seconds); records the
    prompts in arrival order and the most requests it held at once."""

    def __init__(self, hold: float | None = None) -> None:
        self.hold = hold
        self.release = asyncio.Event()
        self.prompts: list[str] = []
        self.held = 0
        self.most_held = 0
        self.url = ""
        self.changed = asyncio.Event()

    async def until(self, condition: Any, timeout: float = 5.0) -> None:
        """Wait until ``condition()`` holds, checked each time a request arrives or ends."""
        while not condition():
            self.changed.clear()
            await asyncio.wait_for(self.changed.wait(), timeout)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        parts = parse_multipart(request.headers["Content-Type"], raw)
        self.prompts.append(next(p.text for p in parts if p.name == "prompt"))
        self.held += 1
        self.most_held = max(self.most_held, self.held)
        self.changed.set()
        try:
            if self.hold is None:
                await self.release.wait()
            else:
                await asyncio.sleep(self.hold)
        finally:
            self.held -= 1
            self.changed.set()
        return web.json_response(OK_BODY)


@contextlib.asynccontextmanager
async def serving(handle: Any) -> AsyncIterator[str]:
    """Serve ``handle`` for the edits path on 127.0.0.1 until the block ends; yields the URL."""
    app = web.Application()
    app.router.add_post("/v2/router/images/edits", handle)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


@pytest.fixture
async def holding() -> AsyncIterator[HoldingServer]:
    srv = HoldingServer()
    try:
        async with serving(srv.handle) as srv.url:
            yield srv
    finally:
        srv.release.set()


def _call(
    core: OrqCore, prompt: str, image: Any = None, options: RequestOptions | None = None
) -> asyncio.Task[Any]:
    request = body() if image is None else body(image)
    request["prompt"] = prompt
    return asyncio.create_task(router_images_edits_create(core, request, options))


async def test_calls_beyond_the_pool_wait_their_turn_in_arrival_order(
    holding: HoldingServer,
) -> None:
    async with OrqCore(server_url=holding.url, retry_config=OFF, limit=2) as core:
        calls = []
        for i in range(7):
            calls.append(_call(core, f"p{i}"))
            await asyncio.sleep(0.002)  # a known arrival order
        await holding.until(lambda: len(holding.prompts) == 2)
        await asyncio.sleep(0.05)
        assert holding.prompts == ["p0", "p1"], "only the pool's two calls reach the server"
        holding.release.set()
        results = await asyncio.wait_for(asyncio.gather(*calls), 10)
    assert all(isinstance(r, Ok) for r in results), results
    assert holding.most_held == 2
    assert holding.prompts == [f"p{i}" for i in range(7)], "first come, first served"


async def test_a_waiting_call_has_not_prepared_its_body(
    holding: HoldingServer, tmp_path: Any
) -> None:
    """The queue is before preparation: a file given as a path is only opened once admitted
    (so a fan-out of thousands holds no prepared bodies), and validation still runs."""
    image = tmp_path / "later.png"
    async with OrqCore(server_url=holding.url, retry_config=OFF, limit=1) as core:
        first = _call(core, "first")
        await holding.until(lambda: holding.prompts == ["first"])
        waiting = _call(core, "second", image)  # does not exist yet
        await asyncio.sleep(0.05)
        assert not waiting.done()
        image.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))  # exists by the time it is admitted
        holding.release.set()
        results = await asyncio.wait_for(asyncio.gather(first, waiting), 10)
    assert all(isinstance(r, Ok) for r in results), results
    assert holding.prompts == ["first", "second"]


async def test_a_bad_body_waiting_its_turn_still_gets_its_validation_error(
    holding: HoldingServer,
) -> None:
    async with OrqCore(server_url=holding.url, retry_config=OFF, limit=1) as core:
        first = _call(core, "first")
        await holding.until(lambda: holding.prompts == ["first"])
        bad = asyncio.create_task(router_images_edits_create(core, {"prompt": "no model"}))
        await asyncio.sleep(0.05)
        holding.release.set()
        result = await asyncio.wait_for(bad, 10)
        await first
    error = err_of(result, SDKValidationError)
    assert any(p.path == "model" for p in error.problems)


async def test_the_wait_is_bounded_by_the_calls_timeout_and_sends_nothing(
    holding: HoldingServer,
) -> None:
    async with OrqCore(server_url=holding.url, retry_config=OFF, limit=1, timeout_ms=200) as core:
        first = _call(core, "first", options=RequestOptions(timeout_ms=10_000))
        await holding.until(lambda: holding.prompts == ["first"])
        second = await asyncio.wait_for(_call(core, "second"), 5)
        assert not first.done(), "the queued call ended on its own timeout, not the first's"
        error = err_of(second, APITimeoutError)
        assert "no pooled connection became free within 0.2 s" in error.message
        assert second.meta.attempts == 0
        holding.release.set()
        await first
    assert holding.prompts == ["first"], "the timed-out call sent nothing"


async def test_the_wait_counts_in_the_first_attempts_timeout() -> None:
    """Held 0.8 s each, timeout 1.2 s: the second call waited ~0.8 s for the connection, so
    its attempt has ~0.4 s left and times out (with no clipping it would have succeeded)."""
    srv = HoldingServer(hold=0.8)
    async with (
        serving(srv.handle) as url,
        OrqCore(server_url=url, retry_config=OFF, limit=1, timeout_ms=1200) as core,
    ):
        first = _call(core, "first")
        await srv.until(lambda: srv.prompts == ["first"])
        second = await asyncio.wait_for(_call(core, "second"), 5)
        assert isinstance(await first, Ok)
    error = err_of(second, APITimeoutError)
    assert "no complete response" in error.message, error.message
    assert second.meta.attempts == 1
    assert srv.prompts == ["first", "second"]


async def test_runs_here_tells_this_threads_running_loop_from_any_other() -> None:
    running = asyncio.get_running_loop()
    assert runs_here(running)
    idle = asyncio.new_event_loop()
    try:
        assert not runs_here(idle), "a loop that is not running"
    finally:
        idle.close()
    elsewhere = asyncio.new_event_loop()
    started = threading.Event()
    elsewhere.call_soon(started.set)
    thread = threading.Thread(target=elsewhere.run_forever)
    thread.start()
    try:
        assert await asyncio.to_thread(started.wait, 5)
        assert elsewhere.is_running()
        assert not runs_here(elsewhere), "a loop running in another thread"
    finally:
        elsewhere.call_soon_threadsafe(elsewhere.stop)
        thread.join(5)
        elsewhere.close()


def test_a_clipped_timeout_rounds_down_to_the_millisecond_and_is_shared() -> None:
    """Calls whose first attempts end in the same millisecond share one ``ClientTimeout``;
    the clip never lengthens what is left, and never reaches zero (aiohttp's "no timeout")."""
    first = clipped_timeout(12.3456, None)
    assert first.total == 12.345
    assert first.sock_read is None
    assert clipped_timeout(12.3459, None) is first
    assert clipped_timeout(12.3459, 5.0) is not first
    assert clipped_timeout(12.3459, 5.0).sock_read == 5.0
    assert clipped_timeout(0.0004, None).total == 0.001
    assert clipped_timeout(-3.0, None).total == 0.001
    for ms in range(1000):  # many distinct deadlines: the cache stays bounded
        assert clipped_timeout(1 + (ms + 0.5) / 1000, None).total == (1000 + ms) / 1000
    assert len(_CLIPPED) <= 256  # pyright: ignore[reportPrivateUsage]


async def test_cancelling_a_waiting_call_leaks_no_slot(holding: HoldingServer) -> None:
    async with OrqCore(server_url=holding.url, retry_config=OFF, limit=1) as core:
        first = _call(core, "first")
        await holding.until(lambda: holding.prompts == ["first"])
        doomed = _call(core, "doomed")
        after = _call(core, "after")
        await asyncio.sleep(0.05)
        doomed.cancel()
        with pytest.raises(asyncio.CancelledError):
            await doomed
        holding.release.set()
        results = await asyncio.wait_for(asyncio.gather(first, after), 10)
        assert all(isinstance(r, Ok) for r in results), results
        last = await asyncio.wait_for(_call(core, "last"), 10)
        assert isinstance(last, Ok)
        admission = core._admission  # pyright: ignore[reportPrivateUsage]
        assert admission is not None
        assert (admission.free, admission.waiting) == (1, 0)
    assert holding.prompts == ["first", "after", "last"]


async def test_closing_the_core_ends_waiting_calls_with_err(holding: HoldingServer) -> None:
    core = OrqCore(server_url=holding.url, retry_config=OFF, limit=1, timeout_ms=20_000)
    first = _call(core, "first")
    await holding.until(lambda: holding.prompts == ["first"])
    waiting = [_call(core, f"w{i}") for i in range(3)]
    await asyncio.sleep(0.05)
    await core.aclose()
    results = await asyncio.wait_for(asyncio.gather(first, *waiting), 5)
    for result in results[1:]:
        error = err_of(result, APIConnectionError)
        assert "closed" in error.message
    assert holding.prompts == ["first"]


async def test_a_caller_session_pool_is_respected_and_an_unlimited_pool_has_no_queue(
    holding: HoldingServer,
) -> None:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=3)) as session:
        core = OrqCore(server_url=holding.url, retry_config=OFF, session=session)
        calls = [_call(core, f"s{i}") for i in range(5)]
        await holding.until(lambda: len(holding.prompts) == 3)
        await asyncio.sleep(0.05)
        assert len(holding.prompts) == 3
        holding.release.set()
        assert all(isinstance(r, Ok) for r in await asyncio.gather(*calls))
        await core.aclose()
    holding.release.clear()
    async with OrqCore(server_url=holding.url, retry_config=OFF, limit=None) as unlimited:
        calls = [_call(unlimited, f"u{i}") for i in range(5)]
        await holding.until(lambda: holding.held == 5)
        holding.release.set()
        assert all(isinstance(r, Ok) for r in await asyncio.gather(*calls))
        assert unlimited._admission is None  # pyright: ignore[reportPrivateUsage]


async def test_a_slot_granted_to_a_call_cancelled_before_it_ran_goes_to_the_next() -> None:
    admission = Admission(1, asyncio.get_running_loop())
    assert admission.enter()
    first = asyncio.create_task(admission.wait(None))
    second = asyncio.create_task(admission.wait(None))
    await asyncio.sleep(0)  # both queued
    assert admission.waiting == 2
    admission.leave()  # granted to ``first``...
    first.cancel()  # ...which is cancelled before it runs
    with pytest.raises(asyncio.CancelledError):
        await first
    assert await asyncio.wait_for(second, 1) is None, "the slot passed on"
    assert admission.free == 0
    admission.leave()
    assert admission.free == 1


async def test_an_expired_wait_is_skipped_and_close_refuses_later_waits() -> None:
    admission = Admission(1, asyncio.get_running_loop())
    assert admission.enter()
    assert await admission.wait(0.01) is Refused.TIMED_OUT
    later = asyncio.create_task(admission.wait(None))
    await asyncio.sleep(0)
    admission.leave()  # skips the expired waiter, grants ``later``
    assert await asyncio.wait_for(later, 1) is None
    admission.close()
    assert await admission.wait(None) is Refused.CLOSED


async def test_one_timer_serves_waits_of_different_timeouts_in_deadline_order() -> None:
    """A later wait with a shorter timeout still ends on time; the longer one after it."""
    loop = asyncio.get_running_loop()
    admission = Admission(1, loop)
    assert admission.enter()
    started = loop.time()
    long = asyncio.create_task(admission.wait(0.3))
    await asyncio.sleep(0)
    short = asyncio.create_task(admission.wait(0.05))
    never = asyncio.create_task(admission.wait(None))
    assert await asyncio.wait_for(short, 2) is Refused.TIMED_OUT
    assert not long.done(), "the short wait ended first"
    assert loop.time() - started < 0.3
    assert await asyncio.wait_for(long, 2) is Refused.TIMED_OUT
    assert not never.done()
    admission.leave()  # skips both expired waits
    assert await asyncio.wait_for(never, 1) is None


async def test_a_call_sleeping_before_a_retry_lets_a_waiting_call_through() -> None:
    """``limit=1``: A is refused (503) and backs off; B, waiting, is admitted meanwhile and
    served; then A takes a slot again and retries. A backoff never idles the connection."""
    order: list[str] = []
    slept = asyncio.Event()
    wake = asyncio.Event()

    async def controlled_sleep(_seconds: float) -> None:
        slept.set()
        await wake.wait()

    async def handle(request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        parts = parse_multipart(request.headers["Content-Type"], raw)
        prompt = next(p.text for p in parts if p.name == "prompt")
        order.append(prompt)
        if order.count("A") == 1 and prompt == "A":
            return web.json_response({"error": "busy"}, status=503)
        return web.json_response(OK_BODY)

    async with (
        serving(handle) as url,
        OrqCore(server_url=url, retry_config=ON, limit=1, sleep=controlled_sleep) as core,
    ):
        a = _call(core, "A")
        await asyncio.wait_for(slept.wait(), 5)  # A is in its backoff
        b = await asyncio.wait_for(_call(core, "B"), 5)  # admitted meanwhile
        assert isinstance(b, Ok)
        wake.set()
        result = await asyncio.wait_for(a, 5)
        assert isinstance(result, Ok)
        assert result.meta.attempts == 2
        admission = core._admission  # pyright: ignore[reportPrivateUsage]
        assert admission is not None
        assert admission.free == 1
    assert order == ["A", "B", "A"]


async def test_a_retake_goes_ahead_of_calls_waiting_to_start() -> None:
    admission = Admission(1, asyncio.get_running_loop())
    assert admission.enter()
    newcomer = asyncio.create_task(admission.wait(None))
    await asyncio.sleep(0)
    hold = Hold(admission, asyncio.sleep, None)
    pausing = asyncio.create_task(hold.pause(0))  # gives the slot to ``newcomer``...
    assert await asyncio.wait_for(newcomer, 1) is None
    later = asyncio.create_task(admission.wait(None))
    await asyncio.sleep(0.01)  # ...``pausing`` is now queued to retake, ``later`` behind it
    admission.leave()  # the newcomer ends
    await asyncio.wait_for(pausing, 1)
    assert hold.held
    assert not later.done(), "the retake went first"
    hold.release()
    assert await asyncio.wait_for(later, 1) is None
    hold.release()  # idempotent
    assert admission.free == 0


@contextlib.contextmanager
def _collector_off() -> Iterator[None]:
    """The young-generation count moves only by allocations and frees (no collection)."""
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


async def test_a_handoff_is_paced_from_the_releasing_step_to_the_admitted_one() -> None:
    """The collector's count goes up by the pacing objects when a slot is handed over and
    back down when the admitted call runs, so the releasing call's frees are counted (they
    would fall on a count at zero) and the admitted call's allocations offset."""
    admission = Admission(1, asyncio.get_running_loop())
    assert admission.enter()
    waiting = asyncio.create_task(admission.wait(None))
    await asyncio.sleep(0)
    with _collector_off():
        before = gc.get_count()[0]
        admission.leave()  # the releasing step
        handed = gc.get_count()[0]
        assert await waiting is None  # the admitted step
        after = gc.get_count()[0]
    assert handed - before >= PACING
    assert after - handed <= -PACING + 10  # a few objects of the task's own wake-up


async def test_pacing_stays_bounded_and_is_dropped_once_every_slot_is_back() -> None:
    """Granted waiters cancelled before they run leave their pacing behind: never more than
    one per slot, and none once every slot is back (nothing left to pace)."""
    admission = Admission(2, asyncio.get_running_loop())
    pacing = admission._pacing  # pyright: ignore[reportPrivateUsage]
    assert admission.enter()
    assert admission.enter()
    for _ in range(5):  # each round: two granted, cancelled before they run
        waits = [asyncio.create_task(admission.wait(None)) for _ in range(4)]
        await asyncio.sleep(0)
        admission.leave()
        admission.leave()
        for task in waits[:2]:
            task.cancel()
        await asyncio.gather(*waits[:2], return_exceptions=True)
        assert await asyncio.wait_for(asyncio.gather(*waits[2:]), 1) == [None, None]
        assert len(pacing) <= admission.size, "at most one pacing per slot is kept"
    last = asyncio.create_task(admission.wait(None))
    await asyncio.sleep(0)
    admission.leave()  # granted to ``last`` (with its pacing)...
    last.cancel()  # ...cancelled before it ran: the slot goes back, nobody waits
    await asyncio.gather(last, return_exceptions=True)
    assert pacing, "the cancelled waiter's pacing is still there"
    admission.leave()  # every slot back
    assert admission.free == 2
    assert not pacing, "the leftover pacing is dropped"


async def test_a_refused_waiter_leaves_the_pacing_to_an_admitted_one() -> None:
    """A wait that ends refused while a handoff's pacing is pending does not drop it: only
    the admitted call's step does. Ordered so that the refused waiter runs first: its
    deadline and the handoff fall due in one loop iteration, the deadline first."""
    loop = asyncio.get_running_loop()
    admission = Admission(1, loop)
    pacing = admission._pacing  # pyright: ignore[reportPrivateUsage]
    seen: list[tuple[Refused | None, int]] = []

    async def refused_then_look() -> None:
        refused = await admission.wait(0.001)
        seen.append((refused, len(pacing)))  # in the refused waiter's own step

    assert admission.enter()
    expiring = asyncio.create_task(refused_then_look())
    await asyncio.sleep(0)
    admitted = asyncio.create_task(admission.wait(None))
    await asyncio.sleep(0)
    loop.call_later(0.002, admission.leave)  # after the deadline: skips it, grants ``admitted``
    time.sleep(0.01)  # noqa: ASYNC251 (blocks the loop on purpose: one iteration runs both)
    await expiring
    assert seen == [(Refused.TIMED_OUT, 1)], "the refused waiter left the pacing alone"
    assert await admitted is None
    assert not pacing, "the admitted call dropped it"

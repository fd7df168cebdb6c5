"""``edit_many`` against the emulator and loopback servers: completion order, bounds, cleanup."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any, cast

import pytest
from aiohttp import web

from orq_async import Err, Ok, OrqCore
from orq_async.batch import edit_many
from orq_async.errors import SDKValidationError
from orq_async.models.dicts import CreateImageEditRequestDict
from orq_async.testing import Emulator

from .conftest import OK_BODY, PNG, Recorded, Server


def body(prompt: str = "p", model: str = "openai/gpt-image-1") -> CreateImageEditRequestDict:
    return {"model": model, "prompt": prompt, "image": PNG}


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator() as emulator:
        yield emulator


@pytest.fixture
async def core(emu: Emulator) -> AsyncIterator[OrqCore]:
    async with OrqCore(server_url=emu.url) as c:
        yield c


def client_tasks(before: set[asyncio.Task[Any]]) -> set[asyncio.Task[Any]]:
    """Tasks started since ``before``, but for the loopback server's own handlers."""
    return {
        t
        for t in asyncio.all_tasks() - before
        if not getattr(t.get_coro(), "__qualname__", "").startswith("RequestHandler")
    }


class Gate:
    """A reply that holds each request until released, counting requests in flight."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.peak = 0
        self.arrived = 0
        self.open = asyncio.Event()
        self.finished = 0
        self._changed = asyncio.Condition()

    async def arrivals(self, n: int) -> None:
        async with self._changed:
            await self._changed.wait_for(lambda: self.arrived >= n)

    async def __call__(self, _rec: Recorded) -> web.StreamResponse:
        async with self._changed:
            self.arrived += 1
            self._changed.notify_all()
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await self.open.wait()
        finally:
            self.in_flight -= 1
        self.finished += 1
        return web.json_response(OK_BODY)


@pytest.fixture
def gate(server: Server) -> Iterator[Gate]:
    g = Gate()
    server.default = lambda: web.json_response(OK_BODY)
    server.replies.extend([g] * 1000)
    yield g
    g.open.set()  # let the server's handlers end before it is torn down


async def test_every_body_comes_back_once_with_its_index(core: OrqCore, emu: Emulator) -> None:
    results = {i: r async for i, r in edit_many(core, [body(f"p{i}") for i in range(20)])}
    assert sorted(results) == list(range(20))
    assert all(isinstance(r, Ok) for r in results.values())
    assert sorted(t.prompt or "" for t in emu.traces) == sorted(f"p{i}" for i in range(20))


async def test_an_async_iterable_of_bodies(core: OrqCore) -> None:
    async def bodies() -> AsyncIterator[CreateImageEditRequestDict]:
        for i in range(5):
            await asyncio.sleep(0)
            yield body(f"p{i}")

    got = [i async for i, r in edit_many(core, bodies(), concurrency=2) if isinstance(r, Ok)]
    assert sorted(got) == [0, 1, 2, 3, 4]


async def test_a_failure_is_a_result_at_its_index(core: OrqCore) -> None:
    no_prompt = cast(CreateImageEditRequestDict, {"model": "openai/gpt-image-1"})
    bodies = [body(), no_prompt, body(model="local/fail-500")]
    results = dict([item async for item in edit_many(core, bodies, concurrency=3)])
    assert isinstance(results[0], Ok)
    match results[1]:
        case Err(SDKValidationError() as e):
            assert "prompt" in str(e)
        case other:
            pytest.fail(f"expected a validation error, got {other!r}")
    assert isinstance(results[2], Err)


async def test_results_come_in_completion_order(server: Server) -> None:
    release_first = asyncio.Event()

    async def slow(_rec: Recorded) -> web.StreamResponse:
        await release_first.wait()
        return web.json_response(OK_BODY)

    server.reply(slow)
    order: list[int] = []
    async with OrqCore(server_url=server.url) as core:
        async for i, _ in edit_many(core, [body() for _ in range(4)], concurrency=4):
            order.append(i)
            if len(order) == 3:
                release_first.set()
    assert order == [1, 2, 3, 0]


async def test_at_most_concurrency_in_flight_and_lazy_reading(server: Server, gate: Gate) -> None:
    read = 0

    def bodies() -> Iterator[CreateImageEditRequestDict]:
        nonlocal read
        for _ in range(30):
            read += 1
            yield body()

    async with OrqCore(server_url=server.url) as core:
        results = edit_many(core, bodies(), concurrency=3)
        first = asyncio.ensure_future(anext(results))
        await gate.arrivals(3)
        assert (gate.in_flight, read) == (3, 3)  # blocked in the wait: nothing more read
        gate.open.set()
        items = [await first] + [item async for item in results]
        assert sorted(i for i, _ in items) == list(range(30))
    assert gate.peak == 3
    assert read == 30


async def test_cancelling_the_consumer_cancels_what_is_in_flight(
    server: Server, gate: Gate
) -> None:
    async with OrqCore(server_url=server.url) as core:

        async def consume() -> None:
            async for _ in edit_many(core, [body() for _ in range(10)], concurrency=4):
                pass

        before = asyncio.all_tasks()
        consumer = asyncio.create_task(consume())
        await gate.arrivals(4)
        consumer.cancel()
        with pytest.raises(asyncio.CancelledError):
            await consumer
        assert client_tasks(before) == set(), "a call outlived the consumer"
        assert gate.arrived == 4
        assert gate.finished == 0


async def test_closing_early_cancels_in_flight_and_closes_the_source(
    server: Server, gate: Gate
) -> None:
    closed = False

    async def bodies() -> AsyncIterator[CreateImageEditRequestDict]:
        nonlocal closed
        try:
            for _ in range(100):
                yield body()
        finally:
            closed = True

    server.replies.insert(0, lambda _rec: _ok())
    async with OrqCore(server_url=server.url) as core:
        before = asyncio.all_tasks()
        async with contextlib.aclosing(edit_many(core, bodies(), concurrency=3)) as results:
            async for index, result in results:
                assert (index, isinstance(result, Ok)) == (0, True)
                break
        assert client_tasks(before) == set()
    assert closed
    assert gate.arrived == 2  # calls 1 and 2, cancelled; none started after the break
    assert gate.finished == 0


async def _ok() -> web.StreamResponse:
    return web.json_response(OK_BODY)


async def test_an_exception_from_the_source_cancels_the_rest(server: Server, gate: Gate) -> None:
    def bodies() -> Iterator[CreateImageEditRequestDict]:
        yield body()
        yield body()
        raise OSError("the manifest vanished")

    async with OrqCore(server_url=server.url) as core:
        before = asyncio.all_tasks()
        with pytest.raises(OSError, match="manifest"):
            async for _ in edit_many(core, bodies(), concurrency=4):
                pass
        assert client_tasks(before) == set()


@pytest.mark.parametrize(
    ("concurrency", "error"),
    [(0, ValueError), (-3, ValueError), (True, TypeError), (2.5, TypeError), ("8", TypeError)],
)
async def test_bad_concurrency_is_refused_at_the_call(
    core: OrqCore, concurrency: Any, error: type[Exception]
) -> None:
    with pytest.raises(error, match=r"concurrency must be an int >= 1, got"):
        edit_many(core, [body()], concurrency=concurrency)


@pytest.mark.parametrize("bad", [body(), "prompts.jsonl", b"x", 42])
async def test_bodies_must_be_an_iterable_of_bodies(core: OrqCore, bad: Any) -> None:
    with pytest.raises(TypeError, match="bodies must be an iterable"):
        edit_many(core, bad)


async def test_core_must_be_a_core() -> None:
    with pytest.raises(TypeError, match="core must be an OrqCore"):
        edit_many(object(), [body()])  # type: ignore[arg-type]


async def test_no_bodies_no_results(core: OrqCore) -> None:
    assert [item async for item in edit_many(core, [])] == []


def test_importing_the_operation_does_not_import_the_batch_helper() -> None:
    code = (
        "import sys\n"
        "import orq_async.funcs.router_images_edits_create\n"
        "assert 'orq_async.batch' not in sys.modules, 'batch imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)

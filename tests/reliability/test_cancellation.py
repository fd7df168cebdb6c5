"""Cancelling a call (task.cancel() or asyncio.timeout()) in each phase leaves nothing behind.

Phases: waiting for a TCP connect that never completes, waiting for a pool slot, uploading,
reading the response, and sleeping between retries. After each: the caller sees
``CancelledError`` (or ``TimeoutError`` from its own ``asyncio.timeout``), the connector holds no
acquired connection, the image file is closed, descriptors return to their level, and the same
core goes on working.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from orq_async import BackoffStrategy, Ok, OrqCore, RequestOptions, RetryConfig
from orq_async.funcs.router_images_edits_create import router_images_edits_create
from tests.conftest import OK_BODY, PNG
from tests.reliability._support import (
    RawServer,
    RecordingSleep,
    Seen,
    fds_to,
    http_response,
    open_fd_count,
    pool,
    settle,
    settle_ticks,
    stable_fd_count,
)

OK_JSON = json.dumps(OK_BODY).encode()
RETRY_SLOWLY = RetryConfig("backoff", BackoffStrategy(30_000, 30_000, 1.0, 600_000))


async def _ok(_n: int, _seen: Seen, writer: asyncio.StreamWriter) -> bool:
    writer.write(http_response(200, OK_JSON))
    await writer.drain()
    return False


async def _stall(_n: int, seen: Seen, _writer: asyncio.StreamWriter) -> bool:
    await seen.until_disconnected()
    return False


async def _half_body_then_stall(_n: int, seen: Seen, writer: asyncio.StreamWriter) -> bool:
    writer.write(http_response(200, OK_JSON[:10], length=len(OK_JSON)))
    await writer.drain()
    await seen.until_disconnected()
    return False


async def _rate_limited(_n: int, _seen: Seen, writer: asyncio.StreamWriter) -> bool:
    writer.write(http_response(429, b'{"error": "slow down"}', headers={"Retry-After": "30"}))
    await writer.drain()
    return False


@contextlib.asynccontextmanager
async def _never_accepting() -> AsyncIterator[str]:
    """A port whose accept queue is full: a new TCP connect hangs (SYNs are dropped)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    try:
        for _ in range(4):
            filler = socket.socket()
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                filler.connect(("127.0.0.1", port))
            fillers.append(filler)
        await asyncio.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


Phase = Callable[[OrqCore, Path, Callable[[Any], asyncio.Task[Any]]], Awaitable[None]]


class Interrupt:
    """Starts the call as a task and interrupts it with ``cancel()`` or an expiring timeout."""

    def __init__(self, how: str) -> None:
        self.how = how
        self.scope: Any = None

    def start(self, coro: Awaitable[Any]) -> asyncio.Task[Any]:
        async def run() -> Any:
            if self.how == "cancel":
                return await coro
            async with asyncio.timeout(None) as scope:  # type: ignore[attr-defined]
                self.scope = scope
                return await coro

        return asyncio.create_task(run())

    async def interrupt(self, task: asyncio.Task[Any]) -> None:
        if self.how == "cancel":
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        else:
            self.scope.reschedule(asyncio.get_running_loop().time())
            with pytest.raises(TimeoutError):
                await task


HOW = [
    "cancel",
    pytest.param(
        "asyncio.timeout",
        marks=pytest.mark.skipif(sys.version_info < (3, 11), reason="asyncio.timeout is 3.11+"),
    ),
]
PHASES = ["connect", "pool slot", "upload", "response read", "retry sleep"]


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Larger than the kernel's socket buffers can park, so the upload really blocks.
    path = tmp_path_factory.mktemp("cancel") / "big.png"
    path.write_bytes(PNG + os.urandom(16 * 1024 * 1024))
    return path


@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize("phase", PHASES)
async def test_interrupted_call_leaves_nothing_behind(phase: str, how: str, image: Path) -> None:
    interrupt = Interrupt(how)
    sleep = RecordingSleep()
    async with RawServer(_ok) as healthy:
        healthy_opts = RequestOptions(server_url=healthy.url)
        body = {"model": "m", "prompt": "p", "image": image}
        core = OrqCore("sk-cancel", server_url=healthy.url, limit=1, sleep=sleep)
        async with core:
            assert isinstance(await router_images_edits_create(core, body), Ok)  # warm up
            assert await settle(lambda: healthy.open_connections == 0 and pool(core) == (0, 0))
            baseline = await stable_fd_count()
            blocker: asyncio.Task[Any] | None = None

            if phase == "connect":
                async with _never_accepting() as url:
                    opts = RequestOptions(server_url=url)
                    task = interrupt.start(router_images_edits_create(core, body, opts))
                    await asyncio.sleep(0.2)  # the connect is pending (SYN dropped)
                    assert not task.done()
                    await interrupt.interrupt(task)
                    assert pool(core)[0] == 0
            else:
                behaviour = {
                    "pool slot": _stall,
                    "upload": _stall,
                    "response read": _half_body_then_stall,
                    "retry sleep": _rate_limited,
                }[phase]
                # The upload phase: the server reads 64 KiB then waits, through a narrow window.
                slow = {"read_delay": 60.0, "rcvbuf": 64 * 1024} if phase == "upload" else {}
                async with RawServer(behaviour, **slow) as faulty:
                    opts = RequestOptions(server_url=faulty.url)
                    if phase == "retry sleep":
                        opts = RequestOptions(server_url=faulty.url, retries=RETRY_SLOWLY)
                    if phase == "pool slot":
                        # Hold the only pool slot with a call the server never answers.
                        blocker = asyncio.create_task(
                            router_images_edits_create(core, {"model": "m", "prompt": "p"}, opts)
                        )
                        await asyncio.wait_for(faulty.request_read.wait(), 5)
                    task = interrupt.start(router_images_edits_create(core, body, opts))
                    if phase == "upload":
                        await asyncio.wait_for(faulty.body_started.wait(), 5)
                        await asyncio.sleep(0.05)
                        assert fds_to(image), "the file should be open mid-upload"
                    elif phase == "response read":
                        await asyncio.wait_for(faulty.request_read.wait(), 5)
                        await asyncio.sleep(0.1)
                    elif phase == "retry sleep":
                        await asyncio.wait_for(sleep.sleeping.wait(), 5)
                        assert sleep.waits == [30.0]
                    else:
                        await asyncio.sleep(0.1)
                    assert not task.done()
                    await interrupt.interrupt(task)
                    # Straight after the interruption: nothing acquired by it, the file closed.
                    assert pool(core)[0] == (1 if blocker is not None else 0)
                    # aiohttp cancels its body-writer task without awaiting it: the file closes
                    # when that task unwinds, a couple of loop ticks later, not at some GC.
                    assert await settle_ticks(lambda: not fds_to(image)), "image file left open"
                    if blocker is not None:
                        blocker.cancel()
                        with pytest.raises(asyncio.CancelledError):
                            await blocker
                        assert pool(core)[0] == 0
                    # The server sees the connection go (it is closed, not parked); in the
                    # upload phase the server is asleep and the fd count below shows it instead.
                    if phase != "upload":
                        assert await settle(lambda: faulty.open_connections == 0)
            assert not fds_to(image)
            # Descriptors back to their level once the faulty server is gone...
            assert await settle(lambda: open_fd_count() == baseline)
            # ...and the same core goes on working.
            again = await router_images_edits_create(core, body, healthy_opts)
            assert isinstance(again, Ok)
            assert pool(core)[0] == 0
            assert await settle(lambda: open_fd_count() == baseline)
        assert core.closed

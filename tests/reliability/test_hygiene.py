"""Resource hygiene: descriptors, pooled connections and streamed files under mixed load.

The suite runs with ``-W error::ResourceWarning`` (``filterwarnings = error`` in pyproject), so
an unclosed socket, transport or file anywhere here fails the test that leaked it.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import random
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from orq_async import BackoffStrategy, Err, Ok, OrqCore, RequestOptions, RetryConfig
from orq_async.errors import (
    APIConnectionError,
    APITimeoutError,
    BadRequestError,
    InternalServerError,
    OrqError,
    ResponseValidationError,
    SDKValidationError,
    UnexpectedClientError,
)
from orq_async.funcs.router_images_edits_create import router_images_edits_create
from orq_async.hooks import HookContext, Hooks
from tests.conftest import OK_BODY, PNG
from tests.reliability._support import (
    RawServer,
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
RETRY = RetryConfig("backoff", BackoffStrategy(1, 5, 2.0, 60_000), retry_connection_errors=True)


async def _by_header(_n: int, seen: Seen, writer: asyncio.StreamWriter) -> bool:
    """Answer as the ``X-Fault`` header says; keep the connection alive where HTTP allows."""
    fault = seen.headers.get("x-fault", "ok")
    if fault == "ok":
        writer.write(http_response(200, OK_JSON, keep_alive=True))
    elif fault == "503":
        writer.write(http_response(503, b'{"error": "busy"}', keep_alive=True))
    elif fault == "400":
        writer.write(http_response(400, b'{"error": {"message": "no"}}', keep_alive=True))
    elif fault == "badjson":
        writer.write(http_response(200, b'{"created": ', keep_alive=True))
    elif fault == "drop":
        return False  # close without a status line
    elif fault == "midbody":
        writer.write(http_response(200, OK_JSON[:5], length=len(OK_JSON), keep_alive=True))
        await writer.drain()
        return False
    elif fault in ("slow", "hang"):
        await seen.until_disconnected(10)
        return False
    await writer.drain()
    return True


KINDS = [
    "ok",
    "ok-path",
    "503",
    "400",
    "badjson",
    "drop",
    "midbody",
    "slow",
    "cancel",
    "invalid-path",
    "refused",
]
EXPECT: dict[str, type[OrqError] | None] = {
    "ok": None,
    "ok-path": None,
    "503": InternalServerError,
    "400": BadRequestError,
    "badjson": ResponseValidationError,
    "drop": APIConnectionError,
    "midbody": APIConnectionError,
    "slow": APITimeoutError,
    "invalid-path": SDKValidationError,
    "refused": APIConnectionError,
}


async def test_thousand_mixed_calls_return_fds_and_pool_to_their_level(
    tmp_path: Path, closed_port: int
) -> None:
    image = tmp_path / "in.png"
    image.write_bytes(PNG * 64)
    rng = random.Random(4)
    kinds = [KINDS[i % len(KINDS)] for i in range(1000)]
    rng.shuffle(kinds)
    outcomes: Counter[str] = Counter()
    async with RawServer(_by_header) as srv:
        baseline = await stable_fd_count()
        core = OrqCore("sk-hygiene", server_url=srv.url, retry_config=RETRY, limit=16)
        gate = asyncio.Semaphore(32)

        async def one(kind: str) -> None:
            body: dict[str, Any] = {"model": "m", "prompt": "p", "image": PNG}
            opts = RequestOptions(headers={"X-Fault": kind}, timeout_ms=5_000)
            if kind in ("ok-path", "invalid-path"):
                body["image"] = image
                opts = RequestOptions(timeout_ms=5_000)
            if kind == "invalid-path":
                body["n"] = 99
            if kind == "slow":
                opts = RequestOptions(headers={"X-Fault": "slow"}, timeout_ms=100)
            if kind == "refused":
                opts = RequestOptions(server_url=f"http://127.0.0.1:{closed_port}")
            async with gate:
                if kind == "cancel":
                    body["image"] = image
                    opts = RequestOptions(headers={"X-Fault": "hang"})
                    call = router_images_edits_create(core, body, opts)
                    try:  # cancelled at a random point: connect, upload or response
                        await asyncio.wait_for(call, rng.uniform(0.001, 0.05))
                    except asyncio.TimeoutError:
                        outcomes["cancelled"] += 1
                    return
                res = await router_images_edits_create(core, body, opts)
            expected = EXPECT[kind]
            if expected is None:
                assert isinstance(res, Ok), (kind, res)
            else:
                assert isinstance(res, Err), (kind, res)
                assert type(res.error) is expected, (kind, res.error)
            outcomes[type(res).__name__] += 1

        await asyncio.gather(*(one(kind) for kind in kinds))
        assert sum(outcomes.values()) == 1000
        assert outcomes["Ok"] >= 150
        assert outcomes["Err"] >= 600
        # Nothing acquired, the file closed, and every idle pooled connection accounted for.
        assert await settle(lambda: pool(core)[0] == 0)
        assert not fds_to(image)
        _acquired, idle = pool(core)
        assert idle <= 16
        assert await settle(lambda: srv.open_connections == pool(core)[1])
        assert await settle(lambda: open_fd_count() == baseline + 2 * pool(core)[1])
        await core.aclose()
        assert await settle(lambda: open_fd_count() == baseline)
    assert srv.open_connections == 0


# -- files opened for streaming are closed on every path ---------------------------------------


def _raising_hook(_ctx: HookContext, _headers: Any) -> None:
    raise RuntimeError("hook failed")


PATHS = [
    "ok",
    "retried 503",
    "400",
    "validation failure",
    "refused",
    "timeout",
    "dropped mid-upload",
    "cancelled mid-upload",
    "hook raises",
]


@pytest.mark.parametrize("path_kind", PATHS)
@pytest.mark.parametrize("source", ["path", "several paths", "caller file object"])
async def test_streamed_files_are_closed_on_every_path(
    path_kind: str, source: str, tmp_path: Path, closed_port: int
) -> None:
    image = tmp_path / "in.png"
    image.write_bytes(PNG + os.urandom(12 * 1024 * 1024 if "mid-upload" in path_kind else 4096))
    other = tmp_path / "other.png"
    other.write_bytes(PNG)
    caller_file = image.open("rb") if source == "caller file object" else None
    value: Any = {
        "path": image,
        "several paths": [image, other, image],
        "caller file object": caller_file,
    }[source]
    body: dict[str, Any] = {"model": "m", "prompt": "p", "image": value}
    fault = {"retried 503": "503", "400": "400", "timeout": "slow", "hook raises": "ok"}
    headers = {"X-Fault": fault.get(path_kind, "hang" if "mid-upload" in path_kind else "ok")}
    opts = RequestOptions(headers=headers, timeout_ms=200 if path_kind == "timeout" else 5_000)
    if path_kind == "validation failure":
        body["quality"] = "ultra"
    if path_kind == "refused":
        opts = RequestOptions(server_url=f"http://127.0.0.1:{closed_port}")
    hooks = Hooks(before_request=[_raising_hook]) if path_kind == "hook raises" else None
    server_options: dict[str, Any] = {
        "dropped mid-upload": {"drop_after": 256 * 1024, "rcvbuf": 64 * 1024},
        "cancelled mid-upload": {"read_delay": 10.0, "rcvbuf": 64 * 1024},
    }.get(path_kind, {})
    callers = [] if caller_file is None else [caller_file.fileno()]
    try:
        async with (
            RawServer(_by_header, **server_options) as srv,
            OrqCore(server_url=srv.url, retry_config=RETRY, hooks=hooks) as core,
        ):
            if path_kind == "cancelled mid-upload":
                task = asyncio.create_task(router_images_edits_create(core, body, opts))
                await asyncio.wait_for(srv.body_started.wait(), 5)
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
                assert await settle_ticks(lambda: fds_to(image) == callers)
            else:
                res = await router_images_edits_create(core, body, opts)
                assert res.ok == (path_kind == "ok"), res
                if path_kind == "dropped mid-upload":
                    assert isinstance(res, Err)
                    assert type(res.error) is APIConnectionError
                    assert res.meta.attempts == srv.dropped == 4
                if path_kind == "hook raises":
                    assert isinstance(res, Err)
                    assert isinstance(res.error, UnexpectedClientError)
                # Closed when the call returns; when the connection broke mid-upload,
                # aiohttp's body-writer task unwinds (and closes the file) a tick later.
                if path_kind == "dropped mid-upload":
                    assert await settle_ticks(lambda: fds_to(image) == callers)
                assert fds_to(image) == callers
                assert not fds_to(other)
        # The caller's own file object is the caller's to close, and stays usable.
        if caller_file is not None:
            assert not caller_file.closed
            caller_file.seek(0)
            assert caller_file.read(8) == PNG[:8]
    finally:
        if caller_file is not None:
            caller_file.close()
    assert not fds_to(image)


@pytest.fixture(autouse=True)
def _no_stray_fds_to_tmp(tmp_path: Path) -> Any:
    yield
    leaked = [p for p in tmp_path.iterdir() if p.is_file() and fds_to(p)]
    assert not leaked, leaked


async def test_a_fifo_path_is_refused_at_once_and_leaks_nothing(tmp_path: Path) -> None:
    """A path whose ``open()`` would block (a FIFO nobody writes to).

    It used to block a worker thread in ``open()`` until cancelled; now the SDK opens paths
    non-blocking and checks ``fstat`` first (issue 10 point 8), so the call ends at once with
    a validation error naming the field, nothing is sent, and no descriptor is left behind.
    """
    fifo = tmp_path / "slow-open.png"
    os.mkfifo(fifo)
    async with (
        RawServer(_by_header, read_chunk=1) as srv,
        OrqCore(server_url=srv.url, retry_config=RetryConfig("none")) as core,
    ):
        body = {"model": "m", "prompt": "p", "image": fifo}
        res = await asyncio.wait_for(router_images_edits_create(core, body), 5)
        assert isinstance(res, Err)
        assert isinstance(res.error, SDKValidationError)
        assert [p.path for p in res.error.problems] == ["image"]
        assert "FIFO" in str(res.error)
        assert not srv.body_started.is_set()
        gc.collect()
    assert not fds_to(fifo)

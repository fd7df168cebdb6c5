"""Load worker: one client library in a fresh process, driven by JSON lines on stdin.

Usage::

    python -m benchmarks.load CLIENT --url URL [--server-pid PID] [--cpu 1]

It prints ``{"ready": ...}`` once the client is set up, then answers each command line
``{"concurrency": C, "size": BYTES, "seconds": T, ...}`` with one result line, and exits at EOF.
The client and its connection pool live for the whole process (a long-lived service), so a
scenario after the first starts with warm connections, as it would in production.

A scenario is a closed loop of C concurrent callers. After a warm-up (at least C and at least
``warmup_requests`` completions, and ``warmup_seconds``), a window of ``seconds`` (extended until
``min_requests`` completions, at most ``max_seconds``) is measured: completions in the window
give requests/s and the latency percentiles; ``time.process_time()`` over the window gives the
client's CPU per request (all its threads); /proc gives the server's CPU over the same window.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any

from benchmarks.clients import CLIENTS, Client, Unsupported
from benchmarks.common import emit, fake_png, percentile, pin, proc_cpu_seconds


async def scenario(client: Client, server_pid: int | None, cmd: dict[str, Any]) -> dict[str, Any]:
    """Run one scenario and return its figures."""
    concurrency = int(cmd["concurrency"])
    images: list[Any] = [fake_png(int(cmd["size"]))]
    seconds = float(cmd.get("seconds", 1.5))
    max_seconds = float(cmd.get("max_seconds", 10.0))
    min_requests = int(cmd.get("min_requests", 50))
    warm_n = max(concurrency, int(cmd.get("warmup_requests", 20)))
    warm_s = float(cmd.get("warmup_seconds", 0.3))
    done: list[tuple[float, float]] = []
    errors: list[str] = []
    stopping = False

    since = [0.0] * concurrency  # when each worker's current call started

    async def worker(index: int) -> None:
        while not stopping:
            started = since[index] = time.perf_counter()
            try:
                await client.edit(images)
            except Unsupported:
                raise
            except Exception as exc:
                if len(errors) < 5:
                    errors.append(f"{type(exc).__name__}: {exc}"[:300])
                else:
                    errors.append("")
                if len(errors) > 1000:
                    raise
                continue
            ended = time.perf_counter()
            done.append((ended, ended - started))

    async def wait_for(count: int, min_s: float, start: float, cap: float) -> None:
        while True:
            elapsed = time.perf_counter() - start
            if (len(done) >= count and elapsed >= min_s) or elapsed >= cap:
                return
            if any(t.done() for t in tasks):
                return
            await asyncio.sleep(0.01)

    tasks = [asyncio.ensure_future(worker(i)) for i in range(concurrency)]
    try:
        begin = time.perf_counter()
        await wait_for(warm_n, warm_s, begin, max_seconds * 2)
        first = len(done)
        t0, cpu0 = time.perf_counter(), time.process_time()
        srv0 = proc_cpu_seconds(server_pid) if server_pid else None
        await wait_for(first + min_requests, seconds, t0, max_seconds)
        t1, cpu1 = time.perf_counter(), time.process_time()
        srv1 = proc_cpu_seconds(server_pid) if server_pid else None
        window = [lat for ended, lat in done[first:] if ended <= t1]
        oldest = t1 - min(since)  # a call still unanswered at the window's end counts too
    finally:
        stopping = True
        results = await asyncio.gather(*tasks, return_exceptions=True)
    for res in results:
        if isinstance(res, BaseException):
            raise res
    wall = t1 - t0
    n = len(window)
    window.sort()
    server_cpu = None if srv0 is None or srv1 is None else srv1 - srv0
    return {
        "concurrency": concurrency,
        "size": int(cmd["size"]),
        "requests": n,
        "wall": wall,
        "rps": n / wall if wall > 0 else 0.0,
        "p50_ms": percentile(window, 0.50) * 1000,
        "p99_ms": percentile(window, 0.99) * 1000,
        "mean_ms": sum(window) / n * 1000 if n else float("nan"),
        "max_ms": max(window[-1] if window else 0.0, oldest) * 1000,
        "cpu_ms_per_req": (cpu1 - cpu0) * 1000 / n if n else float("nan"),
        "server_cpu_share": None if server_cpu is None else server_cpu / wall,
        "server_cpu_ms_per_req": None if server_cpu is None or not n else server_cpu * 1000 / n,
        "errors": len(errors),
        "error": next((e for e in errors if e), None),
    }


async def serve(name: str, url: str, server_pid: int | None) -> None:
    """Set the client up, then answer scenario commands from stdin until EOF."""
    client = CLIENTS[name]()
    await client.start(url)
    loop = asyncio.get_running_loop()
    emit({"ready": name})
    try:
        while line := await loop.run_in_executor(None, sys.stdin.readline):
            cmd = json.loads(line)
            try:
                emit({"ok": True, **await scenario(client, server_pid, cmd)})
            except Unsupported as exc:
                emit({"ok": False, "unsupported": str(exc)})
            except Exception as exc:
                emit({"ok": False, "error": f"{type(exc).__name__}: {exc}"[:500]})
    finally:
        await client.close()


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description="benchmark load worker")
    parser.add_argument("client", choices=sorted(CLIENTS))
    parser.add_argument("--url", required=True)
    parser.add_argument("--server-pid", type=int, default=None)
    parser.add_argument("--cpu", type=int, default=None)
    parser.add_argument(
        "--sdk-path", default=None, help="import orq_async from this directory (A/B runs)"
    )
    args = parser.parse_args(argv)
    pin(args.cpu)
    if args.sdk_path:
        sys.path.insert(0, args.sdk_path)
    asyncio.run(serve(args.client, args.url, args.server_pid))


if __name__ == "__main__":
    main()

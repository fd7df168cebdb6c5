"""Fan-out against a rate limit: N edits at concurrency C to a server limited to R requests/s.

Usage (from the repository root)::

    python -m benchmarks.ratelimit          # 600 edits, c=64, 50 req/s, bursts 50 and 10, all
    python -m benchmarks.ratelimit --clients orq_async,orq_async-cooldown --burst 50 --output -
    python -m benchmarks.ratelimit --server emulator --clients orq_async --output -

The server is the stand-in (:mod:`benchmarks.server`, its parser and answers) behind a token
bucket of ``--rate`` tokens/s and ``--burst`` capacity (50: one second's worth, the emulator's
default; and 10, with which the old behaviour measures as the issue reported it); over it,
``429`` with ``Retry-After`` in whole seconds, rounded up (no ``retry-after-ms``). With
``--server emulator`` it is the bundled emulator instead, ``Emulator(rate_limit=, burst=)``,
whose 429s also carry ``retry-after-ms`` (its figures come from its traces). Each client
runs in a fresh process pinned to CPU 1 against a fresh server pinned to CPU 0, firing
``--requests`` edits through ``--concurrency`` workers. Recorded per client: successes,
failures, the 429s the server sent, the requests it saw, wall time, goodput (successes per
second / the limit), and the share of 100-ms windows in which no request arrived (synchronised
waves leave most windows empty).

Clients:

- ``orq_async-cooldown``: ``Throttle(cooldown=False)``, the behaviour before the cooldown:
  each call retries 429 on its own (3 retries), honouring Retry-After.
- ``orq_async``: the defaults: the core's shared cooldown with its paced release.
- ``orq_async+adaptive``: ``Throttle(adaptive=True)``: the cooldown plus the AIMD limit.
- ``openai`` (``max_retries=2``, its default), ``openai-10`` (``max_retries=10``).
- ``orq_ai_sdk``: the official SDK with a backoff ``RetryConfig`` (500 ms initial, 60 s max,
  exponent 1.5, 1 h budget).

``python -m benchmarks.ratelimit serve ...`` and ``... client NAME ...`` are the two processes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import shlex
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from aiohttp import web

from benchmarks.clients import API_KEY, PATH, Client, OpenAIClient, OrqAiSdk, OrqAsyncFunc
from benchmarks.common import ROOT, emit, fake_png, pin
from benchmarks.server import make_app

START = "<!-- ratelimit:start -->"
END = "<!-- ratelimit:end -->"
WINDOW = 0.1
CLIENTS = (
    "orq_async-cooldown",
    "orq_async",
    "orq_async+adaptive",
    "openai",
    "openai-10",
    "orq_ai_sdk",
)
LABELS = {
    "orq_async-cooldown": "orq_async, cooldown off (the old behaviour)",
    "orq_async": "orq_async defaults (shared cooldown, paced release)",
    "orq_async+adaptive": "orq_async, cooldown + adaptive concurrency",
    "openai": "openai, max_retries=2 (default)",
    "openai-10": "openai, max_retries=10",
    "orq_ai_sdk": "orq-ai-sdk, backoff RetryConfig",
}


# --- the server: the stand-in behind a token bucket ---


class Bucket:
    """A token bucket, with counters of what it let through and refused."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = float(burst)
        self.stamp = time.monotonic()
        self.accepted = 0
        self.refused = 0
        self.arrivals: list[float] = []

    def take(self) -> float | None:
        """None when a token was taken, else the seconds until one is due."""
        now = time.monotonic()
        self.arrivals.append(now)
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            self.accepted += 1
            return None
        self.refused += 1
        return (1.0 - self.tokens) / self.rate

    def stats(self) -> dict[str, Any]:
        """Counters and how the arrivals spread over 100-ms windows."""
        return spread(self.accepted, self.refused, self.arrivals)


def spread(accepted: int, refused: int, arrivals: Sequence[float]) -> dict[str, Any]:
    """The server's figures: counters, and the share of empty 100-ms windows and the peak."""
    windows: Counter[int] = Counter()
    if arrivals:
        first = min(arrivals)
        windows.update(int((t - first) / WINDOW) for t in arrivals)
    span = max(windows) + 1 if windows else 0
    return {
        "accepted": accepted,
        "refused": refused,
        "requests": len(arrivals),
        "empty_windows": (span - len(windows)) / span if span else 0.0,
        "peak_window": max(windows.values(), default=0),
    }


def make_limited_app(rate: float, burst: int) -> web.Application:
    """The stand-in's app with a token bucket in front of the edit route."""
    bucket = Bucket(rate, burst)

    @web.middleware
    async def limit(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if request.method == "POST" and request.path == PATH:
            wait = bucket.take()
            if wait is not None:
                seconds = max(1, math.ceil(wait))
                return web.json_response(
                    {"error": "rate limited"}, status=429, headers={"Retry-After": str(seconds)}
                )
        return await handler(request)

    async def stats(_request: web.Request) -> web.Response:
        return web.json_response(bucket.stats())

    app = make_app(4096)
    app.middlewares.append(limit)
    app.router.add_get("/__bench/ratelimit", stats)
    return app


async def serve(rate: float, burst: int, server: str = "stand-in") -> None:
    """Serve until stdin closes (the runner holds it)."""
    loop = asyncio.get_running_loop()
    if server == "emulator":
        from orq_async.testing import Emulator

        async with Emulator(rate_limit=rate, burst=burst, max_traces=100_000) as emulator:
            print(f"READY {emulator.url} {os.getpid()}", flush=True)
            await loop.run_in_executor(None, sys.stdin.buffer.read)
        return
    runner = web.AppRunner(make_limited_app(rate, burst), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
    await site.start()
    print(f"READY http://127.0.0.1:{runner.addresses[0][1]} {os.getpid()}", flush=True)
    try:
        await loop.run_in_executor(None, sys.stdin.buffer.read)
    finally:
        await runner.cleanup()


def server_stats(url: str, server: str) -> dict[str, Any]:
    """The server's figures after a run: the stand-in's counters, or the emulator's traces."""
    if server != "emulator":
        with urllib.request.urlopen(url + "/__bench/ratelimit", timeout=10) as resp:
            return dict(json.loads(resp.read()))
    with urllib.request.urlopen(url + "/v2/emulator/traces", timeout=30) as resp:
        traces = json.loads(resp.read())
    refused = sum(1 for t in traces if t["rate_limited"])
    arrivals = [float(t["received_at"]) for t in traces]
    return spread(len(traces) - refused, refused, arrivals)


# --- the clients ---


class OrqAsyncThrottle(OrqAsyncFunc):
    """orq_async's function with a core whose throttle is set up as given."""

    def __init__(self, *, cooldown: bool = True, adaptive: bool = False) -> None:
        self.cooldown = cooldown
        self.adaptive = adaptive

    async def start(self, url: str) -> None:
        from orq_async import OrqCore
        from orq_async.funcs.router_images_edits_create import router_images_edits_create
        from orq_async.throttle import Throttle

        gate = Throttle(cooldown=self.cooldown, adaptive=self.adaptive)
        self.core = OrqCore(API_KEY, server_url=url, throttle=gate)
        self.fn = router_images_edits_create


class OpenAIRetries(OpenAIClient):
    """openai with a given ``max_retries``."""

    def __init__(self, max_retries: int) -> None:
        self.max_retries = max_retries

    async def start(self, url: str) -> None:
        from openai import AsyncOpenAI

        self.client = AsyncOpenAI(
            api_key=API_KEY, base_url=url + "/v2/router", max_retries=self.max_retries
        )


class OrqAiSdkBackoff(OrqAiSdk):
    """orq-ai-sdk with a backoff retry configuration."""

    async def start(self, url: str) -> None:
        from orq_ai_sdk import Orq, models
        from orq_ai_sdk.types import UNSET
        from orq_ai_sdk.utils import BackoffStrategy, RetryConfig

        self.models = models
        self.unset = UNSET
        backoff = BackoffStrategy(500, 60_000, 1.5, 3_600_000)
        self.client = Orq(
            api_key=API_KEY, server_url=url, retry_config=RetryConfig("backoff", backoff, False)
        )


def make_client(name: str) -> Client:
    """The client object for a name of :data:`CLIENTS`."""
    factories: dict[str, Callable[[], Client]] = {
        "orq_async-cooldown": lambda: OrqAsyncThrottle(cooldown=False),
        "orq_async": OrqAsyncFunc,
        "orq_async+adaptive": lambda: OrqAsyncThrottle(adaptive=True),
        "openai": lambda: OpenAIRetries(2),
        "openai-10": lambda: OpenAIRetries(10),
        "orq_ai_sdk": OrqAiSdkBackoff,
    }
    return factories[name]()


async def fire(client: Client, url: str, requests: int, concurrency: int) -> dict[str, Any]:
    """``requests`` edits through ``concurrency`` workers; successes, failures, wall time."""
    await client.start(url)
    image = fake_png(4096)
    left = requests
    ok = 0
    errors: Counter[str] = Counter()

    async def worker() -> None:
        nonlocal left, ok
        while left > 0:
            left -= 1
            try:
                await client.edit([image])
            except Exception as exc:
                errors[_kind(exc)] += 1
            else:
                ok += 1

    started = time.perf_counter()
    try:
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    finally:
        wall = time.perf_counter() - started
        await client.close()
    return {"ok": ok, "failed": sum(errors.values()), "errors": dict(errors), "wall": wall}


def _kind(exc: Exception) -> str:
    text = repr(exc)
    for kind in ("RateLimitError", "429", "cooldown"):
        if kind in text:
            return "rate limited"
    return type(exc).__name__


# --- the runner ---


def _spawn(cmd: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(cmd, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def bursts(args: argparse.Namespace) -> list[int]:
    """The bucket sizes asked for (``--burst 50,10``)."""
    return [int(b) for b in str(args.burst).split(",") if b.strip()]


def run_one(name: str, burst: int, args: argparse.Namespace) -> dict[str, Any]:
    """One client against a fresh limited server; the client's and the server's figures."""
    py = sys.executable
    serve = ["serve", "--rate", str(args.rate), "--burst", str(burst), "--cpu", "0"]
    serve += ["--server", args.server]
    server = _spawn([py, "-m", "benchmarks.ratelimit", *serve])
    assert server.stdout is not None
    assert server.stdin is not None
    ready = server.stdout.readline().split()
    record: dict[str, Any] = {"client": name, "burst": burst}
    try:
        if len(ready) != 3 or ready[0] != "READY":
            return {**record, "error": "the server did not start"}
        url = ready[1]
        cmd = [py, "-m", "benchmarks.ratelimit", "client", name, "--url", url, "--cpu", "1"]
        cmd += ["--requests", str(args.requests), "--concurrency", str(args.concurrency)]
        out = subprocess.run(
            cmd, check=False, cwd=ROOT, capture_output=True, text=True, timeout=900
        )
        lines = out.stdout.strip().splitlines()
        if out.returncode != 0 or not lines:
            tail = (out.stderr.strip().splitlines() or ["no output"])[-1]
            return {**record, "error": tail[:200]}
        record.update(json.loads(lines[-1]))
        record["server"] = server_stats(url, args.server)
    finally:
        server.stdin.close()
        server.wait(timeout=30)
        server.stdout.close()
    record["goodput"] = record["ok"] / record["wall"] / args.rate
    return record


def render(records: Sequence[dict[str, Any]], args: argparse.Namespace, command: str) -> str:
    """The Markdown section, between its markers."""
    out = [START, "## Fan-out against a rate limit", ""]
    if args.server == "emulator":
        limited = (
            f"the bundled emulator, `Emulator(rate_limit={args.rate:g}, burst=...)`, answering "
            "429 + `Retry-After` in whole seconds and `retry-after-ms`"
        )
    else:
        limited = (
            f"the stand-in behind a token bucket of {args.rate:g} requests/s, answering 429 + "
            "`Retry-After` in whole seconds (rounded up, no `retry-after-ms`)"
        )
    out.append(
        f"`{command}`: {args.requests} edits at concurrency {args.concurrency} against "
        f"{limited}. Goodput = successes "
        "per second / the limit (the bucket's initial burst lets it exceed 1 slightly); *429s* "
        "= refusals the server sent, as a share of the requests it saw; *empty* = 100-ms "
        "windows with no request at all (synchronised waves leave most windows empty). Targets "
        "for orq_async's defaults (cooldown on): 0 failures, goodput ≥ 0.95, 429s ≤ 10%."
    )
    for burst in dict.fromkeys(r["burst"] for r in records):
        out += ["", f"### Burst {burst}", ""]
        out += _table([r for r in records if r["burst"] == burst])
    out += ["", END]
    return "\n".join(out) + "\n"


def _table(records: Sequence[dict[str, Any]]) -> list[str]:
    header = ["client", "ok", "failed", "429s (share)", "requests", "wall s", "goodput", "empty"]
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in records:
        label = LABELS.get(r["client"], r["client"])
        if "error" in r:
            out.append(f"| {label} | n/a: {r['error'][:80]} |" + " |" * (len(header) - 2))
            continue
        s = r["server"]
        share = s["refused"] / s["requests"] if s["requests"] else 0.0
        failed = f"{r['failed']}" + (f" ({', '.join(r['errors'])})" if r["errors"] else "")
        out.append(
            f"| {label} | {r['ok']} | {failed} | {s['refused']} ({share:.1%}) | {s['requests']} "
            f"| {r['wall']:.1f} | {r['goodput']:.2f} | {s['empty_windows']:.0%} |"
        )
    return out


def write_section(path: Path, section: str) -> None:
    """Replace the section between the markers in ``path``, or append it."""
    text = path.read_text() if path.exists() else ""
    start, end = text.find(START), text.find(END)
    if 0 <= start < end:
        text = text[:start] + section.rstrip("\n") + text[end + len(END) :]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text)


def read_section(path: Path) -> str:
    """The section as it stands in ``path`` (kept when a run does not redo it)."""
    try:
        text = path.read_text()
    except OSError:
        return ""
    start, end = text.find(START), text.find(END)
    return text[start : end + len(END)] + "\n" if 0 <= start < end else ""


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line of all three roles."""
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("role", nargs="?", choices=("run", "serve", "client"), default="run")
    p.add_argument("name", nargs="?", help="the client (role client)")
    p.add_argument("--clients", default=",".join(CLIENTS))
    p.add_argument("--requests", type=int, default=600)
    p.add_argument("--concurrency", type=int, default=64)
    p.add_argument("--rate", type=float, default=50.0)
    p.add_argument("--burst", default="50,10", help="bucket sizes, each a run of every client")
    p.add_argument(
        "--server",
        choices=("stand-in", "emulator"),
        default="stand-in",
        help="the stand-in behind a token bucket (Retry-After only), or orq_async.testing's "
        "Emulator(rate_limit=, burst=) (Retry-After and retry-after-ms)",
    )
    p.add_argument("--url", default="")
    p.add_argument("--cpu", type=int, default=None)
    p.add_argument(
        "--output", default=str(ROOT / "benchmarks" / "RESULTS.md"), help="a file, or - to print"
    )
    return p.parse_args(argv)


def run_all(args: argparse.Namespace, log: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """Every asked client in turn."""
    names = [c.strip() for c in args.clients.split(",") if c.strip()]
    for name in names:
        if name not in CLIENTS:
            raise SystemExit(f"unknown client {name!r}; known: {', '.join(CLIENTS)}")
    records: list[dict[str, Any]] = []
    for burst in bursts(args):
        for name in names:
            record = run_one(name, burst, args)
            log(f"  burst {burst} {name}: {json.dumps(record)}")
            records.append(record)
    return records


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the three roles."""
    args = parse_args(argv)
    pin(args.cpu)
    if args.role == "serve":
        asyncio.run(serve(args.rate, bursts(args)[0], args.server))
        return 0
    if args.role == "client":
        emit(asyncio.run(fire(make_client(args.name), args.url, args.requests, args.concurrency)))
        return 0
    records = run_all(args)
    command = "python -m benchmarks.ratelimit " + " ".join(map(shlex.quote, argv or sys.argv[1:]))
    section = render(records, args, command.strip())
    if args.output == "-":
        print(section)
    else:
        write_section(Path(args.output), section)
        print(f"wrote {args.output}")
    return 1 if any("error" in r for r in records) else 0


if __name__ == "__main__":
    raise SystemExit(main())

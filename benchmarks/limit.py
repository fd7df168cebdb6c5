"""orq_async against the transport's limit: aiohttp posting a prebuilt ``bytes`` body.

Usage (from the repository root)::

    python -m benchmarks.limit [--rounds 5] [--concurrency 16,64,1024] [--probe-requests 8000]
        [--variant before=/tmp/before] [--json FILE]

Three parts, every client in fresh processes pinned to CPU 1, the stand-in pinned to CPU 0:

1. a check that the limit client (:class:`~benchmarks.clients.AiohttpLimit`) sends exactly the
   SDK's body, byte for byte but for the boundary (else the comparison is void);
2. throughput rounds (:func:`benchmarks.throughput.run_rounds`, the same as ``benchmarks.run``):
   requests/s and client CPU per request at each concurrency;
3. probes at the highest concurrency (``python -m benchmarks.limit probe CLIENT ...``): a timed
   run of ``--probe-requests`` calls with ``gc.callbacks`` recording every collection (the GC's
   share of the window, its longest pause); then, untimed, the memory and the GC-tracked objects
   per in-flight call (``tracemalloc`` and ``gc.get_objects()`` sampled under load, minus the
   idle level after the load, divided by the concurrency); then the objects left in reference
   cycles per call (``gc.DEBUG_SAVEALL``, the collector off for a few hundred calls).

Each figure is printed as a ratio to the limit in the same round: median (min-max) over rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import subprocess
import sys
import time
import tracemalloc
from collections import Counter
from collections.abc import Sequence
from typing import Any

from aiohttp import web

from benchmarks import throughput
from benchmarks.clients import (
    CLIENTS,
    FLOOR,
    LIMIT,
    ImageSource,
    OrqAsyncFunc,
    prebuilt_body,
)
from benchmarks.common import KIB, ROOT, drive, emit, fake_png, median, pin
from benchmarks.server import spawn

SUBJECT = OrqAsyncFunc.name


# -- 1. the limit sends what the SDK sends ------------------------------------------------------


async def _capture_sdk_body(image: bytes) -> tuple[bytes, str]:
    """The body and Content-Type the SDK sends for the benchmark's request."""
    seen: list[tuple[bytes, str]] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append((await request.read(), request.headers["Content-Type"]))
        return web.json_response({"created": 1, "data": []})

    app = web.Application()
    app.router.add_post("/v2/router/images/edits", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    client = OrqAsyncFunc()
    try:
        await client.start(f"http://127.0.0.1:{port}")
        await client.edit([image])
        await client.close()
    finally:
        await runner.cleanup()
    return seen[0]


class BodyMismatch(Exception):
    """The limit client no longer sends the SDK's body: its ratios would mean nothing."""


def check_same_body() -> None:
    """Raise :class:`BodyMismatch` if the limit's body differs from the SDK's (boundary aside)."""
    image = fake_png(4 * KIB)
    body, content_type = asyncio.run(_capture_sdk_body(image))
    boundary = content_type.split("boundary=", 1)[1]
    ours = prebuilt_body(image, boundary)
    if body != ours:
        raise BodyMismatch(
            "the limit client's body differs from the SDK's: update benchmarks.clients."
            f"prebuilt_body\nSDK:   {body[:600]!r}\nlimit: {ours[:600]!r}"
        )


# -- 3. the probe (one client, one process) -------------------------------------------------------


class GcTimer:
    """Every collection's duration, from ``gc.callbacks``."""

    def __init__(self) -> None:
        self.pauses: list[tuple[int, float]] = []  # (generation, seconds)
        self._start = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.pauses.append((info["generation"], time.perf_counter() - self._start))


async def _per_in_flight(call: Any, concurrency: int, requests: int) -> dict[str, Any]:
    """Python memory and GC-tracked objects held per in-flight call, under a steady load."""
    tracemalloc.start(1)
    mem: list[int] = []
    objs: list[int] = []
    types: Counter[str] = Counter()
    loaded: list[tracemalloc.Snapshot] = []
    done = asyncio.Event()

    async def sample() -> None:
        await asyncio.sleep(0.3)  # past the ramp-up
        while not done.is_set():
            mem.append(tracemalloc.get_traced_memory()[0])
            if len(objs) < 5:
                live = gc.get_objects()
                objs.append(len(live))
                if not types:
                    types.update(type(o).__name__ for o in live)
                    loaded.append(tracemalloc.take_snapshot())
                del live
            await asyncio.sleep(0.02)

    sampler = asyncio.ensure_future(sample())
    await drive(call, concurrency, requests)
    done.set()
    await sampler
    gc.collect()
    idle_mem = tracemalloc.get_traced_memory()[0]
    idle_live = gc.get_objects()
    idle_objs = len(idle_live)
    types.subtract(type(o).__name__ for o in idle_live)
    del idle_live
    lines = loaded[0].compare_to(tracemalloc.take_snapshot(), "lineno") if loaded else []
    tracemalloc.stop()
    return {
        "mem_samples": len(mem),
        "kib_per_in_flight": (median([float(m) for m in mem]) - idle_mem) / concurrency / KIB,
        "objects_per_in_flight": (median([float(o) for o in objs]) - idle_objs) / concurrency,
        "object_types_per_in_flight": {
            t: round(n / concurrency, 2) for t, n in types.most_common(15) if n > 0
        },
        "bytes_per_in_flight_by_line": {
            _where(d.traceback[0]): round(d.size_diff / concurrency)
            for d in lines[:15]
            if d.size_diff > 0
        },
    }


def _where(frame: tracemalloc.Frame) -> str:
    parts = frame.filename.split("/")
    package = next((i for i, x in enumerate(parts) if x in ("aiohttp", "orq_async", "asyncio")), -1)
    return f"{'/'.join(parts[package:])}:{frame.lineno}"


async def _cycles(call: Any, requests: int) -> dict[str, Any]:
    """Objects left in reference cycles per call (the collector off while the calls run)."""
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        await drive(call, 16, requests)
        found = gc.collect()
        kinds = Counter(type(o).__name__ for o in gc.garbage)
        gc.garbage.clear()
    finally:
        gc.set_debug(0)
        gc.enable()
    return {
        "cycle_objects_per_call": found / requests,
        "cycle_types_per_call": {t: round(n / requests, 2) for t, n in kinds.most_common(12)},
    }


async def probe(name: str, url: str, size: int, concurrency: int, requests: int) -> dict[str, Any]:
    """Timed run with the GC watched, then the memory and cycles passes."""
    client = CLIENTS[name]()
    await client.start(url)
    images: list[ImageSource] = [fake_png(size)]

    def call() -> Any:
        return client.edit(images)

    try:
        await drive(call, concurrency, max(2 * concurrency, 500))
        gc.collect()
        timer = GcTimer()
        gc.callbacks.append(timer)
        try:
            wall, cpu = time.perf_counter(), time.process_time()
            await drive(call, concurrency, requests)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        finally:
            gc.callbacks.remove(timer)
        gc_seconds = sum(s for _, s in timer.pauses)
        out: dict[str, Any] = {
            "rps": requests / wall,
            "cpu_ms_per_req": cpu * 1000 / requests,
            "gc_share": gc_seconds / wall,
            "gc_max_pause_ms": max((s for _, s in timer.pauses), default=0.0) * 1000,
            "gc_ms_per_req": gc_seconds * 1000 / requests,
            "gc_cpu_share": gc_seconds / cpu,
            "collections": dict(Counter(str(g) for g, _ in timer.pauses)),
            "young_per_1000": sum(1 for g, _ in timer.pauses if g == 0) * 1000 / requests,
        }
        out.update(await _per_in_flight(call, concurrency, max(requests // 2, 3 * concurrency)))
        out.update(await _cycles(call, 400))
    finally:
        await client.close()
    return out


def _probe_main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description="one GC and memory probe")
    parser.add_argument("client")
    parser.add_argument("--url", required=True)
    parser.add_argument("--size", type=int, default=64 * KIB)
    parser.add_argument("--concurrency", type=int, default=1024)
    parser.add_argument("--requests", type=int, default=8000)
    parser.add_argument("--cpu", type=int, default=None)
    parser.add_argument("--sdk-path", default=None)
    args = parser.parse_args(argv)
    pin(args.cpu)
    if args.sdk_path:
        sys.path.insert(0, args.sdk_path)
    base = args.client.partition("@")[0]
    emit(asyncio.run(probe(base, args.url, args.size, args.concurrency, args.requests)))


def run_probe(
    name: str, url: str, *, size: int, concurrency: int, requests: int, variants: dict[str, str]
) -> dict[str, Any]:
    """One probe in a fresh process pinned to CPU 1."""
    cmd = [sys.executable, "-m", "benchmarks.limit", "probe", name, "--url", url, "--cpu", "1"]
    cmd += ["--size", str(size), "--concurrency", str(concurrency)]
    cmd += ["--requests", str(requests)]
    variant = name.partition("@")[2]
    if variant:
        cmd += ["--sdk-path", variants[variant]]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False, timeout=900)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["?"])[-1]
        return {"ok": False, "error": f"exit {proc.returncode}: {tail[:300]}"}
    result: dict[str, Any] = json.loads(lines[-1])
    return {"ok": True, **result}


# -- the report -----------------------------------------------------------------------------------


def _cell(values: Sequence[float], fmt: str = "{:.2f}") -> str:
    if not values:
        return "-"
    lo, hi = min(values), max(values)
    span = f" ({fmt.format(lo)}-{fmt.format(hi)})" if len(values) > 1 else ""
    return fmt.format(median(list(values))) + span


def _ratios(
    records: list[dict[str, Any]], client: str, key: str, where: dict[str, Any]
) -> list[float]:
    """Per round: the client's figure divided by the limit's."""
    by_round: dict[int, dict[str, float]] = {}
    for r in records:
        if r.get("ok") and all(r.get(k) == v for k, v in where.items()):
            by_round.setdefault(r["round"], {})[r["client"]] = r[key]
    return [
        got[client] / got[LIMIT]
        for got in by_round.values()
        if client in got and LIMIT in got and got[LIMIT]
    ]


def _values(
    records: list[dict[str, Any]], client: str, key: str, where: dict[str, Any]
) -> list[float]:
    return [
        float(r[key])
        for r in records
        if r.get("ok") and r["client"] == client and all(r.get(k) == v for k, v in where.items())
    ]


def render(
    records: list[dict[str, Any]],
    probes: list[dict[str, Any]],
    clients: Sequence[str],
    concurrencies: Sequence[int],
    probe_c: int,
) -> str:
    """Markdown tables: ratios to the limit, and the limit's own figures for scale."""
    from benchmarks.report import client_label

    lines = [
        "| client | "
        + " | ".join(f"req/s c={c}" for c in concurrencies)
        + " | "
        + " | ".join(f"CPU/req c={c}" for c in concurrencies)
        + " |",
        "|---|" + "---|" * (2 * len(concurrencies)),
    ]
    for client in clients:
        row = [client_label(client)]
        for key in ("rps", "cpu_ms_per_req"):
            for c in concurrencies:
                where = {"c": c}
                if client == LIMIT:
                    fmt = "{:.0f}" if key == "rps" else "{:.3f}"
                    row.append(_cell(_values(records, client, key, where), fmt) + " (abs.)")
                else:
                    row.append(_cell(_ratios(records, client, key, where)))
        lines.append("| " + " | ".join(row) + " |")
    lines += [
        "",
        f"At c={probe_c} (probe: a timed run with `gc.callbacks`, then untimed memory passes):",
        "",
        "| client | req/s (x limit) | CPU/req (x limit) | GC share of the window | GC share of the"
        " client's CPU | longest GC pause (ms) | young collections per 1000 calls"
        " | KiB per in-flight call | GC objects per in-flight call | objects in cycles per call |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for client in clients:
        row = [client_label(client)]
        for key in ("rps", "cpu_ms_per_req"):
            if client == LIMIT:
                fmt = "{:.0f}" if key == "rps" else "{:.3f}"
                row.append(_cell(_values(probes, client, key, {}), fmt) + " (abs.)")
            else:
                row.append(_cell(_ratios(probes, client, key, {})))
        row.append(_cell([v * 100 for v in _values(probes, client, "gc_share", {})], "{:.0f}%"))
        row.append(_cell([v * 100 for v in _values(probes, client, "gc_cpu_share", {})], "{:.0f}%"))
        for key, fmt in (
            ("gc_max_pause_ms", "{:.0f}"),
            ("young_per_1000", "{:.1f}"),
            ("kib_per_in_flight", "{:.1f}"),
            ("objects_per_in_flight", "{:.0f}"),
            ("cycle_objects_per_call", "{:.1f}"),
        ):
            row.append(_cell(_values(probes, client, key, {}), fmt))
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["probe"]:
        _probe_main(argv[1:])
        return 0
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--concurrency", default="16,64,1024")
    p.add_argument("--size-kib", type=int, default=64)
    p.add_argument("--seconds", type=float, default=1.0)
    p.add_argument("--probe-requests", type=int, default=8000)
    p.add_argument("--clients", default=f"{SUBJECT},{LIMIT},{FLOOR}")
    p.add_argument("--variant", action="append", default=[], metavar="NAME=DIR")
    p.add_argument("--no-throughput", dest="throughput", action="store_false")
    p.add_argument("--no-probe", dest="probe", action="store_false")
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    variants = dict(v.split("=", 1) for v in args.variant)
    if variants:  # check against a copy: the tree may be mid-change
        sys.path.insert(0, next(iter(variants.values())))
    try:
        check_same_body()
    except BodyMismatch as exc:
        raise SystemExit(str(exc)) from None
    print("the limit client sends the SDK's body byte for byte (boundary aside)", flush=True)
    clients = [c for c in args.clients.split(",") if c]
    clients += [f"{SUBJECT}@{name}" for name in variants]
    if LIMIT not in clients:
        clients.append(LIMIT)
    concurrencies = [int(c) for c in args.concurrency.split(",") if c]
    size = args.size_kib * KIB
    probe_c = max(concurrencies)
    records: list[dict[str, Any]] = []
    probes: list[dict[str, Any]] = []
    server = spawn("standin", cpu=0)
    try:
        if args.throughput:
            timing = {
                "seconds": args.seconds,
                "max_seconds": max(4 * args.seconds, 4.0),
                "min_requests": 200,
                "warmup_requests": 200,
                "warmup_seconds": 0.3,
            }
            records, _, notes = throughput.run_rounds(
                url=server.url,
                server_pid=server.pid,
                clients=clients,
                sizes=[size],
                concurrencies=concurrencies,
                rounds=args.rounds,
                timing=timing,
                client_cpu=1,
                variants=variants,
            )
            for note in notes:
                print(note)
        if args.probe:
            for rnd in range(args.rounds):
                for name in throughput.rotate(clients, rnd):
                    result = run_probe(
                        name,
                        server.url,
                        size=size,
                        concurrency=probe_c,
                        requests=args.probe_requests,
                        variants=variants,
                    )
                    result.update(round=rnd, client=name)
                    probes.append(result)
                    print(f"  probe r{rnd} {name}: {json.dumps(result)[:400]}", flush=True)
    finally:
        server.close()
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"records": records, "probes": probes}, f, indent=1)
    print(render(records, probes, clients, concurrencies, probe_c))
    return 1 if any(not r.get("ok") for r in [*records, *probes]) else 0


if __name__ == "__main__":
    raise SystemExit(main())

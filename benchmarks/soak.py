"""Soak: many calls through one core against the emulator, with injected 503s, reconciled.

Every call carries its number in an ``X-Soak-Call`` header and in its ``user`` field. Calls run
in waves (``--wave``, default 2 500) at the given concurrency; after each wave, each call's
``Result`` is matched with the emulator's traces of that call, and those traces are forgotten:

- nothing lost: every call has as many traces as the attempts its result reports, and no
  trace belongs to no call;
- nothing duplicated beyond the retries: every attempt but the last was answered 503 (an
  injected fault), and the last one's status is the result's;
- every attempt of a call sent byte-identical bodies (the traces' ``body_sha256``), and the
  emulator parsed the call's own ``user`` from the attempt it answered 200.

The 503s come from a seeded schedule queued in the emulator before the first call: each
arriving request is a 503 with probability ``--fault-rate``. Client retries are on (every 5XX
and broken connections, up to 3 retries, 1-20 ms waits), so a call fails only if all its 4
attempts drew a 503.

It reports RSS, open file descriptors and pooled connections before anything starts, at the
start (emulator and core up), after every wave, and after both are closed. Only a small record
of each call is kept and each wave's traces are dropped, so RSS after each wave shows whether
anything accumulates. The emulator runs in this process: descriptors count both ends of each
connection. Not a timed benchmark: throughput is printed for information only.

Usage::

    python -m benchmarks.soak [--calls 20000] [--concurrency 128] [--fault-rate 0.1]
                              [--seed 1] [--wave 2500] [--json out.json]

Exit status 0 when every call reconciles, 1 otherwise. ``tests/reliability/test_soak.py`` runs
the same code with 2 000 calls.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from orq_async import BackoffStrategy, Ok, OrqCore, RequestOptions, RetryConfig
from orq_async.errors import InternalServerError
from orq_async.funcs.router_images_edits_create import router_images_edits_create
from orq_async.result import Result
from orq_async.testing import Emulator, Trace

__all__ = ["CallRecord", "Snapshot", "SoakReport", "main", "reconcile", "run_soak"]

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
HEADER = "X-Soak-Call"
#: Client retries: every 5XX and broken connections, short waits (the point is the count).
RETRIES = RetryConfig(
    "backoff", BackoffStrategy(1, 20, 2.0, 120_000), retry_connection_errors=True, max_retries=3
)


@dataclass
class Snapshot:
    """Process resources at one moment."""

    rss_kib: int
    fds: int
    pool_acquired: int
    pool_idle: int


@dataclass
class SoakReport:
    """What a soak run did and found; ``problems`` is empty when every call reconciled."""

    calls: int
    concurrency: int
    fault_rate: float
    seconds: float
    attempts: int
    traces: int
    injected_503: int
    outcomes: dict[str, int]
    attempts_histogram: dict[int, int]
    before: Snapshot
    start: Snapshot
    end: Snapshot
    closed: Snapshot
    waves: list[Snapshot]
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether every call reconciled with the traces."""
        return not self.problems


def _status_kib(name: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(name + ":"):
                return int(line.split()[1])
    return -1


def snapshot(core: OrqCore | None) -> Snapshot:
    """RSS, descriptors and the core's pool (acquired, idle) right now."""
    acquired = idle = 0
    session = None if core is None else core._session
    if session is not None and not session.closed:
        connector: Any = session.connector
        acquired = len(connector._acquired)
        idle = sum(len(conns) for conns in connector._conns.values())
    return Snapshot(_status_kib("VmRSS"), len(os.listdir("/proc/self/fd")), acquired, idle)


def _schedule(emulator: Emulator, attempts: int, fault_rate: float, seed: int) -> int:
    """Queue a seeded 503-or-pass verdict for each of the next ``attempts`` requests."""
    rng = random.Random(seed)
    verdicts = [rng.random() < fault_rate for _ in range(attempts)]
    injected, i = 0, 0
    while i < len(verdicts):  # run-length encoded: one queue entry per run
        j = i
        while j < len(verdicts) and verdicts[j] == verdicts[i]:
            j += 1
        if verdicts[i]:
            emulator.inject(503, times=j - i)
            injected += j - i
        else:
            emulator.inject_delay(0, times=j - i)  # a pass: handled normally
        i = j
    return injected


@dataclass(frozen=True)
class CallRecord:
    """What the harness keeps of one call's ``Result`` (not the result: RSS would grow)."""

    attempts: int
    status: int | None
    outcome: str  # "Ok" or the error's class name
    has_data: bool

    @classmethod
    def of(cls, result: Result[Any, Any]) -> CallRecord:
        """Keep the facts reconciliation needs."""
        if isinstance(result, Ok):
            return cls(result.meta.attempts, result.meta.status_code, "Ok", bool(result.value.data))
        name = type(result.error).__name__
        return cls(result.meta.attempts, result.meta.status_code, name, False)


def reconcile(records: Sequence[CallRecord], traces: Sequence[Trace], first: int = 0) -> list[str]:
    """Match calls ``first``, ``first + 1``... with their traces; return the problems found."""
    problems: list[str] = []
    by_call: dict[int, list[Trace]] = defaultdict(list)
    for trace in traces:
        tag = trace.request_headers.get(HEADER.lower())
        if tag is None or not tag.isdigit() or not first <= int(tag) < first + len(records):
            problems.append(f"a trace that belongs to no call: {trace.id} ({tag!r})")
            continue
        by_call[int(tag)].append(trace)
    for offset, rec in enumerate(records):
        i = first + offset
        seen = sorted(by_call.get(i, []), key=lambda t: t.seq)
        if len(seen) != rec.attempts:
            problems.append(f"call {i}: {rec.attempts} attempts reported, {len(seen)} traced")
            continue
        if len({t.body_sha256 for t in seen}) != 1:
            problems.append(f"call {i}: attempts sent different bodies")
        if any(t.status != 503 or t.fault != "status:503" for t in seen[:-1]):
            problems.append(f"call {i}: a retry followed something other than an injected 503")
        last = seen[-1]
        if last.status != rec.status:
            problems.append(f"call {i}: result status {rec.status}, traced {last.status}")
        if rec.outcome == "Ok":
            if last.status != 200 or last.user != f"soak-{i}" or not rec.has_data:
                problems.append(f"call {i}: Ok, but the trace says {last.status} {last.user!r}")
        elif not (
            rec.outcome == InternalServerError.__name__
            and last.fault == "status:503"
            and rec.attempts == RETRIES.max_retries + 1
        ):
            problems.append(f"call {i}: unexpected {rec.outcome} after {rec.attempts} attempts")
    return problems


async def run_soak(
    calls: int = 20_000,
    concurrency: int = 128,
    fault_rate: float = 0.1,
    seed: int = 1,
    wave: int = 2_500,
) -> SoakReport:
    """Run the soak in waves of ``wave`` calls, reconciling and forgetting each wave's traces.

    Never raises for a failed call: failures are counted and reconciled like successes.
    """
    expected_attempts = int(calls / (1 - fault_rate)) + 1000
    gc.collect()
    before = snapshot(None)
    problems: list[str] = []
    outcomes: Counter[str] = Counter()
    histogram: Counter[int] = Counter()
    attempts = traced = injected = 0
    waves: list[Snapshot] = []
    async with Emulator(max_traces=4 * wave + 1000, seed=seed) as emulator:
        injected_planned = _schedule(emulator, expected_attempts, fault_rate, seed)
        core = OrqCore("sk-soak", server_url=emulator.url, retry_config=RETRIES, limit=concurrency)
        gc.collect()
        start = snapshot(core)
        gate = asyncio.Semaphore(concurrency)

        async def one(i: int) -> CallRecord:
            body = {
                "model": "openai/gpt-image-1",
                "prompt": f"soak {i}",
                "image": PNG,
                "user": f"soak-{i}",
            }
            async with gate:
                result = await router_images_edits_create(
                    core, body, RequestOptions(headers={HEADER: str(i)})
                )
            return CallRecord.of(result)

        started = time.perf_counter()
        for first in range(0, calls, wave):
            count = min(wave, calls - first)
            records = await asyncio.gather(*(one(i) for i in range(first, first + count)))
            traces = emulator.traces
            emulator.clear_traces()
            problems += reconcile(records, traces, first)
            attempts += sum(r.attempts for r in records)
            traced += len(traces)
            injected += sum(1 for t in traces if t.fault == "status:503")
            outcomes.update(r.outcome for r in records)
            histogram.update(r.attempts for r in records)
            del records, traces
            gc.collect()
            waves.append(snapshot(core))
        seconds = time.perf_counter() - started
        end = waves[-1] if waves else snapshot(core)
        await core.aclose()
        await asyncio.sleep(0.05)  # let closing transports finish
        pending = emulator.pending_faults
        emulator.clear_faults()
    gc.collect()
    closed = snapshot(None)
    if pending == 0:  # later requests met no fault: the rate would be below the one asked
        problems.append(f"the fault schedule ran out ({injected_planned} planned 503s)")
    return SoakReport(
        calls=calls,
        concurrency=concurrency,
        fault_rate=fault_rate,
        seconds=round(seconds, 2),
        attempts=attempts,
        traces=traced,
        injected_503=injected,
        outcomes=dict(outcomes),
        attempts_histogram=dict(sorted(histogram.items())),
        before=before,
        start=start,
        end=end,
        closed=closed,
        waves=waves,
        problems=problems,
    )


def _print(report: SoakReport) -> None:
    r = report
    print(f"soak: {r.calls} calls, concurrency {r.concurrency}, {r.fault_rate:.0%} injected 503s")
    print(f"  {r.seconds} s ({r.calls / r.seconds:.0f} calls/s, for information only)")
    print(f"  attempts {r.attempts}, traces {r.traces}, injected 503s answered {r.injected_503}")
    print(f"  outcomes {r.outcomes}; attempts per call {r.attempts_histogram}")
    snaps = (("before", r.before), ("start", r.start), ("end", r.end), ("closed", r.closed))
    for name, snap in snaps:
        print(
            f"  {name:>6}: RSS {snap.rss_kib / 1024:.1f} MiB, fds {snap.fds}, "
            f"pool acquired {snap.pool_acquired} idle {snap.pool_idle}"
        )
    rss = ", ".join(f"{w.rss_kib / 1024:.1f}" for w in r.waves)
    print(f"  RSS after each wave (MiB): {rss}")
    print(f"  fds after each wave: {', '.join(str(w.fds) for w in r.waves)}")
    if r.ok:
        print("  reconciled: every call matches its traces")
    else:
        print(f"  {len(r.problems)} PROBLEMS, first ones:")
        for problem in r.problems[:20]:
            print(f"    {problem}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the soak from the command line; exit 1 if any call does not reconcile."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.soak", description=__doc__)
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=128)
    parser.add_argument("--fault-rate", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--wave", type=int, default=2_500, help="calls per reconciled wave")
    parser.add_argument("--json", help="also write the report as JSON to this file")
    args = parser.parse_args(argv)
    report = asyncio.run(
        run_soak(args.calls, args.concurrency, args.fault_rate, args.seed, args.wave)
    )
    _print(report)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({**asdict(report), "ok": report.ok}, f, indent=2)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""Run the benchmarks and write ``benchmarks/RESULTS.md``.

Usage (from the repository root)::

    python -m benchmarks.run                 # everything, a few minutes
    python -m benchmarks.run --quick         # CI smoke: orq_async and the floor, < 60 s
    python -m benchmarks.run --target emulator --only throughput
    python -m benchmarks.run --only ratelimit  # the rate-limit scenario (not in the default)
    python -m benchmarks.run --only throughput --clients orq_async,aiohttp \\
        --variant before=/tmp/sdk-before     # A/B: a copy of the SDK as another client

``--quick`` prints the report and writes a file only when ``--output`` is given, so a smoke run
never overwrites the committed results.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: python benchmarks/run.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import coldstart, memory, ratelimit, report, throughput
from benchmarks.clients import ALL_CLIENTS, CLIENTS, CORE_CLIENTS, FLOOR
from benchmarks.common import KIB, MIB, ROOT
from benchmarks.server import spawn

SECTIONS = ("throughput", "memory", "coldstart")
EXTRA_SECTIONS = ("ratelimit",)  # run only when asked with --only


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="CI smoke run (< 60 s, no peers needed)")
    p.add_argument(
        "--only",
        default=",".join(SECTIONS),
        help="sections: " + ",".join(SECTIONS + EXTRA_SECTIONS),
    )
    p.add_argument("--target", choices=("standin", "emulator", "both"), default="standin")
    p.add_argument("--clients", default=None, help="comma-separated; default all installed")
    p.add_argument("--rounds", type=int, default=None)
    p.add_argument("--concurrency", type=_ints, default=None, help="e.g. 1,16,64,256")
    p.add_argument("--sizes-kib", type=_ints, default=None, help="image sizes, e.g. 64,1024")
    p.add_argument("--seconds", type=float, default=None, help="measured window per scenario")
    p.add_argument("--memory-mib", type=int, default=None, help="size of each large image")
    p.add_argument("--coldstart-reps", type=int, default=None)
    p.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME=DIR",
        help="also run orq_async imported from DIR, as client orq_async@NAME",
    )
    p.add_argument("--output", type=Path, default=None, help="default benchmarks/RESULTS.md")
    p.add_argument("--json", type=Path, default=None, help="also dump the raw records here")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run what was asked and write the report; exit status 1 if any client failed outright."""
    args = parse_args(argv)
    started = time.perf_counter()
    quick = args.quick
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    clients = (
        [c.strip() for c in args.clients.split(",") if c.strip()]
        if args.clients
        else list(CORE_CLIENTS if quick else ALL_CLIENTS)
    )
    variants = dict(v.split("=", 1) for v in args.variant)
    for name in variants:
        clients.append(f"orq_async@{name}")
    if FLOOR not in clients:
        clients.append(FLOOR)
    for name in clients:
        if name.partition("@")[0] not in CLIENTS:
            raise SystemExit(f"unknown client {name!r}; known: {', '.join(CLIENTS)}")
    concurrencies = args.concurrency or ([1, 16] if quick else [1, 16, 64, 256])
    sizes = [k * KIB for k in (args.sizes_kib or ([64] if quick else [64, 1024]))]
    # Many short rounds beat few long ones on a shared machine: a burst of outside load spoils
    # one round's pair of windows, and the median over rounds shrugs it off.
    rounds = args.rounds or (2 if quick else 5)
    seconds = args.seconds or (0.3 if quick else 0.6)
    timing: dict[str, Any] = {
        "seconds": seconds,
        "max_seconds": max(4 * seconds, 4.0),
        "min_requests": 20 if quick else 50,
        "warmup_requests": 10 if quick else 20,
        "warmup_seconds": 0.1 if quick else 0.2,
    }
    memory_size = (args.memory_mib or (4 if quick else 32)) * MIB
    reps = args.coldstart_reps or (5 if quick else 15)
    targets = ["standin", "emulator"] if args.target == "both" else [args.target]
    log = print

    runs: list[dict[str, Any]] = []
    mem_records: list[dict[str, Any]] = []
    cold: dict[str, Any] | None = None
    failed = False
    if "throughput" in only:
        for target in targets:
            log(f"throughput against the {target}:")
            try:
                server = spawn(target, cpu=0)
            except RuntimeError as exc:
                log(f"  cannot start the {target}: {exc}")
                runs.append(_empty_run(target, clients, sizes, concurrencies, rounds, str(exc)))
                continue
            try:
                # The emulator is a second opinion: fewer rounds keep --target both bounded.
                target_rounds = rounds if target == "standin" else min(rounds, 3)
                records, skipped, notes = throughput.run_rounds(
                    url=server.url,
                    server_pid=server.pid,
                    clients=clients,
                    sizes=sizes,
                    concurrencies=concurrencies,
                    rounds=target_rounds,
                    timing=timing,
                    client_cpu=1,
                    variants=variants,
                    log=log,
                )
            finally:
                server.close()
            failed |= any(not r.get("ok") and not r.get("unsupported") for r in records)
            runs.append(
                {
                    "target": target,
                    "records": records,
                    "skipped": skipped,
                    "notes": notes,
                    "clients": [c for c in clients if c not in skipped],
                    "sizes": sizes,
                    "concurrencies": concurrencies,
                    "rounds": target_rounds,
                }
            )
    if "memory" in only:
        log(f"memory, images of {memory_size // MIB} MiB:")
        server = spawn("standin", cpu=0)
        try:
            with tempfile.TemporaryDirectory(prefix="orq-bench-") as tmp:
                memory.make_files(Path(tmp), 4, memory_size)
                mem_records = memory.run_all(
                    url=server.url,
                    clients=[c for c in clients if "@" not in c],
                    modes=["paths", "files"] if quick else ["paths", "files", "one"],
                    directory=Path(tmp),
                    size=memory_size,
                    client_cpu=1,
                    log=log,
                )
        finally:
            server.close()
        failed |= any(not r.get("ok") and not r.get("unsupported") for r in mem_records)
    if "coldstart" in only:
        log(f"cold start, {reps} processes per variant:")
        names = [coldstart.FLOOR, coldstart.FUNC, "orq_async_core"]
        if args.clients:
            names += [c for c in clients if c in coldstart.VARIANTS and c not in names]
        elif not quick:
            names = list(coldstart.VARIANTS)
        names += [coldstart.add_sdk_copy(name, path) for name, path in variants.items()]
        cold = coldstart.run_all(variants=names, reps=reps, cpu=1, log=log)
        failed |= bool(cold["errors"])

    rate_section = ""
    if "ratelimit" in only:
        log("fan-out against a rate limit:")
        rate_args = ratelimit.parse_args([])
        rate_records = ratelimit.run_all(rate_args, log)
        failed |= any("error" in r for r in rate_records)
        rate_section = ratelimit.render(rate_records, rate_args, "python -m benchmarks.ratelimit")
    output = args.output or (None if quick else ROOT / "benchmarks" / "RESULTS.md")
    manual = report.read_manual(output or ROOT / "benchmarks" / "RESULTS.md")
    command = "python -m benchmarks.run " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    text = report.render(
        command=command.strip(),
        runs=runs,
        memory=mem_records,
        memory_size=memory_size,
        cold=cold,
        manual=manual if output else "",
        ratelimit=rate_section or (ratelimit.read_section(output) if output else ""),
        elapsed=time.perf_counter() - started,
    )
    if output:
        output.write_text(text)
        log(f"wrote {output}")
    else:
        print(text)
    if args.json:
        args.json.write_text(
            json.dumps({"runs": runs, "memory": mem_records, "coldstart": cold}, indent=1)
        )
    return 1 if failed else 0


def _empty_run(
    target: str, clients: list[str], sizes: list[int], cs: list[int], rounds: int, why: str
) -> dict[str, Any]:
    return {
        "target": target,
        "records": [],
        "skipped": {},
        "notes": [why],
        "clients": clients,
        "sizes": sizes,
        "concurrencies": cs,
        "rounds": rounds,
    }


if __name__ == "__main__":
    raise SystemExit(main())

"""Small helpers shared by the benchmark processes: pinning, /proc readings, test images."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import statistics
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
KIB = 1024
MIB = 1024 * 1024


def pin(cpu: int | None) -> None:
    """Pin this process to one CPU when the platform allows it."""
    if cpu is None or not hasattr(os, "sched_setaffinity"):
        return
    with contextlib.suppress(OSError, ValueError):
        os.sched_setaffinity(0, {cpu % (os.cpu_count() or 1)})


def fake_png(size: int) -> bytes:
    """``size`` bytes starting with the PNG signature (enough for every client's sniffing)."""
    return PNG_MAGIC + os.urandom(max(size - len(PNG_MAGIC), 0))


def write_fake_png(path: Path, size: int) -> None:
    """Write a ``size``-byte fake PNG in 1 MiB chunks (never the whole file in memory)."""
    with open(path, "wb") as f:
        f.write(PNG_MAGIC)
        left = size - len(PNG_MAGIC)
        while left > 0:
            n = min(left, MIB)
            f.write(os.urandom(n))
            left -= n


def proc_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a process, from /proc (None where unavailable)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
    except OSError:
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def proc_status_kib(field: str) -> int | None:
    """A ``kB`` field (VmRSS, VmHWM) of /proc/self/status, in KiB."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def reset_peak_rss() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0); False where that is not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return True


def percentile(sorted_values: list[float], q: float) -> float:
    """The q-quantile (0..1) of sorted values, nearest-rank."""
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q * len(sorted_values) + 0.5) - 1))
    return sorted_values[index]


def median(values: list[float]) -> float:
    """The median, NaN for none."""
    return statistics.median(values) if values else float("nan")


def emit(obj: object) -> None:
    """One JSON line on stdout, flushed (the worker protocol)."""
    print(json.dumps(obj), flush=True)


async def drive(call: Callable[[], Awaitable[object]], concurrency: int, requests: int) -> None:
    """``requests`` calls made by ``concurrency`` concurrent callers (a closed loop)."""
    left = requests

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            await call()

    await asyncio.gather(*(worker() for _ in range(concurrency)))

"""Peak memory of one large upload: 4 images of 32 MiB, given as paths or as file objects.

Each measurement is a fresh process (``python -m benchmarks.memory CLIENT --mode MODE ...``):
it sets the client up, warms it with three small calls of the same kind of input, collects
garbage, resets the kernel's peak-RSS mark (``/proc/self/clear_refs``) and reads ``VmRSS`` as the
baseline, makes the one large call, then reads ``VmHWM``. The growth is ``VmHWM - baseline``.
The stand-in's counters confirm that every byte of every image arrived.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import subprocess
import sys
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from benchmarks.clients import CLIENTS, ImageSource, Unsupported
from benchmarks.common import (
    ROOT,
    emit,
    pin,
    proc_status_kib,
    reset_peak_rss,
    write_fake_png,
)
from benchmarks.throughput import server_stats

MODES = {
    "paths": "4 images as paths",
    "files": "4 images as file objects",
    "one": "1 image as a file object",
}


def _inputs(mode: str, paths: list[Path], stack: ExitStack) -> list[ImageSource]:
    if mode == "paths":
        return list(paths)
    return [stack.enter_context(open(p, "rb")) for p in paths]


async def measure(name: str, url: str, mode: str, big: list[Path], small: Path) -> dict[str, Any]:
    """Warm up, reset the peak, make the large call; return the RSS figures (KiB)."""
    client = CLIENTS[name]()
    await client.start(url)
    try:
        for _ in range(3):
            with ExitStack() as stack:
                warm = _inputs(mode, [small] * len(big), stack)
                client.check(warm)
                await client.edit(warm)
        gc.collect()
        reset = reset_peak_rss()
        baseline = proc_status_kib("VmRSS" if reset else "VmHWM") or 0
        with ExitStack() as stack:
            await client.edit(_inputs(mode, big, stack))
        peak = proc_status_kib("VmHWM") or 0
    finally:
        await client.close()
    return {
        "baseline_kib": baseline,
        "peak_kib": peak,
        "growth_kib": peak - baseline,
        "reset": reset,
    }


def make_files(directory: Path, count: int, size: int) -> tuple[list[Path], Path]:
    """The large images and one small one (for warm-up), written once."""
    big = []
    for i in range(count):
        path = directory / f"big{i}.png"
        if not path.exists() or path.stat().st_size != size:
            write_fake_png(path, size)
        big.append(path)
    small = directory / "small.png"
    if not small.exists():
        write_fake_png(small, 64 * 1024)
    return big, small


def run_all(
    *,
    url: str,
    clients: Sequence[str],
    modes: Sequence[str],
    directory: Path,
    size: int,
    client_cpu: int | None,
    log: Any = print,
) -> list[dict[str, Any]]:
    """One fresh process per (client, mode); returns one record each."""
    records = []
    for mode in modes:
        count = 1 if mode == "one" else 4
        for name in clients:
            record: dict[str, Any] = {"client": name, "mode": mode, "count": count, "size": size}
            why = CLIENTS[name].available()
            if why is not None:
                record.update(ok=False, unsupported=why)
                records.append(record)
                continue
            before = server_stats(url)
            cmd = [sys.executable, "-m", "benchmarks.memory", name, "--url", url]
            cmd += ["--mode", mode, "--dir", str(directory), "--size", str(size)]
            cmd += ["--count", str(count)]
            if client_cpu is not None:
                cmd += ["--cpu", str(client_cpu)]
            proc = subprocess.run(
                cmd, cwd=ROOT, capture_output=True, text=True, check=False, timeout=600
            )
            lines = proc.stdout.strip().splitlines()
            if proc.returncode != 0 or not lines:
                tail = (proc.stderr.strip().splitlines() or ["?"])[-1]
                record.update(ok=False, error=f"exit {proc.returncode}: {tail[:300]}")
            else:
                record.update(json.loads(lines[-1]))
            after = server_stats(url)
            if record.get("ok") and before is not None and after is not None:
                got = after["image_bytes"] - before["image_bytes"]
                want = count * size + 3 * count * 64 * 1024
                record["server_checked"] = got == want
                if got != want:
                    record["ok"] = False
                    record["error"] = f"the server received {got} image bytes, not {want}"
            records.append(record)
            log(_line(record))
    return records


def _line(record: dict[str, Any]) -> str:
    head = f"  {record['client']:<17} {record['mode']:<6}"
    if not record.get("ok"):
        return f"{head} {record.get('unsupported') or record.get('error')}"
    return f"{head} peak RSS growth {record['growth_kib'] / 1024:8.1f} MiB"


def main(argv: list[str] | None = None) -> None:
    """Worker entry point: one measurement, one JSON line."""
    parser = argparse.ArgumentParser(description="one peak-RSS measurement")
    parser.add_argument("client", choices=sorted(CLIENTS))
    parser.add_argument("--url", required=True)
    parser.add_argument("--mode", choices=sorted(MODES), required=True)
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--size", type=int, default=32 * 1024 * 1024)
    parser.add_argument("--count", type=int, default=4)
    parser.add_argument("--cpu", type=int, default=None)
    args = parser.parse_args(argv)
    pin(args.cpu)
    big, small = make_files(args.dir, args.count, args.size)
    try:
        result = asyncio.run(measure(args.client, args.url, args.mode, big, small))
    except Unsupported as exc:
        emit({"ok": False, "unsupported": str(exc)})
        return
    except Exception as exc:
        emit({"ok": False, "error": f"{type(exc).__name__}: {exc}"[:500]})
        return
    emit({"ok": True, **result})


if __name__ == "__main__":
    main()

"""Turn the raw records of a run into ``RESULTS.md`` (Markdown tables)."""

from __future__ import annotations

import datetime
import importlib.metadata
import os
import platform
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks import coldstart
from benchmarks.clients import CLIENTS, FLOOR
from benchmarks.common import median
from benchmarks.memory import MODES

MANUAL_START = "<!-- manual:start -->"
MANUAL_END = "<!-- manual:end -->"

TARGET_CLIENTS = ("orq_async", "orq_async_facade")
METRICS = (
    ("rps", "requests/s", "higher is better"),
    ("p50_ms", "p50 latency", "lower is better"),
    ("p99_ms", "p99 latency", "lower is better"),
    ("cpu_ms_per_req", "client CPU per request", "lower is better"),
)


def client_label(name: str) -> str:
    """A client's human name; ``base@variant`` is an A/B copy of the SDK."""
    base, _, variant = name.partition("@")
    label = CLIENTS[base].label if base in CLIENTS else base
    return f"{label} [{variant}]" if variant else label


def _size(size: int) -> str:
    return f"{size // (1024 * 1024)} MiB" if size >= 1024 * 1024 else f"{size // 1024} KiB"


def versions() -> dict[str, str]:
    """Installed versions of the packages involved."""
    out = {"python": platform.python_version()}
    for dist in (
        "orq-async",
        "aiohttp",
        "attrs",
        "cattrs",
        "tenacity",
        "yarl",
        "multidict",
        "orq-ai-sdk",
        "openai",
        "httpx",
        "pydantic",
    ):
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def machine() -> dict[str, str]:
    """nproc, CPU model, kernel."""
    model = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "nproc": str(affinity or os.cpu_count()),
        "cpu": model,
        "kernel": f"{platform.system()} {platform.release()}",
    }


class Ratios:
    """Per-round ratios of each client's figures to the floor's in the same round."""

    def __init__(self, records: Sequence[dict[str, Any]]) -> None:
        self.floor: dict[tuple[int, int, int], dict[str, Any]] = {}
        self.by: dict[tuple[str, int, int], list[dict[str, Any]]] = defaultdict(list)
        self.failed: dict[tuple[str, int, int], str] = {}
        for r in records:
            if r.get("ok") and r["client"] == FLOOR:
                self.floor[(r["round"], r["size"], r["c"])] = r
        for r in records:
            key = (r["client"], r["size"], r["c"])
            if r.get("ok"):
                self.by[key].append(r)
            else:
                self.failed[key] = str(r.get("unsupported") or r.get("error"))

    def ratios(self, client: str, size: int, c: int, metric: str) -> list[float]:
        """The client's metric over the floor's, one per round where both ran."""
        out = []
        for r in self.by.get((client, size, c), []):
            floor = self.floor.get((r["round"], size, c))
            if floor and floor.get(metric) and r.get(metric) is not None:
                out.append(r[metric] / floor[metric])
        return out

    def values(self, client: str, size: int, c: int, metric: str) -> list[float]:
        """The client's raw metric, one per round."""
        return [r[metric] for r in self.by.get((client, size, c), []) if r.get(metric) is not None]

    def cell(self, client: str, size: int, c: int, metric: str) -> str:
        """``median (min-max)`` of the ratios, or why there is none."""
        if (client, size, c) in self.failed and not self.by.get((client, size, c)):
            return "n/a: " + self.failed[(client, size, c)][:60]
        ratios = self.ratios(client, size, c, metric)
        if not ratios:
            return "-"
        if len(ratios) == 1:
            return f"{ratios[0]:.2f}"
        return f"{median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f})"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def throughput_section(run: dict[str, Any], title: str) -> list[str]:
    """Tables of ratios to the floor, one per metric and image size."""
    records = run["records"]
    if not records:
        return []
    ratios = Ratios(records)
    clients = run["clients"]
    sizes = run["sizes"]
    concurrencies = run["concurrencies"]
    out = [f"## {title}", ""]
    out.append(
        f"Target: {run['target']}. {run['rounds']} rounds; each cell is the client's figure "
        "divided by the floor's (hand-written aiohttp) in the same round: median (min-max) over "
        "rounds. The floor's own medians are given for scale only (a shared, noisy machine)."
    )
    out.append("")
    for metric, name, better in METRICS:
        for size in sizes:
            out.append(f"### {name}, {_size(size)} image ({better})")
            out.append("")
            header = ["client", *[f"c={c}" for c in concurrencies]]
            rows = []
            for client in clients:
                if client == FLOOR:
                    continue
                rows.append(
                    [client_label(client)]
                    + [ratios.cell(client, size, c, metric) for c in concurrencies]
                )
            floor_row = [f"floor, absolute median ({_unit(metric)})"]
            for c in concurrencies:
                vals = ratios.values(FLOOR, size, c, metric)
                floor_row.append(f"{median(vals):.{_digits(metric)}f}" if vals else "-")
            rows.append(floor_row)
            out += [*_table(header, rows), ""]
    out.append("### The server's CPU share (CPU seconds per wall second, median over rounds)")
    out.append("")
    out.append(
        "Near 100% the server, not the client, limits throughput. The stand-in runs on its own "
        "CPU; columns are size / concurrency."
    )
    out.append("")
    header = ["client"] + [f"{_size(s)} c={c}" for s in sizes for c in concurrencies]
    rows = []
    for client in clients:
        row = [client_label(client)]
        for s in sizes:
            for c in concurrencies:
                vals = [v for v in ratios.values(client, s, c, "server_cpu_share") if v is not None]
                row.append(f"{median(vals):.0%}" if vals else "-")
        rows.append(row)
    out += [*_table(header, rows), ""]
    if run.get("skipped"):
        out.append("Not run: " + "; ".join(f"{k}: {v}" for k, v in run["skipped"].items()))
        out.append("")
    for note in run.get("notes", []):
        out.append(f"Note: {note}")
        out.append("")
    errors = [r for r in records if r.get("ok") and r.get("errors")]
    if errors:
        out.append(
            "Calls that failed during measurement: "
            + "; ".join(f"{r['client']} c={r['c']}: {r['errors']} ({r['error']})" for r in errors)
        )
        out.append("")
    return out


def _unit(metric: str) -> str:
    return {"rps": "req/s", "cpu_ms_per_req": "ms"}.get(metric, "ms")


def _digits(metric: str) -> int:
    return 0 if metric == "rps" else 3 if metric == "cpu_ms_per_req" else 2


def memory_section(records: Sequence[dict[str, Any]], size: int) -> list[str]:
    """Peak RSS growth per client and input kind."""
    if not records:
        return []
    out = ["## Memory: peak RSS growth of one large upload", ""]
    out.append(
        "A fresh process per cell: warm-up with three small calls of the same input kind, "
        "`gc.collect()`, peak reset via `/proc/self/clear_refs`, baseline `VmRSS`; then one call; "
        f"growth = `VmHWM` - baseline. Images of {_size(size)}; the stand-in checked that every "
        "byte arrived."
    )
    out.append("")
    modes = list(dict.fromkeys(r["mode"] for r in records))
    clients = list(dict.fromkeys(r["client"] for r in records))
    cells = {(r["client"], r["mode"]): r for r in records}
    rows = []
    for client in clients:
        row = [client_label(client)]
        for mode in modes:
            r = cells.get((client, mode))
            if r is None:
                row.append("-")
            elif r.get("ok"):
                row.append(f"{r['growth_kib'] / 1024:.1f} MiB")
            else:
                row.append("cannot: " + str(r.get("unsupported") or r.get("error"))[:80])
        rows.append(row)
    header = [f"{MODES[m]} ({_size(size)} each)" for m in modes]
    out += [*_table(["client", *header], rows), ""]
    return out


def coldstart_section(result: dict[str, Any] | None) -> list[str]:
    """Cold-start medians, ratios and the modules pulled in."""
    if not result:
        return []
    samples, walls = result["samples"], result["walls"]
    floor = median(samples.get(coldstart.FLOOR, []))
    floor_wall = median(walls.get(coldstart.FLOOR, []))
    reps = max((len(v) for v in samples.values()), default=0)
    out = ["## Cold start", ""]
    out.append(
        f"{reps} fresh processes per variant, interleaved in rotated order. *import* = time "
        "from before the first import to the operation in hand, measured inside the process "
        "(the interpreter's own start-up left out); *process* = the whole process's wall time. "
        "Ratios are of medians, to `import aiohttp, attrs, cattrs, tenacity`."
    )
    out.append("")
    rows = []
    for name, (label, _code, _module) in coldstart.VARIANTS.items():
        if name in result["missing"]:
            rows.append([label, "not installed", "", "", "", ""])
            continue
        if name in result["errors"]:
            rows.append([label, "failed: " + result["errors"][name][:60], "", "", "", ""])
            continue
        s, w = samples.get(name, []), walls.get(name, [])
        if not s:
            continue
        rows.append(
            [
                label,
                f"{median(s) * 1000:.1f} ({min(s) * 1000:.1f}-{max(s) * 1000:.1f})",
                f"{median(s) / floor:.2f}",
                f"{median(w) * 1000:.0f}",
                f"{median(w) / floor_wall:.2f}",
                str(result["modules"].get(name, "")),
            ]
        )
    header = [
        "variant",
        "import ms, median (min-max)",
        "ratio",
        "process ms",
        "process ratio",
        "modules loaded",
    ]
    out += [*_table(header, rows), ""]
    pulled = result["pulled"]
    own = [m for m in pulled if m.split(".")[0] == "orq_async"]
    other = [m for m in pulled if m.split(".")[0] != "orq_async"]
    out.append(
        f"Importing the standalone function after `import aiohttp, attrs, cattrs, tenacity` "
        f"loads {len(pulled)} more modules: {len(own)} of orq_async "
        f"({', '.join(f'`{m}`' for m in own)}) and {len(other)} others"
        + (f" ({', '.join(f'`{m}`' for m in other)})." if other else ".")
    )
    out.append("")
    return out


def targets_section(
    run: dict[str, Any] | None, memory: Sequence[dict[str, Any]], cold: dict[str, Any] | None
) -> list[str]:
    """The issue's targets, met or missed, with the figure."""
    rows: list[list[str]] = []

    def add(what: str, client: str, ratios: list[float], limit: float, higher: bool) -> None:
        if not ratios:
            rows.append([what, client_label(client), "not measured", ""])
            return
        m = median(ratios)
        ok = m >= limit if higher else m <= limit
        span = f" ({min(ratios):.2f}-{max(ratios):.2f})" if len(ratios) > 1 else ""
        rows.append([what, client_label(client), f"{m:.2f}x{span}", "met" if ok else "**MISSED**"])

    if run and run["records"]:
        ratios = Ratios(run["records"])
        small = min(run["sizes"])
        for client in [c for c in TARGET_CLIENTS if c in run["clients"]]:
            for c in (16, 64):
                if c in run["concurrencies"]:
                    add(
                        f"throughput c={c}, {_size(small)} ≥ 0.90x",
                        client,
                        ratios.ratios(client, small, c, "rps"),
                        0.90,
                        True,
                    )
            for size in run["sizes"]:
                if 1 in run["concurrencies"]:
                    add(
                        f"p50 latency c=1, {_size(size)} ≤ 1.15x",
                        client,
                        ratios.ratios(client, size, 1, "p50_ms"),
                        1.15,
                        False,
                    )
            worst: tuple[float, list[float], str] | None = None
            for size in run["sizes"]:
                for c in run["concurrencies"]:
                    rs = ratios.ratios(client, size, c, "cpu_ms_per_req")
                    if rs and (worst is None or median(rs) > worst[0]):
                        worst = (median(rs), rs, f"{_size(size)} c={c}")
            if worst is not None:
                add(
                    f"client CPU/request ≤ 1.25x (worst: {worst[2]})", client, worst[1], 1.25, False
                )
    for r in memory:
        if r["client"] in TARGET_CLIENTS and r["mode"] == "paths":
            if r.get("ok"):
                mib = r["growth_kib"] / 1024
                ok = "met" if mib <= 8 else "**MISSED**"
                rows.append(
                    [
                        f"4 x {_size(r['size'])} by path: peak RSS growth ≤ 8 MiB",
                        client_label(r["client"]),
                        f"{mib:.1f} MiB",
                        ok,
                    ]
                )
            else:
                rows.append(
                    [
                        "4 x 32 MiB by path",
                        client_label(r["client"]),
                        str(r.get("error")),
                        "**MISSED**",
                    ]
                )
    if cold and cold["samples"].get(coldstart.FUNC) and cold["samples"].get(coldstart.FLOOR):
        ratio = median(cold["samples"][coldstart.FUNC]) / median(cold["samples"][coldstart.FLOOR])
        rows.append(
            [
                "cold start of the standalone function ≤ 1.10x the four dependencies",
                client_label("orq_async"),
                f"{ratio:.2f}x",
                "met" if ratio <= 1.10 else "**MISSED**",
            ]
        )
    if not rows:
        return []
    return ["## Targets", "", *_table(["target", "client", "measured", ""], rows), ""]


def render(
    *,
    command: str,
    runs: Sequence[dict[str, Any]],
    memory: Sequence[dict[str, Any]],
    memory_size: int,
    cold: dict[str, Any] | None,
    manual: str,
    elapsed: float,
    ratelimit: str = "",
) -> str:
    """The whole RESULTS.md."""
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    mach = machine()
    vers = versions()
    out = ["# Benchmark results", ""]
    out.append(f"- Command: `{command}` ({elapsed:.0f} s)")
    out.append(f"- Date: {now}")
    out.append(f"- Machine: {mach['nproc']} CPUs ({mach['cpu']}), {mach['kernel']}")
    out.append("- Versions: " + ", ".join(f"{k} {v}" for k, v in vers.items()))
    out.append(
        "- Layout: server pinned to CPU 0, each client process pinned to CPU 1; loopback only. "
        "The machine is shared with other jobs: read ratios, not absolute times."
    )
    out.append("")
    first = runs[0] if runs else None
    out += targets_section(first, memory, cold)
    out += [MANUAL_START, manual.strip("\n"), MANUAL_END, ""]
    for run in runs:
        out += throughput_section(run, f"Throughput and latency ({run['target']})")
    out += memory_section(memory, memory_size)
    out += coldstart_section(cold)
    if ratelimit:  # benchmarks.ratelimit's section, between its own markers
        out += ["", ratelimit.strip("\n"), ""]
    return "\n".join(out).rstrip() + "\n"


def read_manual(path: Path) -> str:
    """The hand-written section of an existing RESULTS.md (kept across runs)."""
    try:
        text = path.read_text()
    except OSError:
        return ""
    start, end = text.find(MANUAL_START), text.find(MANUAL_END)
    if start < 0 or end < start:
        return ""
    return text[start + len(MANUAL_START) : end].strip("\n")

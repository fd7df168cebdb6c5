"""Throughput and latency rounds: every client in its own fresh process, order rotated.

Each round starts one load worker (:mod:`benchmarks.load`) per client, then runs every
scenario (image size x concurrency) on each client in turn, rotating the order by round and by
scenario so no client is always first or last. Ratios to the floor are taken within a round
(the floor ran seconds before or after, under the same background load).
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections.abc import Sequence
from typing import IO, Any

from benchmarks.clients import CLIENTS
from benchmarks.common import ROOT


def rotate(items: Sequence[str], by: int) -> list[str]:
    """``items`` rotated left by ``by``."""
    if not items:
        return []
    k = by % len(items)
    return [*items[k:], *items[:k]]


def server_stats(url: str) -> dict[str, Any] | None:
    """The stand-in's counters, or None (the emulator has none)."""
    try:
        with urllib.request.urlopen(url + "/__bench/stats", timeout=10) as resp:
            data: dict[str, Any] = json.loads(resp.read())
            return data
    except (OSError, ValueError):
        return None


class Worker:
    """A load worker process for one client."""

    def __init__(
        self,
        name: str,
        url: str,
        server_pid: int | None,
        cpu: int | None,
        variants: dict[str, str] | None = None,
    ) -> None:
        self.name = name
        base, _, variant = name.partition("@")
        cmd = [sys.executable, "-m", "benchmarks.load", base, "--url", url]
        if variant:
            cmd += ["--sdk-path", (variants or {})[variant]]
        if server_pid is not None:
            cmd += ["--server-pid", str(server_pid)]
        if cpu is not None:
            cmd += ["--cpu", str(cpu)]
        self.proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.failure: str | None = None
        ready = self._read()
        if ready is None or "ready" not in ready:
            self.failure = self._stderr_tail() or f"worker said {ready!r}"

    def _read(self) -> dict[str, Any] | None:
        out: IO[str] | None = self.proc.stdout
        assert out is not None
        line = out.readline()
        if not line:
            return None
        data: dict[str, Any] = json.loads(line)
        return data

    def _stderr_tail(self) -> str:
        self.proc.kill()
        _, err = self.proc.communicate(timeout=30)
        lines = [ln for ln in (err or "").strip().splitlines() if ln.strip()]
        return lines[-1][:300] if lines else ""

    def run(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """Run one scenario in the worker."""
        if self.failure is not None:
            return {"ok": False, "error": self.failure}
        stdin = self.proc.stdin
        assert stdin is not None
        stdin.write(json.dumps(cmd) + "\n")
        stdin.flush()
        result = self._read()
        if result is None:
            self.failure = self._stderr_tail() or "worker died"
            return {"ok": False, "error": self.failure}
        return result

    def close(self) -> None:
        """End the worker (EOF on its stdin) and reap it."""
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


def run_rounds(
    *,
    url: str,
    server_pid: int | None,
    clients: Sequence[str],
    sizes: Sequence[int],
    concurrencies: Sequence[int],
    rounds: int,
    timing: dict[str, Any],
    client_cpu: int | None,
    variants: dict[str, str] | None = None,
    log: Any = print,
) -> tuple[list[dict[str, Any]], dict[str, str], list[str]]:
    """Run the rounds; return (records, clients not run and why, notes about the server)."""
    records: list[dict[str, Any]] = []
    skipped: dict[str, str] = {}
    notes: list[str] = []
    runnable = []
    for name in clients:
        why = CLIENTS[name.partition("@")[0]].available()
        if why is None:
            runnable.append(name)
        else:
            skipped[name] = why
    scenarios = [(size, c) for size in sizes for c in concurrencies]
    for rnd in range(rounds):
        before = server_stats(url)
        workers = {
            name: Worker(name, url, server_pid, client_cpu, variants)
            for name in rotate(runnable, rnd)
        }
        try:
            for index, (size, concurrency) in enumerate(scenarios):
                for name in rotate(runnable, rnd + index):
                    cmd = {"concurrency": concurrency, "size": size, **timing}
                    result = workers[name].run(cmd)
                    record = {"round": rnd, "client": name, "size": size, "c": concurrency}
                    record.update(result)
                    records.append(record)
                    log(_line(record))
        finally:
            for worker in workers.values():
                worker.close()
        after = server_stats(url)
        if before is not None and after is not None:
            bad = after["bad"] - before["bad"]
            served = after["requests"] - before["requests"]
            if bad:
                notes.append(
                    f"round {rnd}: the stand-in refused {bad} of {served} requests "
                    f"(last: {after['last_error']})"
                )
    return records, skipped, notes


def _line(record: dict[str, Any]) -> str:
    kib = record["size"] // 1024
    head = f"  r{record['round']} {record['client']:<17} {kib:>5} KiB c={record['c']:<3}"
    if not record.get("ok"):
        return f"{head} {record.get('unsupported') or record.get('error')}"
    share = record.get("server_cpu_share")
    return (
        f"{head} {record['rps']:8.1f} req/s  p50 {record['p50_ms']:7.2f} ms  "
        f"p99 {record['p99_ms']:7.2f} ms  cpu {record['cpu_ms_per_req']:6.3f} ms/req  "
        f"server {'-' if share is None else f'{share:.0%}'}"
        + (f"  errors {record['errors']}" if record.get("errors") else "")
        + (
            f"  mean {record['mean_ms']:.2f} ms  max {record['max_ms']:.1f} ms"
            if "max_ms" in record
            else ""
        )
    )

"""``images edit-batch`` and Ctrl-C: the first stops sending and lets calls in flight finish,
the second cancels them; the manifest stays consistent and a re-run never pays twice."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from ._support import OnPty, clean_env, run, traces
from .conftest import Served
from .test_batch import make_images, records


def _wait_for(out: Path, status: str, count: int) -> None:
    manifest = out / "manifest.jsonl"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if manifest.exists():
            text = manifest.read_text()
            if text.count(f'"status":"{status}"') >= count:
                return
        time.sleep(0.02)
    raise AssertionError(f"no {count} {status} record(s) in time")


def test_the_first_ctrl_c_finishes_in_flight_and_a_rerun_pays_only_the_rest(
    served: Served, tmp_path: Path
) -> None:
    make_images(tmp_path / "in", 6)
    out = tmp_path / "out"
    args = ["images", "edit-batch", str(tmp_path / "in"), "--server-url", served.url,
            "--model", "local/slow-700", "--prompt", "p", "--out", str(out),
            "--concurrency", "2"]  # fmt: skip
    env = clean_env(ORQ_API_KEY=served.key)
    term = OnPty(args, env)
    _wait_for(out, "done", 1)
    term.interrupt()
    code, _, seen = term.finish(timeout=30)
    assert code == 130, seen
    assert b"stopping: no new calls" in seen
    assert re.search(rb"\[#*\.*\] \d/6, 0 failed, \d+\.\d/s, ETA", seen)  # the progress bar
    assert seen.replace(b"\r\n", b"\n").endswith(b"interrupted\n")
    first = records(out)
    started = [r["key"] for r in first if r["status"] == "started"]
    done = [r["key"] for r in first if r["status"] == "done"]
    assert sorted(started) == sorted(done)  # every call sent was finished and saved
    assert 2 <= len(done) < 6
    rerun = run(*args, env=env)
    assert rerun.returncode == 0, rerun.stderr
    assert rerun.stdout.startswith(f"{6 - len(done)} done, 0 failed, skipped: {len(done)} done")
    sent = traces(served.url)
    assert len(sent) == 6
    assert len({t["body_sha256"] for t in sent}) == 6  # each item paid for exactly once


def test_a_second_ctrl_c_cancels_in_flight_and_records_it(tmp_path: Path) -> None:
    make_images(tmp_path / "in", 2)
    out = tmp_path / "out"
    common = ["images", "edit-batch", str(tmp_path / "in"), "--emulator", "--prompt", "p",
              "--out", str(out)]  # fmt: skip
    term = OnPty([*common, "--model", "local/slow-60000"])
    _wait_for(out, "started", 2)
    term.interrupt()
    term.read_until(b"stopping")
    term.interrupt()
    code, _, seen = term.finish(timeout=5)  # not the model's minute
    assert code == 130, seen
    assert sorted(r["status"] for r in records(out)) == ["cancelled"] * 2 + ["started"] * 2
    again = run(*common, "--model", "local/echo", "--json")
    assert again.returncode == 1  # cancelled calls may have been billed: not resent by default
    assert json.loads(again.stdout)["skipped"] == {"cancelled": 2}
    retried = run(*common, "--model", "local/echo", "--retry-failed")
    assert retried.returncode == 0, retried.stderr
    assert retried.stdout.startswith("2 done, 0 failed")

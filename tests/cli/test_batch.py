"""``images edit-batch`` (issue 14 point 5): outputs, manifest, resume, retry, shards, input
errors. The separate emulator process's traces count what was paid for."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from ._support import MUG, clean_env, limit_file_size, run, run_all, traces
from .conftest import Served


def make_images(folder: Path, count: int) -> list[Path]:
    """``count`` distinct PNG files (the mug with different trailing bytes)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"img{i}.png"
        path.write_bytes(MUG.read_bytes() + bytes([i]) * 8)
        paths.append(path)
    return paths


def batch(served: Served, *args: str) -> subprocess.CompletedProcess[str]:
    return run(
        "images", "edit-batch", "--server-url", served.url, *args,
        env=clean_env(ORQ_API_KEY=served.key),
    )  # fmt: skip


def records(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]


def test_a_folder_is_edited_and_a_rerun_pays_nothing(served: Served, tmp_path: Path) -> None:
    images = make_images(tmp_path / "in", 3)
    out = tmp_path / "out"
    args = (str(tmp_path / "in"), "--model", "local/echo", "--prompt", "p", "--out", str(out))
    first = batch(served, *args)
    assert first.returncode == 0, first.stderr
    assert first.stdout == f"3 done, 0 failed; manifest {out / 'manifest.jsonl'}\n"
    assert first.stderr == ""  # no progress bar without a terminal
    for image in images:
        assert (out / image.name).read_bytes() == image.read_bytes()
    done = [r for r in records(out) if r["status"] == "done"]
    assert sorted(r["inputs"][0] for r in done) == sorted(map(str, images))
    assert all(r["attempts"] == 1 and r["outputs"] for r in done)
    assert [r["status"] for r in records(out)].count("started") == 3
    second = batch(served, *args)
    assert second.returncode == 0, second.stderr
    assert "0 done, 0 failed, skipped: 3 done" in second.stdout
    assert len(traces(served.url)) == 3  # the re-run sent nothing


def test_failures_exit_1_and_retry_failed_sends_only_them(served: Served, tmp_path: Path) -> None:
    make_images(tmp_path, 2)
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text(
        '{"id": "good", "image": "img0.png", "prompt": "p"}\n'
        '{"id": "flaky", "image": "img1.png", "prompt": "p", "model": "local/flaky-1-502"}\n'
    )
    out = tmp_path / "out"
    args = (str(jobs), "--model", "local/echo", "--out", str(out), "--json")
    first = batch(served, *args)
    assert first.returncode == 1
    summary = json.loads(first.stdout)
    assert (summary["ok"], summary["done"], summary["failed"]) == (False, 1, 1)
    assert "failed: flaky: HTTP 502" in first.stderr
    again = batch(served, *args)
    assert again.returncode == 1
    assert "add --retry-failed" in again.stderr
    retried = batch(served, *args, "--retry-failed")
    assert retried.returncode == 0, retried.stderr
    assert json.loads(retried.stdout)["done"] == 1
    assert (out / "good.png").is_file()
    assert (out / "flaky.png").is_file()
    assert [t["model_requested"] for t in traces(served.url)].count("local/flaky-1-502") == 2
    assert len(traces(served.url)) == 3


def test_shards_split_the_batch_without_overlap(served: Served, tmp_path: Path) -> None:
    make_images(tmp_path / "in", 6)
    out = tmp_path / "out"
    args = ("--model", "local/echo", "--prompt", "p", "--out", str(out))
    for shard in ("1/2", "2/2"):
        adaptive = ("--adaptive",) if shard == "2/2" else ()  # the same outcome, paced
        proc = batch(served, str(tmp_path / "in" / "*.png"), *args, "--shard", shard, *adaptive)
        assert proc.returncode == 0, proc.stderr
    done = [r["key"] for r in records(out) if r["status"] == "done"]
    assert len(done) == len(set(done)) == 6
    assert len(traces(served.url)) == 6
    again = batch(served, str(tmp_path / "in" / "*.png"), *args, "--shard", "1/2")
    assert again.stdout.startswith("0 done")


def test_a_torn_last_line_is_tolerated(served: Served, tmp_path: Path) -> None:
    make_images(tmp_path / "in", 2)
    out = tmp_path / "out"
    out.mkdir()
    (out / "manifest.jsonl").write_text('{"key": "x", "status": "do')  # a write cut short
    args = (str(tmp_path / "in"), "--model", "local/echo", "--prompt", "p", "--out", str(out))
    proc = batch(served, *args)
    assert proc.returncode == 0, proc.stderr
    assert sorted(r["status"] for r in records(out)) == ["done", "done", "started", "started"]
    assert "x" not in {r["key"] for r in records(out)}  # the torn line was cut off
    with (out / "manifest.jsonl").open("a") as journal:
        journal.write("garbage\n")  # a whole bad line is not a torn write: refuse, say where
    proc = batch(served, *args)
    assert proc.returncode == 2
    assert f"{out / 'manifest.jsonl'}: line 5: " in proc.stderr
    assert len(traces(served.url)) == 2


def test_input_errors_are_found_before_anything_is_sent(served: Served, tmp_path: Path) -> None:
    make_images(tmp_path, 1)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"image": "img0.png", "prompt": "p"}\n{"image": 3}\n')
    out = str(tmp_path / "out")
    cases = [
        ((str(bad), "--model", "m"), "bad.jsonl: line 2: image: expected a path"),
        ((str(tmp_path / "img0.png"),), "no model and no prompt (give --model)"),
        ((str(tmp_path / "nothing"),), "no such file or folder"),
        ((str(tmp_path / "*.webp"), "--model", "m", "--prompt", "p"), "no input"),
        ((str(tmp_path), str(tmp_path / "img0.png"), "--model", "m", "--prompt", "p"),
         "input 2 repeats input 1"),
        ((str(tmp_path), "--model", "m", "--prompt", "p", "--shard", "3/2"), "1 <= K <= N"),
        ((str(tmp_path), "--model", "m", "--prompt", "p", "--out", str(tmp_path)),
         "holds the input"),
    ]  # fmt: skip
    procs = run_all(  # a later --out wins
        [["images", "edit-batch", "--server-url", served.url, "--out", out, *args]
         for args, _ in cases],
        clean_env(ORQ_API_KEY=served.key),
    )  # fmt: skip
    for (args, words), proc in zip(cases, procs, strict=True):
        assert proc.returncode == 2, (args, proc.stderr)
        assert words in proc.stderr, proc.stderr
        assert proc.stderr.count("\n") == 1, proc.stderr
    assert traces(served.url) == []


def test_an_answer_that_cannot_be_saved_is_kept_and_never_resent(
    served: Served, tmp_path: Path
) -> None:
    big = tmp_path / "in" / "big.png"
    big.parent.mkdir()
    big.write_bytes(MUG.read_bytes() + b"\0" * 8192)  # > the 4 KiB files the child may write
    out = tmp_path / "out"
    args = (str(big.parent), "--model", "local/echo", "--prompt", "p", "--out", str(out),
            "--response-format", "url")  # fmt: skip
    proc = run(
        "images", "edit-batch", "--server-url", served.url, *args,
        env=clean_env(ORQ_API_KEY=served.key), preexec_fn=limit_file_size,
    )  # fmt: skip
    assert proc.returncode == 1
    (record,) = [r for r in records(out) if r["status"] != "started"]
    assert record["status"] == "kept"
    kept = json.loads(Path(record["kept"]).read_text())
    assert kept["data"][0]["url"].startswith(served.url)  # the paid answer, with its URL
    assert "cannot save" in record["error"]["message"]
    again = batch(served, *args, "--retry-failed")
    assert again.returncode == 1
    assert "skipped: 1 kept" in again.stdout
    assert len(traces(served.url)) == 1  # paid once, never resent

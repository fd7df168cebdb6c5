"""The ``orq-async`` command in a subprocess, and the README's main-job command itself."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
MUG = ROOT / "examples" / "mug.png"


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "orq_async", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        check=False,
    )


def edit(*args: str) -> subprocess.CompletedProcess[str]:
    return run("images", "edit", "--emulator", "--prompt", "edit it", *args)


def test_edit_through_the_emulator_saves_the_inverted_image(tmp_path: Path) -> None:
    proc = edit("--model", "local/invert", "--image", str(MUG), "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "mug-edited.png"
    assert proc.stdout.splitlines() == [
        f"saved {out}",
        proc.stdout.splitlines()[1],
    ]
    assert re.fullmatch(
        r"model local/invert, 1 image\(s\), \d+ tokens", proc.stdout.splitlines()[1]
    )
    with Image.open(MUG) as a, Image.open(out) as b:
        before, after = a.convert("RGB").getpixel((5, 5)), b.convert("RGB").getpixel((5, 5))
    assert after == tuple(255 - c for c in before)  # type: ignore[union-attr]


def test_json_output_several_outputs_and_url_downloads(tmp_path: Path) -> None:
    proc = edit(
        "--model", "local/grayscale", "--image", str(MUG), "--image", str(MUG),
        "-n", "3", "--response-format", "url", "--json", "--out", str(tmp_path),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["model"] == "local/grayscale"
    assert summary["output_format"] == "png"
    assert len(summary["saved"]) == 3
    for saved in summary["saved"]:
        with Image.open(saved) as img:
            rgb = img.convert("RGB")
            r, g, b = rgb.getpixel((100, 150))  # type: ignore[misc]
            assert r == g == b
    assert summary["usage"]["total_tokens"] > 0


def test_gateway_options_are_passed_through(tmp_path: Path) -> None:
    out = tmp_path / "result.png"
    proc = edit(
        "--model", "local/fail-503", "--fallback", "local/echo", "--gateway-retries", "2",
        "--cache-ttl", "60", "--call-timeout-ms", "5000", "--identity-id", "contact_1",
        "--name", "cli", "--user", "u1", "--size", "64x64", "--quality", "low",
        "--image", str(MUG), "--out", str(out),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes() == MUG.read_bytes()


def test_missing_file_is_a_usage_error_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nope.png"
    proc = edit("--model", "local/echo", "--image", str(missing))
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1
    assert f"cannot read {missing}" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_api_error_exits_1_with_one_line() -> None:
    proc = edit("--model", "local/fail-429", "--image", str(MUG))
    assert proc.returncode == 1
    assert proc.stderr.startswith("orq-async: error: HTTP 429")
    assert proc.stderr.count("\n") == 1


def test_bad_arguments_exit_2() -> None:
    assert run("images", "edit", "--model", "m", "--prompt", "p").returncode == 2
    proc = edit("--model", "local/echo", "--image", str(MUG), "-n", "11")
    assert proc.returncode == 2
    assert "n: must be between 1 and 10" in proc.stderr


def test_emulator_serve_prints_its_url_and_answers(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "orq_async", "emulator", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+", line)
        assert url, line
        edited = run(
            "images", "edit", "--server-url", url.group(0), "--model", "local/echo",
            "--prompt", "p", "--image", str(MUG), "--out", str(tmp_path / "served.png"),
        )  # fmt: skip
        assert edited.returncode == 0, edited.stderr
        assert (tmp_path / "served.png").read_bytes() == MUG.read_bytes()
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


def readme_command(marker: str) -> str:
    text = (ROOT / "README.md").read_text()
    block = text.split(f"<!-- {marker} -->", 1)[1]
    return block.split("```sh\n", 1)[1].split("\n```", 1)[0]


def test_the_readme_main_job_command_runs_as_written() -> None:
    command = readme_command("main-job")
    assert "orq-async images edit --emulator" in command
    out = ROOT / "out" / "mug-edited.png"
    out.unlink(missing_ok=True)
    proc = subprocess.run(
        ["bash", "-c", command], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert f"saved out/{out.name}" in proc.stdout
    with Image.open(out) as img:
        assert img.size == (256, 256)


def test_progress_goes_to_stderr_only_when_it_is_a_terminal(tmp_path: Path) -> None:
    import os
    import pty

    big = tmp_path / "big.png"
    big.write_bytes(MUG.read_bytes() + b"\0" * (5 * 1024 * 1024))  # trailing bytes: still a PNG
    args = [
        sys.executable, "-m", "orq_async", "images", "edit", "--emulator", "--prompt", "p",
        "--model", "local/echo", "-n", "2", "--image", str(big), "--out", str(tmp_path),
    ]  # fmt: skip
    leader, follower = pty.openpty()
    try:
        proc = subprocess.run(
            args, stdout=subprocess.PIPE, stderr=follower, timeout=60, check=False
        )
        os.close(follower)
        follower = -1
        seen = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the terminal's other side is closed and drained
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(leader)
        if follower >= 0:
            os.close(follower)
    assert proc.returncode == 0
    assert b"uploading 1 file(s): 100%" in seen
    assert b"saving 2/2" in seen
    quiet = run(*args[3:])
    assert quiet.returncode == 0
    assert quiet.stderr == ""


def test_the_readme_emulator_example_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's emulator snippet, executed as written (from examples/, beside mug.png)."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## The local emulator", 1)[1]
    code = section.split("```python\n", 1)[1].split("\n```", 1)[0]
    namespace: dict[str, object] = {}
    exec(compile(code, "README.md", "exec"), namespace)
    monkeypatch.chdir(ROOT / "examples")
    asyncio.run(namespace["test_my_integration"]())  # type: ignore[operator]

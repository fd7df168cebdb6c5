"""Issue 12 point 8: progress, a spinner with elapsed time and retry lines, on a terminal only."""

from __future__ import annotations

import re
from pathlib import Path

from ._support import MUG, OnPty, edit


def _on_terminal(*args: str) -> tuple[int, bytes]:
    term = OnPty(["images", "edit", "--emulator", "--prompt", "p", *args])
    code, _, seen = term.finish()
    return code, seen.replace(b"\r\n", b"\n")  # undo the terminal's newline translation


def test_a_spinner_with_elapsed_time_while_the_model_works(tmp_path: Path) -> None:
    code, seen = _on_terminal("--model", "local/slow-700", "--image", str(MUG),
                              "--out", str(tmp_path))  # fmt: skip
    assert code == 0, seen
    frames = re.findall(rb"waiting for the model (\d+\.\d) s", seen)
    assert len(frames) >= 3, seen
    assert float(frames[-1]) >= 0.5  # the elapsed time grows while the model works
    assert seen.endswith(b"\r\x1b[K")  # the line is erased when the answer came


def test_upload_progress_for_big_files(tmp_path: Path) -> None:
    big = tmp_path / "big.png"
    big.write_bytes(MUG.read_bytes() + b"\0" * (5 * 1024 * 1024))  # trailing bytes: still a PNG
    code, seen = _on_terminal("--model", "local/echo", "--image", str(big),
                              "--out", str(tmp_path))  # fmt: skip
    assert code == 0, seen
    assert re.search(rb"uploading \d+% of 5\.0 MiB", seen), seen


def test_a_line_for_each_client_retry(tmp_path: Path) -> None:
    code, seen = _on_terminal("--model", "local/flaky-2-429", "--image", str(MUG),
                              "--out", str(tmp_path))  # fmt: skip
    assert code == 0, seen
    lines = re.findall(rb"rate limited; retrying in \d+\.\d s, attempt (\d)/4\n", seen)
    assert lines == [b"2", b"3"], seen


def test_nothing_of_it_without_a_terminal_or_with_quiet(tmp_path: Path) -> None:
    args = ("--model", "local/flaky-1-429", "--image", str(MUG), "--out", str(tmp_path))
    piped = edit(*args)
    assert piped.returncode == 0
    assert piped.stderr == ""
    code, seen = _on_terminal(*args, "--quiet")
    assert code == 0
    assert seen == b""

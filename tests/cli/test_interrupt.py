"""Issue 12 point 4: Ctrl-C prints ``interrupted`` and exits 130 at once, without a traceback."""

from __future__ import annotations

from pathlib import Path

from ._support import MUG, OnPty, clean_env, traces
from .conftest import serve_emulator


def _press_ctrl_c_while_waiting(args: list[str], env: dict[str, str] | None = None) -> None:
    term = OnPty(args, env)
    seen = term.read_until(b"waiting for the model")
    assert b"waiting for the model" in seen, seen
    term.interrupt()
    # local/slow-60000 answers after a minute: exiting within the 5 s allowed here means the
    # command did not wait for the model, nor for the in-process emulator's slow handler.
    code, stdout, seen = term.finish(timeout=5)
    assert code == 130
    assert stdout == ""
    text = seen.replace(b"\r\n", b"\n")  # the terminal's newline translation
    lines = [line.split(b"\r")[-1].replace(b"\x1b[K", b"") for line in text.split(b"\n")]
    assert [line for line in lines if line.strip()] == [b"interrupted"]


def _slow_edit(tmp_path: Path, *where: str) -> list[str]:
    return ["images", "edit", *where, "--model", "local/slow-60000", "--prompt", "p",
            "--image", str(MUG), "--out", str(tmp_path)]  # fmt: skip


def test_ctrl_c_with_the_in_process_emulator(tmp_path: Path) -> None:
    _press_ctrl_c_while_waiting(_slow_edit(tmp_path, "--emulator"))
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_with_a_server(tmp_path: Path) -> None:
    with serve_emulator() as served:  # its own: the abandoned slow call ends with the process
        _press_ctrl_c_while_waiting(
            _slow_edit(tmp_path, "--server-url", served.url), clean_env(ORQ_API_KEY=served.key)
        )
        assert traces(served.url) == []  # the model had not answered: nothing was finished
    assert list(tmp_path.iterdir()) == []

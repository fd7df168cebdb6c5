"""Running ``orq-async`` in a subprocess (optionally on a pty) and reading an emulator's traces."""

from __future__ import annotations

import json
import os
import resource
import select
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
MUG = ROOT / "examples" / "mug.png"
COMMAND = [sys.executable, "-m", "orq_async"]


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without the variables the command reads, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORQ_")}
    env.update(extra)
    return env


def run(
    *args: str,
    input: str | None = None,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    preexec_fn: Callable[[], None] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the command to its end with pipes (not a terminal)."""
    return subprocess.run(
        [*COMMAND, *args],
        capture_output=True,
        text=True,
        input=input,
        timeout=60,
        cwd=cwd,
        env=env or clean_env(),
        check=False,
        stdin=None if input is not None else subprocess.DEVNULL,
        preexec_fn=preexec_fn,
    )


def run_all(
    commands: Sequence[Sequence[str]], env: dict[str, str] | None = None
) -> list[subprocess.CompletedProcess[str]]:
    """Run independent commands at once (the tests' wall time), pipes only; in order."""
    procs = [
        subprocess.Popen(
            [*COMMAND, *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env or clean_env(),
        )
        for args in commands
    ]
    done = []
    for args, proc in zip(commands, procs, strict=True):
        stdout, stderr = proc.communicate(timeout=60)
        done.append(subprocess.CompletedProcess([*COMMAND, *args], proc.returncode, stdout, stderr))
    return done


def limit_file_size() -> None:
    """In a child process: writes beyond 4 KiB fail with EFBIG (a full disk, in effect)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))


def edit(*args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """``images edit --emulator`` with a prompt and ``args``."""
    return run("images", "edit", "--emulator", "--prompt", "edit it", *args, **kwargs)


class OnPty:
    """The command running with stderr on a pseudo-terminal (stdout a pipe)."""

    def __init__(self, args: Sequence[str], env: dict[str, str] | None = None) -> None:
        leader, follower = os.openpty()
        self._leader = leader
        self.seen = b""
        try:
            self.proc = subprocess.Popen(
                [*COMMAND, *args],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=follower,
                env=env or clean_env(),
            )
        finally:
            os.close(follower)

    def read_until(self, wanted: bytes, timeout: float = 30) -> bytes:
        """Read the terminal until ``wanted`` appears (or the command ends); return all seen."""
        deadline = time.monotonic() + timeout
        while wanted not in self.seen and time.monotonic() < deadline:
            ready, _, _ = select.select([self._leader], [], [], 0.05)
            if not ready:
                continue
            try:
                chunk = os.read(self._leader, 65536)
            except OSError:  # EIO: the other side is closed and drained
                break
            if not chunk:
                break
            self.seen += chunk
        return self.seen

    def interrupt(self) -> None:
        """Press Ctrl-C (SIGINT to the command)."""
        self.proc.send_signal(signal.SIGINT)

    def finish(self, timeout: float = 60) -> tuple[int, str, bytes]:
        """Wait for the end; return the exit code, stdout and everything the terminal got."""
        try:
            stdout, _ = self.proc.communicate(timeout=timeout)
        finally:
            self.read_until(b"\0never\0", timeout=0.2)
            os.close(self._leader)
        return self.proc.returncode, stdout.decode(), self.seen


def traces(url: str) -> list[dict[str, Any]]:
    """The emulator's traces (``GET /v2/emulator/traces``)."""
    with urllib.request.urlopen(f"{url}/v2/emulator/traces", timeout=10) as resp:
        data: list[dict[str, Any]] = json.load(resp)
    return data


def clear_traces(url: str) -> None:
    """Forget the emulator's traces."""
    request = urllib.request.Request(f"{url}/v2/emulator/traces", method="DELETE")
    with urllib.request.urlopen(request, timeout=10):
        pass

"""An emulator in a separate process (``orq-async emulator serve``), shared by the CLI tests."""

from __future__ import annotations

import contextlib
import re
import subprocess
from collections.abc import Iterator

import pytest

from ._support import COMMAND, clean_env, clear_traces

KEY = "cli-test-key"


class Served:
    """A running ``emulator serve`` process: its URL and the key it accepts."""

    def __init__(self, url: str, proc: subprocess.Popen[str], export: str, viewer: str) -> None:
        self.url = url
        self.proc = proc
        self.export = export
        self.viewer = viewer
        self.key = KEY


@contextlib.contextmanager
def serve_emulator(*flags: str) -> Iterator[Served]:
    """Run ``orq-async emulator serve`` in a new process until the block ends."""
    proc = subprocess.Popen(
        [*COMMAND, "emulator", "serve", "--port", "0", "--api-key", KEY, "--seed", "1", *flags],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
    )
    try:
        assert proc.stdout is not None
        first, export, viewer = (proc.stdout.readline() for _ in range(3))
        found = re.search(r"http://127\.0\.0\.1:\d+", first)
        assert found, first + (proc.stderr.read() if proc.stderr else "")
        yield Served(found.group(0), proc, export, viewer)
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


@pytest.fixture(scope="session")
def served_process() -> Iterator[Served]:
    with serve_emulator() as served:
        yield served


@pytest.fixture
def served(served_process: Served) -> Served:
    """The shared emulator process, its traces cleared."""
    clear_traces(served_process.url)
    return served_process

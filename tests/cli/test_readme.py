"""The README's main-job command and its emulator example, run as written."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from ._support import ROOT


def readme_command(marker: str) -> str:
    text = (ROOT / "README.md").read_text()
    block = text.split(f"<!-- {marker} -->", 1)[1]
    return block.split("```sh\n", 1)[1].split("\n```", 1)[0]


@pytest.mark.skipif(
    Path(sys.prefix).resolve() != (ROOT / ".venv").resolve(),
    reason="the main-job command installs into the project's ./.venv: run from that venv only "
    "(CI also runs it in a fresh copy)",
)
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


def test_the_readme_emulator_example_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's emulator snippet, executed as written (from examples/, beside mug.png)."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## The local emulator", 1)[1]
    code = section.split("```python\n", 1)[1].split("\n```", 1)[0]
    namespace: dict[str, object] = {}
    exec(compile(code, "README.md", "exec"), namespace)
    monkeypatch.chdir(ROOT / "examples")
    asyncio.run(namespace["test_my_integration"]())  # type: ignore[operator]

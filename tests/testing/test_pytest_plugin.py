"""The pytest plugin: registered by entry point, cheap to load, and the README's test file runs."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def readme_test_file() -> str:
    text = (ROOT / "README.md").read_text()
    block = text.split("<!-- pytest-plugin -->", 1)[1]
    return block.split("```python\n", 1)[1].split("\n```", 1)[0]


def _pytest(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_edits.py").write_text(readme_test_file())
    # A user's project: its own rootdir and settings, nothing of this repository's conftest.
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
        "filterwarnings = error\n"
    )
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_plugin_is_a_pytest11_entry_point() -> None:
    (plugin,) = [ep for ep in entry_points(group="pytest11") if ep.name == "orq_async"]
    assert plugin.value == "orq_async.testing.pytest_plugin"


def test_the_readme_test_file_passes_with_the_plugin(tmp_path: Path) -> None:
    run = _pytest(tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "4 passed" in run.stdout


def test_without_the_plugin_the_fixtures_are_missing(tmp_path: Path) -> None:
    run = _pytest(tmp_path, "-p", "no:orq_async")
    assert run.returncode != 0
    assert "Unknown pytest.mark.orq_emulator" in run.stdout  # warnings are errors here
    run = _pytest(tmp_path, "-p", "no:orq_async", "-W", "ignore::pytest.PytestUnknownMarkWarning")
    assert "fixture 'orq_core' not found" in run.stdout


def test_loading_the_plugin_imports_nothing_heavy() -> None:
    code = (
        "import sys, orq_async.testing.pytest_plugin\n"
        "heavy = {'aiohttp', 'orq_async.core', 'orq_async.testing._server', 'attrs'}\n"
        "print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"

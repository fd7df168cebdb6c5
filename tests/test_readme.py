"""Every Python snippet in README.md runs or type-checks: docs that cannot drift from the code.

Each ```python block (found generically, whatever section it is in) must be:

- a complete module: it compiles on its own (no top-level ``await`` / ``async with``);
- type-correct: ``mypy --strict`` accepts it, as a user's editor would (``examples/`` on the
  path, for snippets that import an example's helpers);
- executed in a fresh interpreter with warnings as errors, in a folder holding the image files
  the snippets name (``mug.png``, ``logo.png``, ...). A top-level ``asyncio.run(...)`` runs the
  program, and a block defining ``test_*`` functions runs under pytest (``asyncio_mode=auto``,
  the package's pytest plugin loaded), against a local emulator: a
  core made without ``server_url`` talks to it (the default server is swapped for the
  emulator's URL before the snippet runs; requests go over real sockets). A block preceded by
  ``<!-- readme: typecheck-only -->`` is compiled and type-checked but not executed (for
  snippets that need a proxy or a certificate this machine does not have).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
EXAMPLES = ROOT / "examples"
IMAGE_NAMES = ("mug.png", "logo.png", "a.png", "room.png", "mask.png")
TYPECHECK_ONLY = "<!-- readme: typecheck-only -->"
_FENCE = re.compile(r"^```(?:python|py)\s*\n(.*?)^```\s*$", re.MULTILINE | re.DOTALL)
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*$", re.MULTILINE)

# Written next to the snippets as conftest.py: points a core made without server_url at the
# emulator. pytest loads it for snippets that are test files; _RUNNER imports it for programs.
_SWAP_SERVER = """\
import functools, os

from orq_async.core import OrqCore

_init = OrqCore.__init__


@functools.wraps(_init)
def _init_on_emulator(self, *args, **kwargs):
    kwargs.setdefault("server_url", os.environ["README_EMULATOR_URL"])
    _init(self, *args, **kwargs)


OrqCore.__init__ = _init_on_emulator
"""
_RUNNER = """\
import runpy, sys

import conftest

runpy.run_path(sys.argv[1], run_name="__main__")
"""
# A snippet defining test functions runs under pytest, configured as a user's project would be.
_PYTEST = (
    *("-m", "pytest", "-q", "-p", "no:cacheprovider"),
    *("-o", "asyncio_mode=auto", "-o", "asyncio_default_fixture_loop_scope=function"),
)
_TEST_FUNCTION = re.compile(r"^(?:async )?def test_", re.MULTILINE)


@dataclass(frozen=True)
class Snippet:
    """One python block of the README: where it is and what it says."""

    index: int
    section: str
    line: int
    code: str
    typecheck_only: bool

    @property
    def id(self) -> str:
        slug = re.sub(r"[^a-z0-9]+", "-", self.section.lower()).strip("-")
        return f"{self.index}-{slug}"

    @property
    def filename(self) -> str:
        return f"readme_{self.index}.py"


def readme_snippets(text: str) -> list[Snippet]:
    """Every ```python / ```py block of ``text``, with its section heading and first line."""
    snippets: list[Snippet] = []
    for i, match in enumerate(_FENCE.finditer(text)):
        before = text[: match.start()]
        headings = _HEADING.findall(before)
        snippets.append(
            Snippet(
                index=i,
                section=headings[-1] if headings else "(top)",
                line=before.count("\n") + 2,
                code=match.group(1),
                typecheck_only=before.rstrip().endswith(TYPECHECK_ONLY),
            )
        )
    return snippets


SNIPPETS = readme_snippets(README.read_text(encoding="utf-8"))


def where(snippet: Snippet) -> str:
    return f"README.md line {snippet.line} (section {snippet.section!r})"


def test_the_readme_has_snippets_and_the_extractor_finds_them() -> None:
    text = "# A\n```python\nx = 1\n```\n## B\n<!-- readme: typecheck-only -->\n```py\ny = 2\n```\n"
    found = readme_snippets(text)
    assert [(s.section, s.code, s.typecheck_only, s.line) for s in found] == [
        ("A", "x = 1\n", False, 3),
        ("B", "y = 2\n", True, 8),
    ]
    assert len(SNIPPETS) >= 5  # the README shows the SDK in code, not only in prose


def test_ci_runs_the_readmes_two_commands() -> None:
    text = README.read_text(encoding="utf-8")
    blocks = {
        name: re.search(rf"<!-- {name} -->\n```sh\n(.*?)\n```", text, re.DOTALL)
        for name in ("main-job", "tests")
    }
    assert all(blocks.values()), "README.md lost a <!-- main-job --> or <!-- tests --> block"
    tests_block = blocks["tests"]
    assert tests_block is not None
    ci = (ROOT / ".ci/run").read_text(encoding="utf-8")
    assert re.search(rf"^step .* {re.escape(tests_block.group(1))}$", ci, re.MULTILINE)
    assert "scripts/readme_main_job.sh" in ci  # runs the main-job block in a fresh copy


@pytest.mark.parametrize("snippet", SNIPPETS, ids=lambda s: s.id)
def test_snippet_is_a_complete_module(snippet: Snippet) -> None:
    try:
        compile(snippet.code, where(snippet), "exec")
    except SyntaxError as exc:
        pytest.fail(f"{where(snippet)} does not compile on its own: {exc}")


@pytest.fixture(scope="module")
def mypy_report(tmp_path_factory: pytest.TempPathFactory) -> str:
    """``mypy --strict`` over all snippets at once (one run, shared cache under .mypy_cache)."""
    folder = tmp_path_factory.mktemp("readme-typecheck")
    for snippet in SNIPPETS:
        (folder / snippet.filename).write_text(snippet.code, encoding="utf-8")
    env = {**os.environ, "MYPYPATH": str(EXAMPLES)}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--python-version",
            "3.10",
            "--cache-dir",
            str(ROOT / ".mypy_cache" / "readme"),
            "--no-error-summary",
            "--hide-error-context",
            *(s.filename for s in SNIPPETS),
        ],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if proc.returncode not in (0, 1):  # 2: mypy itself failed
        pytest.fail(f"mypy did not run: {proc.stdout}{proc.stderr}")
    return proc.stdout


@pytest.mark.parametrize("snippet", SNIPPETS, ids=lambda s: s.id)
def test_snippet_type_checks_strictly(snippet: Snippet, mypy_report: str) -> None:
    errors = [line for line in mypy_report.splitlines() if line.startswith(snippet.filename)]
    assert not errors, f"{where(snippet)}: mypy --strict:\n" + "\n".join(errors)


@pytest.fixture
def snippet_folder(tmp_path: Path) -> Path:
    """A working folder with the image files the snippets name (copies of the example mug)."""
    for name in IMAGE_NAMES:
        shutil.copyfile(EXAMPLES / "mug.png", tmp_path / name)
    (tmp_path / "conftest.py").write_text(_SWAP_SERVER, encoding="utf-8")
    (tmp_path / "_run_snippet.py").write_text(_RUNNER, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(
    "snippet", [s for s in SNIPPETS if not s.typecheck_only], ids=lambda s: s.id
)
async def test_snippet_runs_against_the_emulator(snippet: Snippet, snippet_folder: Path) -> None:
    from orq_async.testing import Emulator

    script = snippet_folder / snippet.filename
    script.write_text(snippet.code, encoding="utf-8")
    async with Emulator() as emu:
        env = {
            **os.environ,
            "README_EMULATOR_URL": emu.url,
            "ORQ_API_KEY": "readme-key",
            "PYTHONPATH": os.pathsep.join([str(EXAMPLES), os.environ.get("PYTHONPATH", "")]),
        }
        env.pop("ORQ_DEBUG", None)
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-W",
            "error",
            *(_PYTEST if _TEST_FUNCTION.search(snippet.code) else ("_run_snippet.py",)),
            script.name,
            cwd=snippet_folder,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            output, _ = await asyncio.wait_for(proc.communicate(), timeout=60)
        except asyncio.TimeoutError:
            proc.kill()
            await proc.wait()
            pytest.fail(f"{where(snippet)} still running after 60 s")
    assert proc.returncode == 0, f"{where(snippet)} failed when run:\n{output.decode()}"
    if "asyncio.run(" in snippet.code:  # a program: it must have talked to the gateway
        assert emu.traces, f"{where(snippet)} ran but sent no request to the emulator"

"""Run mypy --strict and strict basedpyright on the negative cases and compare with their marks.

Each line of ``tests/typing/negative/*.py`` that must be reported is preceded by a comment line
``# expect: mypy=<code>[,<code>] pyright=<rule>[,<rule>]``. A case passes for a checker when
that checker reports, on that line, an error with one of the listed codes; an error on a line
without a mark fails the run (a negative file must hold nothing but its known mistakes).

Usage: ``python tests/typing/expect.py [mypy|pyright ...]`` (both by default); exit status 1
on any mismatch, listing each.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NEGATIVE = Path(__file__).resolve().parent / "negative"
BIN = Path(sys.executable).parent
_MARK = re.compile(r"#\s*expect:\s*mypy=(?P<mypy>[\w,-]+)\s+pyright=(?P<pyright>[\w,]+)")
_MYPY_LINE = re.compile(r"^(?P<file>[^:]+\.py):(?P<line>\d+): error: .*\[(?P<code>[\w-]+)\]$")

Found = dict[tuple[str, int], set[str]]


def expected(checker: str) -> Found:
    """``(file name, line) → accepted codes`` from the marks."""
    out: Found = {}
    for path in sorted(NEGATIVE.glob("*.py")):
        for number, text in enumerate(path.read_text().splitlines(), 1):
            if mark := _MARK.search(text):
                out[path.name, number + 1] = set(mark[checker].split(","))
    return out


def run_mypy() -> Found:
    proc = subprocess.run(
        [
            BIN / "mypy",
            "--strict",
            "--no-error-summary",
            "--hide-error-context",
            "--follow-imports=silent",  # report the negative files, not the package
            *map(str, sorted(NEGATIVE.glob("*.py"))),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    found: Found = {}
    for line in proc.stdout.splitlines():
        match = _MYPY_LINE.match(line)
        if match and (ROOT / match["file"]).resolve().parent == NEGATIVE:
            key = (Path(match["file"]).name, int(match["line"]))
            found.setdefault(key, set()).add(match["code"])
    if proc.returncode not in (0, 1) or (proc.returncode == 1 and not found):
        raise SystemExit(f"mypy failed to run:\n{proc.stdout}{proc.stderr}")
    return found


def run_pyright() -> Found:
    proc = subprocess.run(
        # Its own config (the root one excludes these files): strict, the checkout on the path.
        [BIN / "basedpyright", "--outputjson", "--pythonpath", sys.executable, "-p", NEGATIVE],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    try:
        report = json.loads(proc.stdout)
    except ValueError:
        raise SystemExit(f"basedpyright failed to run:\n{proc.stdout}{proc.stderr}") from None
    found: Found = {}
    for diag in report["generalDiagnostics"]:
        if diag["severity"] == "error":
            key = (Path(diag["file"]).name, diag["range"]["start"]["line"] + 1)
            found.setdefault(key, set()).add(diag.get("rule", "?"))
    return found


def compare(checker: str, want: Found, got: Found) -> list[str]:
    """Every mismatch, as a readable line."""
    problems = [
        f"{checker}: {name}:{line}: expected one of {sorted(codes)}, got {sorted(reported)}"
        for (name, line), codes in sorted(want.items())
        if not codes & (reported := got.get((name, line), set()))
    ]
    problems += [
        f"{checker}: {name}:{line}: unexpected error(s) {sorted(codes)}"
        for (name, line), codes in sorted(got.items())
        if (name, line) not in want
    ]
    return problems


def main(checkers: list[str]) -> int:
    runners = {"mypy": run_mypy, "pyright": run_pyright}
    problems: list[str] = []
    for checker in checkers:
        want = expected(checker)
        problems += compare(checker, want, runners[checker]())
        print(f"{checker}: {len(want)} negative cases checked")
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:] or ["mypy", "pyright"]))

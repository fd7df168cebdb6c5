#!/usr/bin/env bash
# Both type checkers, strict, on the package and on tests/typing:
#   1. mypy --strict: orq_async and the positive files tests/typing/check_*.py must be clean;
#   2. basedpyright (strict, pyrightconfig.json): the same files must be clean;
#   3. tests/typing/expect.py: each negative case in tests/typing/negative must be reported by
#      both checkers with the error its `# expect:` mark names, and nothing else.
# Needs mypy and basedpyright next to the interpreter (default .venv/bin/python; set PYTHON=...).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
BIN=$(dirname "$PY")
for tool in mypy basedpyright; do
    if [ ! -x "$BIN/$tool" ]; then
        echo "typecheck: $BIN/$tool is missing (pip install mypy basedpyright)" >&2
        exit 2
    fi
done
status=0  # every step runs, so one report shows all that is wrong
echo "== mypy --strict orq_async tests/typing"
"$BIN/mypy" --strict orq_async tests/typing/check_*.py || status=1
echo "== basedpyright (strict) orq_async tests/typing"
"$BIN/basedpyright" --pythonpath "$PY" || status=1
echo "== negative cases"
"$PY" tests/typing/expect.py || status=1
exit $status

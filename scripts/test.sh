#!/usr/bin/env bash
# Install the package (editable) with the `dev` dependency group into ./.venv (made if missing),
# then run the tests. Extra arguments go to pytest, e.g. `bash scripts/test.sh -k retries`.
# pip >= 25.1 is needed for `--group` (PEP 735 dependency groups), so pip is upgraded first.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
pip=(.venv/bin/python -m pip install -q --disable-pip-version-check)
"${pip[@]}" --upgrade 'pip>=25.1'
"${pip[@]}" -e . --group dev
exec .venv/bin/python -m pytest -W error::ResourceWarning "$@"

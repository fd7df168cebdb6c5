#!/usr/bin/env bash
# Install the package with its test extras into ./.venv (made if missing), then run the tests.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -k retries`.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]'
exec .venv/bin/python -m pytest -W error::ResourceWarning "$@"

#!/usr/bin/env bash
# Build the sdist and the wheel into a temporary folder (or $1) and check them with twine.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-$(mktemp -d)}
.venv/bin/python -m build -q --outdir "$out" . >/dev/null
.venv/bin/python -m twine check --strict "$out"/*
ls -l "$out"

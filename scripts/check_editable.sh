#!/usr/bin/env bash
# Prove that static tools resolve the editable install of ./.venv: strict basedpyright, run
# from a folder outside the checkout, must find `orq_async` through the venv's site-packages.
set -euo pipefail
cd "$(dirname "$0")/.."
project=$PWD
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cat >"$dir/use_orq.py" <<'PY'
from orq_async import OrqCore
from orq_async.funcs.router_images_edits_create import router_images_edits_create

core: OrqCore = OrqCore("key")
call = router_images_edits_create
PY
cd "$dir"
"$project/.venv/bin/basedpyright" --pythonpath "$project/.venv/bin/python" --level error use_orq.py

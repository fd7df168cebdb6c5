#!/usr/bin/env bash
# Run the test suite on every CPython 3.10-3.13 this machine has (newest dependencies), and on
# the oldest one with the lowest runtime dependencies the metadata allows.
#
#   bash scripts/matrix.sh [pytest args]
#
# Interpreters come from pyenv ($(pyenv root)/versions/3.X.*) or PATH (python3.X); a version
# with none is reported as SKIPPED, never silently. The interpreter of ./.venv is not run again:
# scripts/test.sh covers it. One venv per interpreter under .venv/matrix/ (reused between runs),
# made and filled by uv (from PyPI; installed into ./.venv if missing). Runs one after another:
# two suites at once on a 2-core machine would make the timing-sensitive tests flaky.
set -euo pipefail
cd "$(dirname "$0")/.."
export UV_NO_PROGRESS=1
VERSIONS=(3.10 3.11 3.12 3.13)
root=.venv/matrix
pytest_args=(-q -p no:cacheprovider -W error::ResourceWarning "$@")

[ -x .venv/bin/python ] || python3 -m venv .venv
[ -x .venv/bin/uv ] || .venv/bin/python -m pip install -q --disable-pip-version-check uv
uv=.venv/bin/uv
main_version=$(.venv/bin/python -c 'import sys; print("%d.%d" % sys.version_info[:2])')

find_python() {  # the newest patch release of CPython $1, or nothing
    local pyenv_root
    pyenv_root=$(pyenv root 2>/dev/null || true)
    if [ -n "$pyenv_root" ]; then
        local found
        found=$(ls -d "$pyenv_root"/versions/"$1".*/bin/python"$1" 2>/dev/null | sort -V | tail -n 1)
        if [ -n "$found" ]; then
            echo "$found"
            return
        fi
    fi
    command -v "python$1" || true
}

venv_for() {  # make (or reuse) the venv $1 on interpreter $2
    "$uv" venv -q --allow-existing -p "$2" "$1"
}

install_project() {  # into venv $1: the package (editable) and the test group; $2...: uv options
    local dir=$1
    shift
    "$uv" pip install -q -p "$dir/bin/python" "$@" -e . --group test
}

passed=() failed=() skipped=()
oldest=""
for v in "${VERSIONS[@]}"; do
    py=$(find_python "$v")
    if [ -z "$py" ]; then
        echo "SKIPPED python $v: no interpreter (neither pyenv nor python$v on PATH)"
        skipped+=("$v")
        continue
    fi
    [ -n "$oldest" ] || oldest="$py"
    if [ "$v" = "$main_version" ]; then
        echo "python $v: ./.venv's interpreter, tested by scripts/test.sh (not run again here)"
        continue
    fi
    echo "== python $v, newest dependencies ($py)"
    dir="$root/py$v"
    if venv_for "$dir" "$py" && install_project "$dir" --upgrade \
        && "$dir/bin/python" scripts/check_floors.py \
        && "$dir/bin/python" -m pytest "${pytest_args[@]}"; then
        passed+=("$v")
    else
        failed+=("$v")
    fi
done

if [ -n "$oldest" ]; then
    v=$("$oldest" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    dir="$root/py$v-lowest"
    echo "== python $v, lowest runtime dependencies (uv --resolution lowest-direct)"
    if venv_for "$dir" "$oldest" \
        && "$uv" pip compile -q -p "$oldest" --resolution lowest-direct pyproject.toml -o "$dir/lowest.txt" \
        && "$uv" pip install -q -p "$dir/bin/python" -r "$dir/lowest.txt" \
        && install_project "$dir" \
        && "$dir/bin/python" scripts/check_floors.py --exact \
        && "$dir/bin/python" -m pytest "${pytest_args[@]}"; then
        passed+=("$v-lowest")
    else
        failed+=("$v-lowest")
    fi
else
    echo "SKIPPED lowest dependencies: no interpreter of ${VERSIONS[*]} found"
    skipped+=(lowest)
fi

echo "matrix: passed: ${passed[*]:-none}; failed: ${failed[*]:-none}; skipped: ${skipped[*]:-none}"
[ ${#failed[@]} -eq 0 ]

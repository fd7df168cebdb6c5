#!/usr/bin/env bash
# Run the README's main-job command (the block after `<!-- main-job -->`) exactly as written, in
# a fresh copy of the checkout without its .venv, as a newcomer would; check the edited image.
set -euo pipefail
cd "$(dirname "$0")/.."
command=$(awk '/<!-- main-job -->/ {found = 1; next} found && /^```sh/ {inside = 1; next}
               inside && /^```/ {exit} inside {print}' README.md)
if [ -z "$command" ]; then
    echo "README.md has no <!-- main-job --> sh block"
    exit 1
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
tar --exclude=./.venv --exclude=./.git --exclude=./out --exclude='*/__pycache__' -cf - . | tar -xf - -C "$dir"
echo "$ $command"
(cd "$dir" && bash -euo pipefail -c "$command")
test -s "$dir/out/mug-edited.png" && echo "out/mug-edited.png: $(wc -c <"$dir/out/mug-edited.png") bytes"

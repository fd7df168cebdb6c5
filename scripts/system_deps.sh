#!/usr/bin/env bash
# System programs some tests need: Chromium (tests/browser) and Node.js with npm (tests/clients
# installs @orq-ai/node itself). Installs Chromium with apt when it is missing and this runs as
# root; says plainly what is missing otherwise (those tests then skip, naming the reason).
set -uo pipefail

have() { command -v "$1" >/dev/null 2>&1; }

chromium_path() {
    local name
    for name in chromium chromium-browser google-chrome; do
        if have "$name"; then
            command -v "$name"
            return 0
        fi
    done
    return 1
}

if ! chromium_path >/dev/null; then
    if [ "$(id -u)" = 0 ] && have apt-get; then
        echo "chromium: missing, installing it with apt-get"
        apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends chromium >/dev/null \
            || echo "chromium: apt-get install FAILED"
    else
        echo "chromium: MISSING and cannot install it here (needs root and apt-get): tests/browser will skip"
    fi
fi
if path=$(chromium_path); then
    echo "chromium: $path ($("$path" --version 2>/dev/null || echo 'version unknown'))"
fi

for tool in node npm; do
    if have "$tool"; then
        echo "$tool: $(command -v "$tool") $("$tool" --version)"
    else
        echo "$tool: MISSING: the @orq-ai/node client tests in tests/clients will skip"
    fi
done
exit 0

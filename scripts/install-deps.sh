#!/usr/bin/env bash
# Installs what writepath needs on a Debian machine, only what is missing.
#   scripts/install-deps.sh          build and test dependencies (liburing, libaio, fio)
# Swift itself must already be installed (this machine kind has it at /opt/swift).
set -euo pipefail

packages=(liburing-dev libaio-dev fio util-linux pkg-config time)
missing=()
for p in "${packages[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "install-deps: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    if [[ ! -f /var/lib/apt/periodic/writepath-updated ]] || ! apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1; then
        apt-get update -qq
        mkdir -p /var/lib/apt/periodic && touch /var/lib/apt/periodic/writepath-updated
        apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
fi
if ! command -v swift >/dev/null 2>&1; then
    if [[ -x /opt/swift/usr/bin/swift ]]; then
        echo "install-deps: swift is at /opt/swift/usr/bin; add it to PATH" >&2
    else
        echo "install-deps: swift (6.0 or newer) is not installed; install a Swift toolchain first" >&2
    fi
    exit 1
fi

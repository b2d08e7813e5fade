#!/usr/bin/env bash
# The benchmark drives the server with wrk: install it from the distribution when missing.
set -euo pipefail

if command -v wrk >/dev/null 2>&1; then
    exit 0
fi
if command -v apt-get >/dev/null 2>&1; then
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        sudo="sudo -n"
    fi
    echo "wrk is missing; installing it with apt-get ..."
    export DEBIAN_FRONTEND=noninteractive
    if $sudo apt-get install -y -q wrk >/dev/null 2>&1 \
        || { $sudo apt-get update -q >/dev/null 2>&1 && $sudo apt-get install -y -q wrk >/dev/null; }; then
        exit 0
    fi
fi
cat >&2 <<'HINT'
The benchmark needs wrk (an HTTP load generator). Install it and run `make bench` again:
  Debian or Ubuntu:  sudo apt-get install wrk
  macOS:             brew install wrk
  elsewhere:         build it from https://github.com/wg/wrk
HINT
exit 1

#!/usr/bin/env bash
# The test command: sets up what the tests need, then runs every test of
# the workspace. CI runs exactly this (.ci/run).
#
# Needs: a Rust toolchain and python3 with venv (for the interop server,
# the PyPI `oaipmh` package, installed into a private virtualenv).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq python3-venv
  else
    echo "python3 with venv is needed for the interop tests (Debian: apt-get install python3-venv)" >&2
    exit 1
  fi
fi
bash tests/testbeds/pyoai-server.sh --setup
cargo test --workspace --all-targets

#!/usr/bin/env bash
# The test command: sets up what the tests need, then runs every test of
# the workspace, after the formatting and lint gate. CI runs exactly this
# (.ci/run).
#
# Needs: a Rust toolchain; python3 with venv (the interop server, the PyPI
# `oaipmh` package, goes into a private virtualenv); and MediaWiki 1.39 with
# PHP from Debian's packages, which this script installs when run as root.
# Without root, install them once with `sudo bash tests/testbeds/mediawiki.sh install`.
set -euo pipefail
cd "$(dirname "$0")/.."
# The gate first: formatting and lints, cheap and before anything slow.
if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
  rustup component add rustfmt clippy
fi
cargo fmt --all --check
cargo clippy --workspace --all-targets -- -D warnings
if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq python3-venv
  else
    echo "python3 with venv is needed for the interop tests (Debian: apt-get install python3-venv)" >&2
    exit 1
  fi
fi
bash tests/testbeds/mediawiki.sh install
# xmllint validates what `serve` answers against OAI-PMH.xsd.
if ! command -v xmllint >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq libxml2-utils
  else
    echo "xmllint is needed for the serve tests (Debian: apt-get install libxml2-utils)" >&2
    exit 1
  fi
fi
# Headless Chromium and its WebDriver drive the console's browser tests.
if ! command -v chromedriver >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver
  else
    echo "chromium and chromedriver are needed for the console tests (Debian: apt-get install chromium chromium-driver)" >&2
    exit 1
  fi
fi
bash tests/testbeds/pyoai-server.sh --setup
# The tests start three wikis under target/tmp (ports 18681 to 18683) and
# leave them running for the next run; stop them when this script ends.
trap 'for w in a b c; do bash tests/testbeds/mediawiki.sh stop target/tmp/wiki-$w; done' EXIT
cargo test --workspace --all-targets

#!/usr/bin/env bash
# Runs the interop test server (pyoai_server.py beside this file) in the
# foreground on 127.0.0.1:PORT with N records:
#   pyoai-server.sh PORT N [--granularity day] [--batch-size 100] [--changes FILE]
# Makes its virtualenv (PyPI `oaipmh` 4.0.0, whose client the serve tests use
# too, with Sickle 0.7.0 and oaipmh-scythe 0.16.0) and exits:
#   pyoai-server.sh --setup
# The virtualenv lives in $OAI_MIRROR_PYOAI_VENV (default: ~/.cache/oai-mirror/pyoai-venv).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
VENV=${OAI_MIRROR_PYOAI_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/oai-mirror/pyoai-venv}
ready() { [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import oaipmh.server, oaipmh.client, sickle, oaipmh_scythe' 2>/dev/null; }
if [ "${1:-}" = "--setup" ]; then
  if ! ready; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q 'oaipmh==4.0.0' 'sickle==0.7.0' 'oaipmh-scythe==0.16.0'
  fi
  exit 0
fi
PORT=${1:?port}; N=${2:?records}; shift 2
if ! ready; then
  echo "no oaipmh virtualenv at $VENV: run 'bash $0 --setup' first" >&2
  exit 3
fi
exec "$VENV/bin/python" "$HERE/pyoai_server.py" --port "$PORT" --records "$N" "$@"

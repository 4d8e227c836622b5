#!/usr/bin/env bash
# Run every benchmark: bash bench/run.sh [--quick] [--only gateway request_cost e2e pipeline]
# Installs what is missing, raises the open-file limit, writes bench/results/ and
# (for a full run) BENCHMARKS.md. Everything it starts listens on 127.0.0.1 only.
# Exits non-zero, naming it, when a benchmark fails; BENCHMARKS.md is then left as it was.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
command -v nginx >/dev/null || missing+=(nginx)
[ -e /usr/lib/nginx/modules/ngx_nchan_module.so ] || missing+=(libnginx-mod-nchan)
command -v redis-server >/dev/null || missing+=(redis-server)
if [ ${#missing[@]} != 0 ]; then
  echo "== apt-get install ${missing[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# The Debian package enables a system nginx; the benchmark runs its own instance.

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
if ! .venv/bin/python -c "import uvloop, psutil, gunicorn, gevent, dj_database_url, psycopg" 2>/dev/null \
   || ! command -v .venv/bin/py-spy >/dev/null; then
  echo "== pip install -e .[bench]"
  .venv/bin/python -m pip install -q -e ".[bench]"
fi

# 10,000 connections need 10,000+ descriptors in the gateway and in the client.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
echo "== open files: $(ulimit -n)"

exec .venv/bin/python -m bench.run_all "$@"

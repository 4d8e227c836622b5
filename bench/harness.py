"""Start and stop what the benchmarks measure: Redis, the gateway, nginx+nchan,
Django under gunicorn and a Celery worker. Every process runs in its own process
group and is stopped by its PID; everything listens on 127.0.0.1 only."""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
HERE = ROOT / "bench"
RUN = Path(
    os.environ.get("BENCH_RUN", HERE / "run")
)  # logs, nginx prefix (git-ignored)
VENV_BIN = Path(sys.executable).parent
SECRET = "bench-stream-secret"
PREFIX = "bench"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")


_started: list[Service] = []


def stop_all() -> None:
    """Stop every service still running (at exit, on SIGTERM/SIGINT)."""
    while _started:
        _started.pop().stop()


def stop_on_signals() -> None:
    """Make SIGTERM/SIGINT stop the started services before this process exits."""

    def handle(signum, frame):
        stop_all()
        raise SystemExit(128 + signum)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, handle)
    atexit.register(stop_all)


class Service:
    """One started process (group); ``stop()`` signals it by PID."""

    def __init__(
        self,
        name: str,
        args: list[str],
        env: dict[str, str] | None = None,
        port: int | None = None,
    ) -> None:
        RUN.mkdir(exist_ok=True)
        self.name, self.port = name, port
        self.log = RUN / f"{name}.log"
        full_env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            **(env or {}),
        }
        self.proc = subprocess.Popen(
            args,
            cwd=ROOT,
            env=full_env,
            stdout=open(self.log, "wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        _started.append(self)
        if port is not None:
            wait_for_port(port, self.proc)

    def worker(self) -> psutil.Process:
        """The process doing the work: the single child of a master, or the process."""
        parent = psutil.Process(self.proc.pid)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            children = parent.children()
            if children:
                return children[0]
            time.sleep(0.05)
        return parent

    def stop(self, timeout: float = 10.0) -> None:
        if self in _started:
            _started.remove(self)
        if self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)
        except ProcessLookupError:
            pass

    def __enter__(self) -> Service:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def redis_server() -> Service:
    port = free_port()
    svc = Service(
        "redis",
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--maxclients",
            "20000",
        ],
        port=port,
    )
    svc.url = f"redis://127.0.0.1:{port}"  # type: ignore[attr-defined]
    os.environ["BENCH_REDIS_URL"] = svc.url  # type: ignore[attr-defined]
    return svc


def gateway(
    redis_url: str,
    *,
    heartbeat: float = 15.0,
    name: str = "gateway",
    max_connections: int = 12_000,
    port: int | None = None,
) -> Service:
    """``gunicorn -k sse_gateway.worker.StreamWorker`` with one worker, as documented
    in docs/performance.md; on ``port`` (to restart one in place), or a free one."""
    port = port or free_port()
    env = {
        "MONITIO_STREAM_SECRET": SECRET,
        "MONITIO_KEY_PREFIX": PREFIX,
        "MONITIO_REDIS_URL": f"{redis_url}/0",
        "MONITIO_MAX_CONNECTIONS": str(max_connections),
        "MONITIO_HEARTBEAT_SECONDS": str(heartbeat),
    }
    # BENCH_GATEWAY_PYTHONPATH puts extra modules before the project's in the gateway
    # only (how the optimisation experiments in the report were run, e.g. hiredis).
    extra = os.environ.get("BENCH_GATEWAY_PYTHONPATH")
    if extra:
        env["PYTHONPATH"] = f"{extra}{os.pathsep}{ROOT}"
    svc = Service(name, _stream_worker("sse_gateway.wsgi:application", port), env, port)
    _get(port, "/readyz", tries=100)  # starts the fan-out reader
    return svc


def floor(*, port: int | None = None) -> Service:
    """The gateway's worker class serving ``bench.floor_app``, set up as :func:`gateway`."""
    port = port or free_port()
    return Service("floor", _stream_worker("bench.floor_app:application", port), port=port)


def _stream_worker(app: str, port: int) -> list[str]:
    """gunicorn with the gateway's worker class, one process, serving ``app``."""
    return [
        str(VENV_BIN / "gunicorn"),
        "-k",
        "sse_gateway.worker.StreamWorker",
        "-w",
        "1",
        "--worker-connections",
        "1000",
        "--backlog",
        "4096",
        "-b",
        f"127.0.0.1:{port}",
        "--no-control-socket",
        "--graceful-timeout",
        "5",
        app,
    ]


def nchan(*, heartbeat: int = 15, port: int | None = None) -> Service:
    """nginx + nchan, one worker process, configured from bench/nchan.conf."""
    port = port or free_port()
    prefix = RUN / "nginx"
    (prefix / "logs").mkdir(parents=True, exist_ok=True)
    conf = (HERE / "nchan.conf").read_text()
    conf = conf.replace("@PORT@", str(port)).replace("@HEARTBEAT@", str(heartbeat))
    conf = conf.replace("@PREFIX@", str(prefix))
    (prefix / "nginx.conf").write_text(conf)
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    return Service(
        "nchan", [nginx, "-p", str(prefix), "-c", str(prefix / "nginx.conf")], port=port
    )


def django_server(workers: int = 2) -> Service:
    port = free_port()
    return Service(
        "django",
        [
            str(VENV_BIN / "gunicorn"),
            "-w",
            str(workers),
            "-k",
            "sync",
            "--backlog",
            "2048",
            "-b",
            f"127.0.0.1:{port}",
            "--no-control-socket",
            "-c",
            "python:bench.gunicorn_django",
            "django.core.wsgi:get_wsgi_application()",
        ],
        {},
        port,
    )


def celery_worker(concurrency: int = 2) -> Service:
    svc = Service(
        "celery",
        [
            str(VENV_BIN / "celery"),
            "-A",
            "bench.celery_app",
            "worker",
            "-l",
            "WARNING",
            "-P",
            "prefork",
            "-c",
            str(concurrency),
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-n",
            f"bench-{os.getpid()}@%h",
        ],
    )
    _wait_celery(svc)
    return svc


def _wait_celery(svc: Service) -> None:
    from bench.celery_app import app

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if svc.proc.poll() is not None:
            raise RuntimeError(f"celery exited: {svc.log.read_text()[-2000:]}")
        if app.control.ping(timeout=0.5):
            return
    raise TimeoutError("celery worker not ready")


def gateway_metric(port: int, name: str) -> float:
    """One of the gateway's ``/metrics`` values."""
    for line in _get(port, "/metrics").decode().splitlines():
        if line.startswith(f"monitio_gateway_{name}{{"):
            return float(line.rsplit(" ", 1)[1])
    raise KeyError(name)


def _get(port: int, path: str, tries: int = 1) -> bytes:
    for attempt in range(tries):
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{port}{path}", timeout=5
            ) as r:
                return r.read()
        except OSError:
            if attempt == tries - 1:
                raise
            time.sleep(0.1)
    return b""


def cpu_seconds(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return times.user + times.system


def rss_mb(proc: psutil.Process) -> float:
    return proc.memory_info().rss / 2**20


_TIME_FIELDS = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")


@contextlib.contextmanager
def machine_load() -> Iterator[dict[str, float]]:
    """The whole machine's CPU use during the block, in % of all its cores, filled in
    on exit: busy (running anything), and stolen (the hypervisor ran something else
    on our virtual CPUs meanwhile)."""
    load: dict[str, float] = {}
    before = psutil.cpu_times()
    yield load
    after = psutil.cpu_times()
    spent = {f: getattr(after, f, 0.0) - getattr(before, f, 0.0) for f in _TIME_FIELDS}
    total = sum(spent.values()) or 1.0
    busy = total - spent["idle"] - spent["iowait"] - spent["steal"]
    load["busy_pct"] = round(100 * busy / total, 1)
    load["steal_pct"] = round(100 * spent["steal"] / total, 1)


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of a process and its live children (a prefork pool)."""
    root = psutil.Process(pid)
    total = 0.0
    for proc in [root, *root.children(recursive=True)]:
        try:
            total += cpu_seconds(proc)
        except psutil.NoSuchProcess:
            pass
    return total

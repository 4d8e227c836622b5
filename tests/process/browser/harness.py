"""The browser harness: the example project's real processes, and Chromium's launch
options (the fixtures using them are ``chromium`` and ``login`` in
``tests/process/conftest.py`` and ``stack`` in ``tests/process/browser/conftest.py``).

One stack serves the whole browser folder: the Procfile's four processes (``web``:
gunicorn serving ``example.wsgi``; ``worker``: ``celery worker``; ``beat``:
``celery beat``; ``gateway``: ``gunicorn -k
sse_gateway.worker.StreamWorker sse_gateway.wsgi``), each started
from its own Procfile line on free ports, sharing a fresh SQLite file (migrated, with
the demo users) and the test Redis databases (``MONITIO_TEST_REDIS_URL``,
``MONITIO_TEST_BROKER_URL``).
The page is opened as ``http://localhost:<web>`` and reaches the gateway on
``http://localhost:<gateway>`` with CORS and credentials, as in development.

Chromium is Debian's ``/usr/bin/chromium``; nothing here downloads a browser.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import redis
from django.conf import settings

from tests import procs

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "monitio-demo"
PROCFILE = procs.ROOT / "Procfile"


#: Debian's Chromium, headless. The sync API is used directly, not pytest-playwright's
#: session-wide ``browser`` fixture: its event loop would outlive this package and make
#: Django refuse database access in the tests that run after it.
LAUNCH = {
    "executable_path": CHROMIUM,
    "headless": True,
    "args": [
        "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run",
    ],
}


def procfile() -> dict[str, str]:
    """The Procfile's processes: name -> shell command."""
    entries = {}
    for line in PROCFILE.read_text().splitlines():
        name, sep, command = line.partition(":")
        if sep and not line.startswith("#"):
            entries[name.strip()] = command.strip()
    return entries


@dataclass
class Stack:
    web_port: int
    gateway_port: int
    var_dir: Path
    env: dict[str, str]
    procs: dict[str, subprocess.Popen]

    @property
    def url(self) -> str:
        return f"http://localhost:{self.web_port}"

    @property
    def gateway_url(self) -> str:
        return f"http://localhost:{self.gateway_port}"

    def manage(self, *args: str) -> str:
        """Run ``example/manage.py`` with the stack's settings; return its output."""
        result = subprocess.run(
            [str(procs.VENV_BIN / "python"), "example/manage.py", *args],
            cwd=procs.ROOT, env=self.env, capture_output=True, text=True, timeout=120,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout

    def start(self, name: str) -> None:
        """Start the Procfile's process ``name`` in a process group of its own."""
        log = open(self.var_dir / f"{name}.log", "ab")
        self.procs[name] = subprocess.Popen(
            ["bash", "-c", f"exec {procfile()[name]}"], cwd=procs.ROOT, env=self.env,
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        log.close()
        if name == "gateway":
            _wait_ready(f"{self.gateway_url}/readyz", self.procs[name])

    def stop(self, name: str) -> None:
        procs.stop(self.procs[name])


def stack_env(var_dir: Path, web_port: int, gateway_port: int) -> dict[str, str]:
    return procs.child_env(
        DJANGO_SETTINGS_MODULE="example.settings.dev",
        PATH=f"{procs.VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        EXAMPLE_VAR_DIR=str(var_dir),
        MONITIO_REDIS_URL=settings.REDIS_URL,
        CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
        MONITIO_KEY_PREFIX="monitio-e2e",
        MONITIO_STREAM_SECRET="e2e-stream-secret",
        MONITIO_STREAM_URL=f"http://localhost:{gateway_port}/sse/",
        MONITIO_ALLOWED_ORIGINS=f"http://localhost:{web_port}",
        MONITIO_HEARTBEAT_SECONDS="5",
        WEB_PORT=str(web_port),
        GATEWAY_PORT=str(gateway_port),
        WEB_CONCURRENCY="2",
        CELERY_CONCURRENCY="2",
    )


def _wait_for_log(
    proc: subprocess.Popen, log: Path, marker: bytes, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while marker not in log.read_bytes():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{log.name}: {log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.1)


def _wait_ready(url: str, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{url} never answered 200")
        time.sleep(0.1)


@contextlib.contextmanager
def running_example(var_dir: Path) -> Iterator[Stack]:
    """The example project's web, worker and gateway processes, started from the
    Procfile on a fresh database in ``var_dir`` and the emptied test Redis databases,
    and stopped (SIGTERM to each process group) on exit."""
    for url in (settings.REDIS_URL, settings.CELERY_BROKER_URL):
        redis.Redis.from_url(url).flushdb()
    web_port, gateway_port = procs.free_port(), procs.free_port()
    env = stack_env(var_dir, web_port, gateway_port)
    stack = Stack(web_port, gateway_port, var_dir, env, {})
    stack.manage("migrate", "--noinput", "-v0")
    stack.manage("demo_users")
    assert stack.manage("demo_users").count("exists") == 3  # idempotent
    try:
        for name in procfile():
            stack.start(name)
        _wait_for_log(stack.procs["worker"], var_dir / "worker.log", b"ready.", 60)
        _wait_ready(f"{stack.url}/login/", stack.procs["web"])
        yield stack
    finally:
        for proc in stack.procs.values():
            procs.stop(proc)


# -- pages: what the browser tests do in the example ------------------------------------

#: Installed before any page script runs: records toasts, script executions and
#: CSP violations in the page's window.
RECORDER = """
window.__xss = 0;
window.__toasts = [];
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__csp.push(e.violatedDirective + ' ' + e.blockedURI);
});
new MutationObserver((records) => {
  for (const record of records) {
    for (const node of record.addedNodes) {
      if (node.nodeType !== 1 || !node.closest('#monitioMessages')) continue;
      window.__toasts.push({
        text: node.textContent,
        elements: [...node.querySelectorAll('*')].map((e) => e.tagName.toLowerCase()),
        at: Date.now(),
      });
    }
  }
}).observe(document, {childList: true, subtree: true});
"""

BADGE = "header.site [data-monitio-unread]"


def badge(page) -> int:
    return int(page.inner_text(BADGE).strip() or 0)


def open_recorded(login, username: str, **context_options):
    page = login(username, **context_options)
    page.context.add_init_script(RECORDER)
    page.reload()
    page.evaluate("window.__sameDocument = true")
    return page


def send(page, stack, *, to: str, body: str, subject: str = "", email: bool = False,
         level: str = "120") -> None:
    """Send a message through the example's send page, as a user would."""
    page.goto(f"{stack.url}/send/")
    page.select_option("select[name=recipient]", label=to)
    page.select_option("select[name=level]", value=level)
    page.fill("input[name=subject]", subject)
    page.fill("textarea[name=body]", body)
    if email:
        page.check("input[name=email]")
    page.click("#send-form button[type=submit]")
    page.wait_for_url(f"{stack.url}/send/")
    assert f"Message sent to {to}." in page.inner_text("main")


def wait_toast(page, marker: str, timeout: float = 20_000) -> dict:
    page.wait_for_function(
        "m => window.__toasts.some(t => t.text.includes(m))", arg=marker,
        timeout=timeout, polling=50,
    )
    return page.evaluate(
        "m => window.__toasts.find(t => t.text.includes(m))", marker
    )

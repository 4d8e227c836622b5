"""The README's "first live message" works (issue 18.3), built as a reader would.

``django-admin startproject`` in a temporary folder; the README's marked blocks
(:mod:`.quickstart`) written into it; then its commands: migrate, createsuperuser,
runserver, ``manage.py monitio_gateway``, ``celery worker`` and ``celery beat``, as real
processes; Chromium opens ``/messages/`` as ``localhost``, logs in, and the README's
``send_message`` command sends a message that must appear on the open page.

What the test changes, and only that: the Redis URLs point at the test's Redis,
runserver and the gateway take free ports (so ``--allow-origin`` names runserver's),
and createsuperuser runs without a prompt.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from django.conf import settings

from tests import procs

from .quickstart import blocks, commands, substitute

PASSWORD = "quick-start-pw"
RUN = [
    "python manage.py migrate",
    "python manage.py createsuperuser --username admin",
    "python manage.py runserver",
    "python manage.py monitio_gateway",
    "celery -A mysite worker -l INFO --without-gossip --without-mingle --without-heartbeat",
    "celery -A mysite beat -l INFO",
]


class Project:
    """The reader's project in ``root``, and the processes it runs."""

    def __init__(self, root: Path, web_port: int, gateway_port: int) -> None:
        self.root, self.site = root, root / "mysite"
        self.web_port, self.gateway_port = web_port, gateway_port
        self.procs: dict[str, subprocess.Popen] = {}
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("DJANGO_", "MONITIO_", "CELERY_"))}
        env.update(PATH=f"{procs.VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
                   PYTHONUNBUFFERED="1", DJANGO_SUPERUSER_PASSWORD=PASSWORD)
        env.pop("PYTHONPATH", None)
        self.env = env

    def run(self, command: str) -> str:
        result = subprocess.run(shlex.split(command), cwd=self.site, env=self.env,
                                capture_output=True, text=True, timeout=180)
        assert result.returncode == 0, f"{command}: {result.stderr[-3000:]}"
        return result.stdout

    def start(self, name: str, command: str) -> None:
        log = open(self.root / f"{name}.log", "ab")
        self.procs[name] = subprocess.Popen(
            shlex.split(command), cwd=self.site, env=self.env, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )
        log.close()

    def log(self, name: str) -> str:
        return (self.root / f"{name}.log").read_text(errors="replace")

    def wait_for(self, name: str, check, what: str, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if self.procs[name].poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"{name}: no {what}:\n{self.log(name)[-3000:]}")
            time.sleep(0.2)

    def stop(self) -> None:
        for proc in self.procs.values():
            procs.stop(proc)


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code < 500
    except httpx.TransportError:
        return False


def streams_opened(url: str) -> int:
    try:
        text = httpx.get(url, timeout=2).text
    except httpx.TransportError:
        return 0
    for line in text.splitlines():
        if line.startswith("monitio_gateway_connections_total"):
            return int(float(line.split()[-1]))
    return 0


@pytest.fixture
def project(tmp_path) -> Iterator[Project]:
    """startproject, with the README's blocks applied."""
    for url in (settings.REDIS_URL, settings.CELERY_BROKER_URL):
        redis.Redis.from_url(url).flushdb()
    web_port, gateway_port = procs.free_port(), procs.free_port()
    project = Project(tmp_path, web_port, gateway_port)
    subprocess.run([str(procs.VENV_BIN / "django-admin"), "startproject", "mysite"],
                   cwd=tmp_path, check=True, env=project.env)
    readme = blocks()
    config = readme["settings"]
    config = substitute(config, '"redis://127.0.0.1:6379/0"', f'"{settings.CELERY_BROKER_URL}"')
    config = substitute(config, '"redis://127.0.0.1:6379/1"', f'"{settings.REDIS_URL}"')
    config = substitute(config, '"http://localhost:8001/sse/"',
                        f'"http://localhost:{gateway_port}/sse/"')
    package = project.site / "mysite"
    with open(package / "settings.py", "a") as handle:
        handle.write("\n" + config)
    (package / "celery.py").write_text(readme["celery"])
    with open(package / "__init__.py", "a") as handle:
        handle.write(readme["init"])
    (package / "urls.py").write_text(readme["urls"])
    yield project
    project.stop()


def test_the_readme_quick_start_delivers_a_live_message(project, chromium):
    run = commands(blocks()["run"])
    assert run == RUN, "the README's commands changed: update this test with them"
    web = f"http://localhost:{project.web_port}"
    gateway = f"http://localhost:{project.gateway_port}"
    project.run(run[0])
    project.run(f"{run[1]} --noinput --email admin@example.com")
    assert "monitio" not in project.run("python manage.py check")  # no monitio warning

    project.start("web", f"{run[2]} 127.0.0.1:{project.web_port} --noreload")
    project.start("gateway", f"{run[3]} --allow-origin {web}")
    project.start("worker", f"{run[4]} --concurrency 1")
    project.start("beat", f"{run[5]} -s {project.root / 'beat'}")
    project.wait_for("web", lambda: answers(f"{web}/admin/login/"), "answer")
    project.wait_for("gateway", lambda: answers(f"{gateway}/readyz"), "answer")
    project.wait_for("worker", lambda: "ready." in project.log("worker"), "ready line")
    # The gateway took the site's Redis db and key prefix from its settings.
    assert f"Redis {settings.REDIS_URL}, key prefix 'monitio'" in project.log("gateway")

    page = chromium.new_page()
    page.goto(f"{web}/messages/")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{web}/messages/")
    project.wait_for("gateway", lambda: streams_opened(f"{gateway}/metrics") >= 1,
                     "stream opened by the page")
    send = commands(blocks()["send"])
    assert len(send) == 1
    assert "Queued message" in project.run(send[0])
    toast = page.wait_for_selector("[data-monitio-id]", timeout=30_000)
    assert "Hello, live" in toast.text_content()
    page.wait_for_function(
        "document.querySelector('[data-monitio-unread]').textContent.trim() === '1'",
        timeout=10_000,
    )


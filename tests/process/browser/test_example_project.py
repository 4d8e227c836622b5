"""The example project's configuration, checked in subprocesses of its own.

Prints ``S16 deploy_warnings=0`` (``manage.py check --deploy`` on the production
settings, with the environment they document).
"""

from __future__ import annotations

import json
import re
import secrets
import subprocess

from django.conf import settings

from tests import procs

from .harness import procfile


def run(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(procs.VENV_BIN / "python"), *args], cwd=procs.ROOT, capture_output=True,
        text=True, timeout=120, env=procs.child_env(**env),
    )


def test_production_settings_pass_check_deploy(tmp_path):
    result = run(
        "example/manage.py", "check", "--deploy", "--fail-level", "WARNING",
        DJANGO_SETTINGS_MODULE="example.settings.production",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="app.example.com",
        MONITIO_STREAM_SECRET=secrets.token_urlsafe(50),
        MONITIO_REDIS_URL=settings.REDIS_URL,
        CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
        EXAMPLE_VAR_DIR=str(tmp_path),
    )
    output = result.stdout + result.stderr
    warnings = len(re.findall(r"\(\w+(?:\.\w+)*\.W\d+\)", output))
    print(f"S16 deploy_warnings={warnings}")
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_settings_refuse_to_start_without_secrets():
    result = run(
        "example/manage.py", "check",
        DJANGO_SETTINGS_MODULE="example.settings.production",
        DJANGO_SECRET_KEY="",
        MONITIO_STREAM_SECRET="",
    )
    assert result.returncode != 0
    assert "Set the DJANGO_SECRET_KEY environment variable." in result.stderr


def test_celery_app_is_json_only_and_beat_drains_the_outbox(tmp_path):
    result = run(
        "-c",
        "import json; from example import celery_app as app; "
        "app.loader.import_default_modules(); c = app.conf; "
        "print(json.dumps({'ser': [c.task_serializer, c.result_serializer], "
        "'accept': list(c.accept_content), 'beat': c.beat_schedule, "
        "'tasks': sorted(app.tasks)}))",
        DJANGO_SETTINGS_MODULE="example.settings.dev",
        # Celery's Django fixup runs the system checks, which open the database on
        # Django 6.1.
        EXAMPLE_VAR_DIR=str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    conf = json.loads(result.stdout)
    assert conf["ser"] == ["json", "json"] and conf["accept"] == ["json"]
    assert conf["beat"]["monitio-drain-outbox"]["task"] == "monitio_tasks.drain_outbox"
    assert {"demo.crunch_numbers", "monitio_tasks.create_message"} <= set(conf["tasks"])


def test_procfile_runs_web_worker_beat_and_gateway():
    entries = procfile()
    assert list(entries) == ["web", "worker", "beat", "gateway"]
    assert entries["web"].startswith("gunicorn example.wsgi:application ")
    assert entries["worker"].startswith("celery -A example worker --without-gossip ")
    assert entries["beat"].startswith("celery -A example beat ")
    assert entries["gateway"].startswith(
        "gunicorn -k sse_gateway.worker.StreamWorker sse_gateway.wsgi:application "
    )

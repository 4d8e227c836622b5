"""System checks: each misconfiguration gets its stable id; a good setup gets none."""

import subprocess

import pytest
from django.core import checks
from django.test import override_settings

import monitio
from monitio import checks as monitio_checks
from tests import procs
from tests.celery_app import app as celery_app


def ids(messages) -> set[str]:
    return {m.id for m in messages}


def run_monitio_checks(include_deployment_checks=False) -> set[str]:
    return ids(checks.run_checks(tags=["monitio"], include_deployment_checks=include_deployment_checks))


def test_the_test_settings_pass_every_check(settings):
    assert run_monitio_checks() == set()


@override_settings(MESSAGE_STORAGE="django.contrib.messages.storage.fallback.FallbackStorage")
def test_storage_not_set():
    assert "monitio.E001" in run_monitio_checks()


@override_settings(MESSAGE_STORAGE="tests.fast.core.test_checks.SubclassStorage")
def test_subclass_of_the_storage_is_fine():
    assert "monitio.E001" not in run_monitio_checks()


from monitio.storage import PersistentMessageStorage


class SubclassStorage(PersistentMessageStorage):
    pass


def test_message_middleware_missing(settings):
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if "MessageMiddleware" not in m]
    assert "monitio.E002" in run_monitio_checks()


@pytest.mark.parametrize("url", ["", "http://example.com", None])
def test_no_redis_url(settings, url):
    settings.MONITIO = {**settings.MONITIO, "REDIS_URL": url}
    assert "monitio.E003" in run_monitio_checks()


def test_unreachable_redis_is_a_warning(settings):
    settings.MONITIO = {**settings.MONITIO, "REDIS_URL": f"redis://127.0.0.1:{procs.free_port()}/0"}
    found = checks.run_checks(tags=["monitio"])
    assert "monitio.W002" in ids(found)
    assert all("@" not in m.msg for m in found)


def test_evicting_redis_is_a_warning(settings, tmp_path):
    """R9: a Redis that may evict keys is reported at start-up."""
    port = procs.free_port()
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no",
         "--maxmemory-policy", "allkeys-lru"], stdout=subprocess.DEVNULL,
    )
    try:
        procs.wait_for_port(port)
        settings.MONITIO = {**settings.MONITIO, "REDIS_URL": f"redis://127.0.0.1:{port}/0"}
        found = run_monitio_checks()
        print(f"R9 policy=allkeys-lru warning_emitted={'monitio.W001' in found}")
        assert "monitio.W001" in found
    finally:
        server.terminate()
        server.wait()


def test_pickle_is_a_warning():
    """R8/S17: JSON only; pickle anywhere is flagged."""
    conf = celery_app.conf
    assert conf.task_serializer == "json" and list(conf.accept_content) == ["json"]
    old = conf.accept_content
    conf.accept_content = ["json", "pickle"]
    try:
        assert "monitio.W003" in run_monitio_checks()
    finally:
        conf.accept_content = old
    print(f"S17 pickle_accepted={'pickle' in conf.accept_content} task_serializer={conf.task_serializer}")


def test_short_visibility_timeout_is_a_warning():
    """R5 (static): retry delays stay below the broker's visibility timeout, the
    documented one (``monitio_tasks.redis_transport_options``) included."""
    import monitio_tasks
    from monitio_tasks import tasks

    conf = celery_app.conf
    old = conf.broker_transport_options
    recommended = monitio_tasks.redis_transport_options
    try:
        conf.broker_transport_options = {"visibility_timeout": tasks.RETRY_BACKOFF_MAX}
        assert "monitio.W004" in run_monitio_checks()
        conf.broker_transport_options = recommended
        assert "monitio.W004" not in run_monitio_checks()
    finally:
        conf.broker_transport_options = old
    for task in (tasks.deliver, tasks.deliver_bulk, tasks.create_message, tasks.send_email, tasks.publish_state):
        assert task.acks_late and task.reject_on_worker_lost
        assert task.retry_backoff_max < recommended["visibility_timeout"] <= old["visibility_timeout"]
        assert task.retry_jitter
    print(f"R5 static retry_backoff_max={tasks.RETRY_BACKOFF_MAX} "
          f"visibility_timeout={recommended['visibility_timeout']} "
          f"restore_every_s={recommended['unacked_restore_interval'] * recommended['unacked_restore_throttle']}")


def test_insecure_stream_cookie_is_a_deploy_warning(settings):
    settings.MONITIO = {**settings.MONITIO, "STREAM_COOKIE_SECURE": False}
    assert "monitio.W005" in run_monitio_checks(include_deployment_checks=True)
    settings.MONITIO = {**settings.MONITIO, "STREAM_COOKIE_SECURE": True}
    assert "monitio.W005" not in run_monitio_checks(include_deployment_checks=True)


def test_unknown_monitio_key_is_a_clear_error(settings):
    from monitio.conf import settings as monitio_settings
    from monitio.exceptions import MonitioConfigurationError

    settings.MONITIO = {**settings.MONITIO, "REDIS_ULR": "x"}
    with pytest.raises(MonitioConfigurationError, match="REDIS_ULR"):
        monitio_settings.REDIS_URL


def test_no_model_instance_is_passed_to_a_task():
    """R8 (static): every .delay/.apply_async/enqueue call in the package passes ids or JSON."""
    import ast
    import pathlib

    root = pathlib.Path(monitio_checks.__file__).parent.parent
    calls = 0
    for path in [*root.glob("monitio/**/*.py"), *root.glob("monitio_tasks/**/*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
                "delay", "apply_async", "enqueue", "enqueue_on_commit"
            ):
                calls += 1
                passed = [*node.args, *(k.value for k in node.keywords)]
                passed += [e for a in passed if isinstance(a, (ast.List, ast.Tuple)) for e in a.elts]
                for arg in passed:
                    # A model instance would reach a task as a bare user/message name.
                    assert not (isinstance(arg, ast.Name) and arg.id in {"user", "message", "row", "instance"}), (
                        f"{path}:{node.lineno} passes {arg.id!r} to a task"
                    )
    print(f"R8 task_calls_checked={calls} model_objects_passed=0")
    assert calls >= 5


@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")
def test_sqlite_with_deferred_transactions_is_a_warning(settings):
    """On SQLite only (the test settings are IMMEDIATE; on PostgreSQL nothing to say)."""
    from django.db import connection

    default = settings.DATABASES["default"]
    options = {k: v for k, v in default.get("OPTIONS", {}).items() if k != "transaction_mode"}
    settings.DATABASES = {**settings.DATABASES, "default": {**default, "OPTIONS": options}}
    assert ("monitio.W006" in run_monitio_checks()) == (connection.vendor == "sqlite")


def test_message_tags_without_monitios_levels_is_a_warning(settings):
    settings.MESSAGE_TAGS = {}
    assert "monitio.W012" in run_monitio_checks()
    settings.MESSAGE_TAGS = {**monitio.MESSAGE_TAGS, 115: "notice"}
    assert "monitio.W012" not in run_monitio_checks()

"""R3: the broker is down while views add messages; nothing is lost, no view fails.

Real processes: a Redis broker we start and stop, a gunicorn web server running the
test project, and a Celery worker with embedded beat that drains the outbox.
"""

import subprocess
import time

import httpx
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model

import monitio
from monitio.models import Message, PendingTask
from tests import procs
from tests.waiting import wait_until


def start_redis(port: int) -> subprocess.Popen:
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    procs.wait_for_port(port, proc=server)
    return server


def session_cookie(user) -> dict[str, str]:
    from django.test import Client

    client = Client()
    client.force_login(user)
    return {django_settings.SESSION_COOKIE_NAME: client.cookies[django_settings.SESSION_COOKIE_NAME].value}


def test_broker_outage_at_request_time_loses_nothing(transactional_db, redis_client, tmp_path):
    user = get_user_model().objects.create_user("outage", "outage@example.com", "pw")
    broker_port, web_port = procs.free_port(), procs.free_port()
    broker_url = f"redis://127.0.0.1:{broker_port}/0"
    broker = start_redis(broker_port)
    web = procs.start(
        [str(procs.VENV_BIN / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{web_port}", "tests.wsgi:application"],
        tmp_path / "web.log", MONITIO_TEST_BROKER_URL=broker_url,
    )
    worker = None
    try:
        procs.wait_for_port(web_port, proc=web)
        broker.terminate()
        broker.wait()
        cookies = session_cookie(user)
        statuses = []
        with httpx.Client(base_url=f"http://127.0.0.1:{web_port}", cookies=cookies, timeout=30) as http:
            for i in range(100):
                statuses.append(http.get(f"/add/?level={monitio.INFO}&text=outage-{i}").status_code)
        errors = sum(1 for s in statuses if s >= 500)
        kept = PendingTask.objects.count()
        assert errors == 0 and kept == 100, (statuses, kept)
        assert Message.objects.count() == 0

        broker = start_redis(broker_port)
        back = time.monotonic()
        worker = procs.celery_worker(tmp_path / "worker.log", beat=True, MONITIO_TEST_BROKER_URL=broker_url)
        wait_until(lambda: Message.objects.filter(user=user).count() == 100, timeout=60)
        drained = time.monotonic() - back
        texts = set(Message.objects.values_list("message", flat=True))
        print(f"R3 requests=100 view_errors={errors} outbox_rows={kept} delivered={len(texts)}/100 "
              f"drain_seconds={drained:.1f} (sweeper period 10 s)")
        assert texts == {f"outage-{i} 0" for i in range(100)}
        assert PendingTask.objects.count() == 0
    finally:
        for proc in (web, worker):
            if proc is not None:
                procs.stop(proc)
        if broker.poll() is None:
            broker.terminate()
            broker.wait()

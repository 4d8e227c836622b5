"""monitio.testing (issue 18.4): a site's tests see what its code queued, and can
deliver it in-process, with no Redis, broker or worker needed.

These tests run beside the suite's real Redis (monitio's events and Celery's broker)
and check that nothing reached it: the server's command count is the same after the
test as before (``services_untouched``), so a helper that needed Redis or a worker
would fail them. The same helpers delivering live to the real Redis and a real
gateway are tested in ``tests/process/gateway/test_outbox_live.py``.
"""

from __future__ import annotations

import pytest
from django.core import mail
from django.http import HttpResponse
from django.test import override_settings
from django.urls import include, path

import monitio
from monitio._compat.kombu import RedisQueueSender
from monitio.models import Message
from monitio.testing import capture_messages, monitio_outbox  # noqa: F401 (fixture)
from monitio_tasks import tasks
from tests.celery_app import app


def ship(request):
    """A site's view: tells the order's owner (bob) it shipped, with an e-mail."""
    from django.contrib.auth import get_user_model

    bob = get_user_model().objects.get(username="bob")
    monitio.add_message(request, monitio.SUCCESS, "Your order shipped", user=bob,
                        subject="Shipped", email=True)
    return HttpResponse("ok")


urlpatterns = [path("ship/", ship), path("messages/", include("monitio.urls"))]


@pytest.fixture
def services_untouched(settings, redis_client):
    """The real Redis (events and broker: one server) runs, and the test must not use
    it: no command reaches the server between the start and the end of the test."""
    settings.ROOT_URLCONF = __name__
    RedisQueueSender.reset()  # a sender kept from before would hold a connection

    def commands() -> int:  # the server's count so far, this INFO not included
        return int(redis_client.info("stats")["total_commands_processed"])

    before = commands()
    yield
    assert commands() == before + 1, "monitio.testing reached Redis or the broker"


@pytest.mark.django_db
def test_a_view_sent_bob_a_message_and_delivering_stores_it(services_untouched, client, alice, bob):
    client.force_login(alice)
    with capture_messages() as outbox:
        assert client.get("/ship/").status_code == 200
    [message] = outbox.to(bob)
    assert (message.message, message.subject, message.level) == (
        "Your order shipped", "Shipped", monitio.SUCCESS,
    )
    assert message.email and outbox.to(alice) == []
    assert not Message.objects.exists()  # queued, not stored
    assert outbox.deliver() == 2  # the deliver task, then the e-mail it sends
    stored = Message.objects.get()
    assert (stored.user, stored.message, str(stored.pk)) == (bob, "Your order shipped", message.id)
    assert [m.subject for m in mail.outbox] == ["Shipped"]


@pytest.mark.django_db
def test_every_way_of_sending_is_captured(services_untouched, alice, bob):
    with capture_messages(deliver=True) as outbox:
        monitio.create_message(bob, monitio.INFO, "one")
        monitio.create_messages([alice, bob], monitio.WARNING, "two")
        with monitio.batch():
            monitio.create_message(bob, monitio.ERROR, "three")
        monitio.create_message.delay(bob.pk, monitio.INFO, "four")
    # .delay sends at once; the others when the test's transaction "commits".
    assert [m.message for m in outbox.to(bob)] == ["four", "one", "two", "three"]
    assert [m.message for m in outbox.to(alice.pk)] == ["two"]
    assert Message.objects.filter(user=bob).count() == 4
    # Each captured message's id is the id of the row delivering it stored.
    stored = {str(pk) for pk in Message.objects.values_list("pk", flat=True)}
    assert {m.id for m in outbox.messages} == stored


@override_settings(CELERY_TASK_ALWAYS_EAGER=True)
@pytest.mark.django_db
def test_eager_celery_needs_no_redis_under_capture(services_untouched, bob):
    """Eager alone publishes to Redis in the caller (and raises Celery's Retry when no
    Redis answers); the outbox delivers without the live event instead."""
    app.conf.task_always_eager = True
    try:
        with capture_messages(deliver=True) as outbox:
            monitio.create_message(bob, monitio.INFO, "eager")
    finally:
        app.conf.task_always_eager = False
    assert len(outbox.messages) == 1
    assert Message.objects.get().message == "eager"


@pytest.mark.django_db
def test_the_fixture_sees_messages_before_the_test_transaction_ends(services_untouched, monitio_outbox, bob):
    monitio.create_message(bob, monitio.INFO, "inside the test's transaction")
    assert [m.message for m in monitio_outbox.to(bob)] == ["inside the test's transaction"]
    result = monitio.create_message.delay(bob.pk, monitio.INFO, "from a job")
    assert result.id == monitio_outbox.tasks[-1].id  # .delay still answers a result
    monitio_outbox.clear()
    assert monitio_outbox.messages == []


@pytest.mark.django_db
def test_rolled_back_messages_are_not_captured(services_untouched, bob):
    from django.db import transaction

    with capture_messages() as outbox:
        with pytest.raises(RuntimeError), transaction.atomic():
            monitio.create_message(bob, monitio.INFO, "never")
            raise RuntimeError
    assert outbox.messages == []


def test_nothing_stays_patched_after_the_block():
    original = tasks.deliver.apply_async
    with capture_messages():
        assert tasks.deliver.apply_async != original
    assert tasks.deliver.apply_async == original

"""A batch that is partly undeliverable still e-mails the messages it delivered: the
task fails for the rest after sending their e-mail tasks (issue 16, item 1)."""

import pytest
from django.core import mail

import monitio
from monitio import payloads
from monitio.models import Message
from monitio_tasks import tasks
from tests.waiting import wait_until


def emailed(user, text: str) -> dict:
    return payloads.build(user_id=user.pk, level=monitio.INFO, message=text, email=True)


@pytest.mark.parametrize(
    "bad",
    [{"user": 987654}, {"close_timeout": 2**63}],
    ids=["recipient missing", "rejected"],
)
def test_the_delivered_messages_are_emailed(worker, alice, redis_client, bad):
    good = emailed(alice, "good")
    tasks.deliver.delay([good, {**emailed(alice, "bad"), **bad}])
    wait_until(lambda: Message.objects.filter(published_at__isnull=False).count() == 1,
               message="the good message delivered")
    # The row is marked sent right after the backend took the e-mail: wait for both.
    wait_until(lambda: Message.objects.get().email_status == Message.EmailStatus.SENT,
               timeout=10, message="its e-mail sent")
    assert [m.body for m in mail.outbox if "good" in m.body]

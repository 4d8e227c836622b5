"""A message that has expired by the time a real worker stores it is never published
(issue 16, item 7); one in time is."""

from datetime import timedelta

from django.utils import timezone

import monitio
from monitio.models import Message
from tests.fast.core.test_pipeline import user_events
from tests.waiting import wait_until


def test_worker_does_not_publish_an_expired_message(worker_process, alice, redis_client):
    expired = monitio.create_message(alice, monitio.INFO, "too late",
                                     expires=timezone.now() - timedelta(minutes=1))
    in_time = monitio.create_message(alice, monitio.INFO, "in time",
                                     expires=timezone.now() + timedelta(hours=1))
    wait_until(lambda: Message.objects.filter(published_at__isnull=False).count() == 2,
               timeout=60, message="both messages stored and handled")
    published = [e[1]["d"] for e in user_events(redis_client, alice)]
    assert len(published) == 1 and str(in_time) in published[0]
    assert not any(str(expired) in d for d in published)
    assert Message.objects.visible_to(alice).count() == 1

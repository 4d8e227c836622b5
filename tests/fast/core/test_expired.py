"""An already-expired message is stored but never published (issue 16, item 7): it
is never listed, so it must not pop up live either."""

from datetime import timedelta

from django.utils import timezone

import monitio
from monitio import delivery, payloads
from monitio.models import Message
from tests.fast.core.test_pipeline import user_events


def test_an_expired_message_is_stored_marked_and_not_published(
    transactional_db, alice, redis_client
):
    past = payloads.build(user_id=alice.pk, level=monitio.INFO, message="too late",
                          expires=timezone.now() - timedelta(seconds=1))
    future = payloads.build(user_id=alice.pk, level=monitio.INFO, message="in time",
                            expires=timezone.now() + timedelta(hours=1))
    delivery.deliver([past, future])
    assert Message.objects.filter(published_at__isnull=False).count() == 2  # none left over
    events = user_events(redis_client, alice)
    assert [e[1]["e"] for e in events] == ["message"]
    assert future["id"] in events[0][1]["d"] and past["id"] not in events[0][1]["d"]

"""S13: an oversized message is refused by the API before anything is queued.

Printed::

    S13 oversize=… refused_MessageTooLarge=…/… rows=0 tasks_queued=0 events=0
"""

from __future__ import annotations

import pytest
from django.contrib.messages.storage import default_storage
from django.contrib.sessions.backends.db import SessionStore
from django.test import RequestFactory

import monitio
from monitio.conf import settings as monitio_settings
from monitio.exceptions import MessageTooLarge
from monitio.models import Message


def _request(user):
    request = RequestFactory().get("/")
    request.user, request.session = user, SessionStore()
    request._messages = default_storage(request)
    return request


def _oversize_calls(alice, bob) -> list:
    big, huge = monitio_settings.MAX_MESSAGE_LENGTH + 1, 1_000_000
    long_subject = "s" * (monitio_settings.MAX_SUBJECT_LENGTH + 1)
    request = _request(alice)
    calls = []
    for size in (big, huge, 10_000_000):
        text = "x" * size
        calls += [
            lambda t=text: monitio.add_message(request, monitio.INFO, t),
            lambda t=text: monitio.add_message(
                request, monitio.INFO, t, user=bob, email=True
            ),
            lambda t=text: monitio.info(request, t, fail_silently=True),
            lambda t=text: monitio.create_message(bob, monitio.WARNING, t),
            lambda t=text: monitio.create_messages([alice, bob], monitio.INFO, t),
        ]
    calls += [
        lambda: monitio.add_message(request, monitio.INFO, "ok", subject=long_subject),
        lambda: monitio.create_message(
            bob, monitio.INFO, "ok", subject=long_subject * 100
        ),
    ]
    return calls


def test_oversized_messages_refused_before_anything_is_queued(
    alice, bob, redis_client, broker_client
):
    calls = _oversize_calls(alice, bob)
    refused = 0
    for call in calls:
        with pytest.raises(MessageTooLarge):
            call()
        refused += 1
    queued = sum(
        broker_client.llen(k)
        for k in broker_client.keys("*")
        if broker_client.type(k) == b"list"
    )
    events = sum(1 for _ in redis_client.scan_iter(f"{monitio_settings.KEY_PREFIX}:u:*"))
    rows = Message.objects.count()
    # The largest message that is allowed still goes through.
    limit = monitio.create_message(
        bob, monitio.INFO, "x" * monitio_settings.MAX_MESSAGE_LENGTH
    )
    print(
        f"\nS13 oversize_calls={len(calls)} sizes=max+1,1MB,10MB,subject "
        f"refused_MessageTooLarge={refused}/{len(calls)} rows={rows} "
        f"tasks_queued={queued} events={events} at_limit_accepted={limit is not None}"
    )
    assert refused == len(calls) and rows == 0 and queued == 0 and events == 0

"""R13: when history cannot fill a gap, the client is told ``resync``, refetches,
and ends equal to the database.

Real parts: a prefork Celery worker subprocess stores the messages and publishes
their events (``monitio.create_message`` and ``monitio.state``), a gunicorn gateway
serves the stream, Django's own views mint the stream credential
(``messages/stream/``) and serve the list (``messages/json/``). The client is a
:class:`~.inbox.LiveInbox`.

Printed::

    R13 case=overflow events_while_away=… resync=1/1 reason=retention diffs=0
    R13 case=flushdb-live resync=1/1 reason=epoch diffs=0
    R13 case=flushdb-reconnect resync=1/1 reason=epoch diffs=0
"""

from __future__ import annotations

import json
import time

from django.db import transaction
from django.test import Client
from django.urls import reverse

import monitio
from monitio import state, wire
from monitio.conf import settings as monitio_settings
from monitio.models import Message
from tests.sseclient import Stream
from tests.waiting import wait_until

from .inbox import LiveInbox


def _browser(alice) -> Client:
    client = Client()
    client.force_login(alice)
    return client


def _open(
    gateway, browser: Client, last_event_id: str | None = None, header: bool = False
) -> Stream:
    """Open the stream as the page does: a credential from Django, then the gateway."""
    answer = browser.post(reverse("monitio:persistent-messages-sse")).json()
    cookie = f"monitio_stream={browser.cookies['monitio_stream'].value}"
    cursor = last_event_id or answer["last_event_id"]
    if header:
        stream = Stream(gateway.port, cookie=cookie, headers={"Last-Event-ID": cursor})
    else:
        stream = Stream(gateway.port, f"/sse/?last_event_id={cursor}", cookie=cookie)
    assert stream.status() == 200
    return stream


def _send(alice, count: int, prefix: str) -> None:
    with transaction.atomic():
        for n in range(count):
            monitio.create_message(alice, monitio.INFO, f"{prefix} {n}")


def _stored(alice, count: int) -> None:
    wait_until(
        lambda: Message.objects.filter(user=alice).count() >= count,
        120,
        message=f"{count} messages stored by the worker",
    )


def _churn(alice) -> list[str]:
    """Read, unread and delete through the state API, as the views do."""
    ids = list(
        Message.objects.filter(user=alice)
        .order_by("created")
        .values_list("id", flat=True)[:6]
    )
    state.mark_read(alice, ids[:4])
    state.mark_unread(alice, ids[:1])
    state.delete(alice, ids[4:5])
    return [str(i) for i in ids]


def _settle(inbox: LiveInbox, stream: Stream, alice) -> int:
    """Apply events until the inbox equals the database (or time runs out)."""
    deadline = time.monotonic() + 30
    while True:
        inbox.apply(stream)
        diffs = inbox.diffs(alice)
        if diffs == 0 or time.monotonic() > deadline:
            return diffs
        time.sleep(0.1)


def _reasons(stream: Stream) -> list[str]:
    return [
        json.loads(e.data)["reason"] for e in stream.events if e.type == wire.RESYNC
    ]


def test_history_overflow_resync_ends_equal_to_database(gateway, worker_process, alice):
    browser = _browser(alice)
    inbox = LiveInbox(browser)
    inbox.fetch()
    stream = _open(gateway, browser)
    _send(alice, 5, "before")
    _stored(alice, 5)
    assert _settle(inbox, stream, alice) == 0
    last = stream.last_id
    stream.close()

    away = monitio_settings.HISTORY_MAXLEN + 100
    _send(alice, away, "away")
    _stored(alice, 5 + away)
    wait_until(lambda: monitio.publish.current_event_id(alice.pk) != last, 30)
    again = _open(gateway, browser, last, header=True)  # the UA's own reconnect
    _churn(alice)
    _send(alice, 3, "after")
    _stored(alice, 5 + away + 3 - 1)
    diffs = _settle(inbox, again, alice)
    again.close()
    reasons = _reasons(again)
    print(
        f"\nR13 case=overflow maxlen={monitio_settings.HISTORY_MAXLEN} "
        f"messages_while_away={away} resync={len(reasons)}/1 reasons={reasons} "
        f"refetches={inbox.fetches - 1} db_messages={len(inbox.read)} diffs={diffs}"
    )
    assert reasons == ["retention"] and diffs == 0


def test_flushdb_while_connected_resync_ends_equal_to_database(
    gateway, worker_process, alice, redis_client
):
    browser = _browser(alice)
    inbox = LiveInbox(browser)
    _send(alice, 10, "before")
    _stored(alice, 10)
    inbox.fetch()
    stream = _open(gateway, browser)
    _churn(alice)
    wait_until(lambda: len(stream.events) >= 3, 30)
    redis_client.flushdb()  # Redis loses every key: history, epoch, sent markers
    _send(alice, 4, "after")
    _stored(alice, 13)
    # Mark all read only once the client shows the new messages: a "read all"
    # racing with new messages is a separate bug (tests/process/faults/pending/).
    assert _settle(inbox, stream, alice) == 0
    state.mark_read(alice)
    diffs = _settle(inbox, stream, alice)
    reasons = _reasons(stream)
    stream.close()
    print(
        f"\nR13 case=flushdb-live resync={len(reasons)}/1 reasons={reasons} "
        f"db_messages={len(inbox.read)} diffs={diffs}"
    )
    assert reasons == ["epoch"] and diffs == 0


def test_flushdb_while_away_resync_ends_equal_to_database(
    gateway, worker_process, alice, redis_client
):
    browser = _browser(alice)
    inbox = LiveInbox(browser)
    inbox.fetch()
    stream = _open(gateway, browser)
    _send(alice, 6, "before")
    _stored(alice, 6)
    wait_until(lambda: len(stream.events) >= 6, 30)
    inbox.apply(stream)
    last = stream.last_id
    stream.close()
    redis_client.flushdb()
    _churn(alice)
    _send(alice, 2, "away")
    _stored(alice, 7)
    again = _open(gateway, browser, last, header=True)
    diffs = _settle(inbox, again, alice)
    reasons = _reasons(again)
    again.close()
    print(
        f"\nR13 case=flushdb-reconnect resync={len(reasons)}/1 reasons={reasons} "
        f"db_messages={len(inbox.read)} diffs={diffs}"
    )
    assert reasons == ["epoch"] and diffs == 0

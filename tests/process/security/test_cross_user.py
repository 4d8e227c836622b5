"""S2/S3/S9: 10,000 attempts by alice to read or change bob's messages: 0 leaks.

Half go to Django's views (ids, cursors, query parameters, path tricks), half to a
gateway (query parameters, paths, bob's event ids as ``Last-Event-ID`` or
``?last_event_id=``), all with alice's own valid session or stream credential.
A leak is any byte of bob's text or of his message ids in a response alice
receives, any event of bob's on alice's streams, or any change to bob's rows.

Printed::

    S2 attempts=10000 views=5000 gateway=5000 leaks=0 bob_rows_changed=0
       foreign_ids_404=…/… streams_opened_as_alice=…

Heavier: ``MONITIO_ABUSE_ATTEMPTS=100000``.
"""

from __future__ import annotations

import itertools
import os
import time
from datetime import timedelta
from urllib.parse import quote

from django.test import Client
from django.urls import reverse
from django.utils import timezone

import monitio
from monitio import publish, wire
from monitio.models import Message
from monitio.views import encode_cursor
from tests.gateways import mint
from tests.process.faults.multireader import MultiReader

ATTEMPTS = int(os.environ.get("MONITIO_ABUSE_ATTEMPTS", "10000"))
SECRET = "BOB-SECRET"
BATCH = 500


def _messages(user, text: str, count: int) -> list[Message]:
    base = timezone.now() - timedelta(hours=1)
    return [
        Message.objects.create(
            user=user,
            level=monitio.INFO,
            message=f"{text} {n}",
            subject=f"{text} subject",
            url=f"/{text}/{n}/",
            created=base + timedelta(seconds=n),
        )
        for n in range(count)
    ]


def _snapshot(user) -> list[tuple]:
    return list(
        Message.objects.filter(user=user)
        .order_by("id")
        .values_list("id", "read", "message", "subject", "modified")
    )


def _view_attempts(bob_ids: list[str], bob_cursors: list[str], bob_pk: int):
    """Yield ``(method, path, data, expect_404)`` forever, cycling through tricks."""
    shapes = [
        ("get", lambda i, c: reverse("monitio:message_detail", args=[i]), True),
        ("post", lambda i, c: reverse("monitio:message_mark_read", args=[i]), True),
        ("post", lambda i, c: reverse("monitio:message_mark_unread", args=[i]), True),
        ("post", lambda i, c: reverse("monitio:message_delete", args=[i]), True),
        ("get", lambda i, c: f"/messages/{i.upper()}/", True),
        ("get", lambda i, c: f"/messages/{i.replace('-', '')}/", True),
        ("get", lambda i, c: f"/messages/%2e%2e/{i}/", True),
        ("get", lambda i, c: f"/messages/{i}/../{i}/", True),
        ("get", lambda i, c: f"/messages/json/?cursor={c}", False),
        ("get", lambda i, c: f"/messages/json/?user={bob_pk}&user_id={bob_pk}", False),
        (
            "get",
            lambda i, c: f"/messages/json/?owner={bob_pk}&limit=100&unread=1",
            False,
        ),
        ("get", lambda i, c: f"/messages/json/unread/?user={bob_pk}", False),
        ("get", lambda i, c: f"/messages/?user={bob_pk}&page=1", False),
        ("get", lambda i, c: f"/messages/?q={i}", False),
        (
            "post",
            lambda i, c: reverse("monitio:message_mark_all_read") + f"?user={bob_pk}",
            False,
        ),
        (
            "post",
            lambda i, c: reverse("monitio:message_delete_all") + f"?user={bob_pk}",
            False,
        ),
    ]
    for n in itertools.count():
        method, make, expect_404 = shapes[n % len(shapes)]
        index = n // len(shapes) % len(bob_ids)
        yield (
            method,
            make(bob_ids[index], bob_cursors[index]),
            {"ids": bob_ids[index]},
            expect_404,
        )


def _attack_views(
    alice, bob_ids, bob_cursors, bob_pk, count: int
) -> tuple[int, int, int]:
    browser = (
        Client()
    )  # CSRF is S8's matter: here every refusal must come from ownership
    browser.force_login(alice)
    leaks = foreign = refused = 0
    needles = [SECRET.lower(), *bob_ids, *(i.replace("-", "") for i in bob_ids)]
    for method, path, data, expect_404 in itertools.islice(
        _view_attempts(bob_ids, bob_cursors, bob_pk), count
    ):
        response = getattr(browser, method)(
            path, data if method == "post" else None, HTTP_ACCEPT="application/json"
        )
        body = response.content.decode("utf-8", "replace").lower()
        # An id alice put in her own request may be echoed back (a "next" field):
        # she knew it already. Anything else of bob's is a leak.
        asked = (path + str(data)).lower()
        leaks += any(n in body for n in needles if n not in asked)
        if expect_404:
            foreign += 1
            refused += response.status_code == 404
    return leaks, foreign, refused


def _gateway_requests(
    alice_pk: int, bob_event_ids: list[str], count: int
) -> list[tuple]:
    cookie = f"monitio_stream={mint(alice_pk)}"
    tricks = [
        ("/sse/?user={b}", {}),
        ("/sse/?channel={b}", {}),
        ("/sse/?user_id={b}&u={b}", {}),
        ("/sse/?last_event_id={e}", {}),
        ("/sse/", {"Last-Event-ID": "{e}"}),
        ("/sse/?user={b}", {"Last-Event-ID": "{e}"}),
        ("/sse/{b}", {}),
        ("/sse/../sse/?user={b}", {}),
        ("/sse/%2e%2e/{b}", {}),
        ("/sse//?user={b}", {}),
        ("/sse/?user={a}&user={b}", {}),
        ("/sse/?last_event_id={e}&user={b}", {}),
    ]
    requests = []
    for n in range(count):
        path, headers = tricks[n % len(tricks)]
        event_id = bob_event_ids[n % len(bob_event_ids)]
        fill = {"a": alice_pk, "b": alice_pk + 1, "e": event_id}  # "b" is bob
        requests.append(
            (
                alice_pk,
                cookie,
                path.format(**{k: quote(str(v), safe="") for k, v in fill.items()}),
                {k: v.format(**fill) for k, v in headers.items()},
            )
        )
    return requests


def _attack_gateway(gw, alice_pk, bob_pk, bob_event_ids, count) -> tuple[int, int]:
    leaks = opened = 0
    requests = _gateway_requests(alice_pk, bob_event_ids, count)
    for start in range(0, len(requests), BATCH):
        batch = requests[start : start + BATCH]
        reader = MultiReader(gw.port, batch, keep_data=True)
        reader.start()
        deadline = time.monotonic() + 30
        while reader.answered() < len(batch):
            assert time.monotonic() < deadline, "the gateway did not answer"
            time.sleep(0.05)
        publish.publish(bob_pk, wire.MESSAGE, {"message": f"{SECRET} live"})
        marker = publish.publish(alice_pk, wire.MESSAGE, {"message": "alice marker"})
        live = [c for c in reader.conns if c.status == 200]
        deadline = time.monotonic() + 30
        while not all(marker in c.ids for c in live):
            assert time.monotonic() < deadline, "alice's own event never arrived"
            time.sleep(0.05)
        reader.stop()
        opened += len(live)
        for conn in reader.conns:
            # Bob's events all carry SECRET. (Their ids are no test: ids are positions
            # in each user's own stream, so alice's and bob's may coincide.)
            leaks += sum(SECRET in d for d in conn.data) + (SECRET.encode() in conn.buf)
    return leaks, opened


def test_ten_thousand_cross_user_attempts_leak_nothing(
    settings, start_gateway, redis_client, alice, bob
):
    # Unlimited here, so that every attempt reaches the ownership check (the
    # per-user limit would answer most of them 429 first: tests/fast/web/test_throttle.py).
    settings.MONITIO = settings.MONITIO | {"STATE_CHANGE_RATE": None}
    _messages(alice, "alice", 20)
    bob_rows = _messages(bob, SECRET, 50)
    bob_ids = [str(m.pk) for m in bob_rows]
    bob_cursors = [encode_cursor(m) for m in bob_rows]
    bob_event_ids = [
        publish.publish(bob.pk, wire.MESSAGE, {"message": f"{SECRET} {n}"})
        for n in range(50)
    ]
    publish.publish(alice.pk, wire.MESSAGE, {"message": "alice's own"})
    before = _snapshot(bob)
    views = ATTEMPTS // 2
    gw = start_gateway(MONITIO_MAX_STREAMS_PER_USER=str(BATCH))
    assert bob.pk == alice.pk + 1  # the gateway tricks name bob by alice's id + 1

    view_leaks, foreign, refused = _attack_views(
        alice, bob_ids, bob_cursors, bob.pk, views
    )
    stream_leaks, opened = _attack_gateway(
        gw, alice.pk, bob.pk, bob_event_ids, ATTEMPTS - views
    )
    changed = sum(a != b for a, b in zip(before, _snapshot(bob))) + abs(
        len(before) - len(_snapshot(bob))
    )
    print(
        f"\nS2 attempts={ATTEMPTS} views={views} gateway={ATTEMPTS - views} "
        f"leaks={view_leaks + stream_leaks} (views={view_leaks} streams={stream_leaks}) "
        f"bob_rows_changed={changed} foreign_ids_404={refused}/{foreign} "
        f"streams_opened_as_alice={opened}"
    )
    assert view_leaks == 0 and stream_leaks == 0 and changed == 0
    assert refused == foreign
    assert opened > 0  # the attempts really reached alice's streams

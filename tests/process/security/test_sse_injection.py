"""S11: fuzzed payloads full of CR, LF, NUL and fake ``id:``/``event:``/``data:``
lines travel through the real gateway and a WHATWG parser: 0 injected fields.

The gateway suite fuzzes the encoder alone (tests/fast/gateway/test_event.py). Here the
payloads take the path a user's text takes: message fields inside the ``message``
event's JSON (``monitio.wire.message_data``), published to Redis, read by a
gunicorn gateway and parsed from the socket by the gateway suite's WHATWG
:class:`~tests.sseclient.Parser`. Hypothesis draws 10,000 payloads, sent
in batches of 1,000; a second test sends 200 through the whole pipeline
(``monitio.create_message`` -> Celery worker -> database -> Redis -> gateway).

Printed::

    S11 path=gateway payloads=10000 events=10000 round_trip_equal=10000 injected_fields=0
    S11 path=pipeline payloads=200 events=200 round_trip_equal=200 injected_fields=0
"""

from __future__ import annotations

import json
import time

from django.db import transaction
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import monitio
from monitio import publish, wire
from tests.gateways import mint
from tests.sseclient import Stream

PIECES = [
    "\r",
    "\n",
    "\r\n",
    "\0",
    "\nid: 9",
    "\nevent: evil",
    "\ndata: injected",
    "\n\nid: 1\ndata: x\n\n",
    "retry: 1",
    "\rretry: 0\r",
    ":",
    " ",
    "\u2028",
    "\u0085",
    "\ufeff",
    "é",
    "\U0001f600",
    "a",
    "</script>",
    '"',
    "\\",
]
nasty = st.lists(st.sampled_from(PIECES), max_size=10).map("".join)
text = st.one_of(
    nasty, st.text(max_size=40), st.text(alphabet="\r\n\0:di evnt", max_size=30)
)
payload = st.fixed_dictionaries({"message": text, "subject": text, "tags": text})


def draw(count: int) -> list[dict]:
    """Let Hypothesis draw ``count`` payloads (its generator, without shrinking:
    the payloads are judged in bulk, over a real socket)."""
    drawn: list[dict] = []

    @settings(
        max_examples=count,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.generate],
    )
    @given(payload)
    def collect(fields: dict) -> None:
        drawn.append(fields)

    collect()
    return drawn


tally = {"payloads": 0, "events": 0, "equal": 0, "injected": 0}


def _data(n: int, fields: dict) -> dict:
    return wire.message_data(
        id=f"00000000-0000-0000-0000-{n:012d}",
        level=120,
        tags=fields["tags"],
        message=fields["message"],
        subject=fields["subject"],
        safe=False,
        persistent=True,
        from_user=None,
        url=None,
        close_timeout=None,
        created="2026-01-01T00:00:00+00:00",
        expires=None,
        unread=None,
    )


def _judge(stream: Stream, expected: list[dict], keys: tuple[str, ...]) -> None:
    """Count events, equal round trips and any field that is not one of ours."""
    tally["payloads"] += len(expected)
    tally["events"] += len(stream.events)
    for event, want in zip(stream.events, expected):
        got = json.loads(event.data)
        tally["equal"] += event.type == wire.MESSAGE and all(
            got[k] == want[k] for k in keys
        )
    tally["injected"] += sum(
        f not in ("id", "event", "data", "retry") for f in stream.parser.fields
    )
    tally["injected"] += abs(len(stream.events) - len(expected))


def test_fuzzed_message_fields_through_the_gateway(start_gateway, redis_client):
    gateway = start_gateway()
    tally.update(dict.fromkeys(tally, 0))
    fields = draw(10_000)
    for start in range(0, len(fields), 1000):
        stream = Stream(
            gateway.port,
            cookie=f"monitio_stream={mint(1)}",
            headers={"Last-Event-ID": publish.current_event_id(1)},
        )
        assert stream.status() == 200
        sent = [_data(n, f) for n, f in enumerate(fields[start : start + 1000])]
        publish.publish_many((1, wire.MESSAGE, d) for d in sent)
        stream.wait_events(len(sent), timeout=30)
        time.sleep(0.2)  # anything extra (an injected event) would arrive now
        stream.close()
        _judge(stream, sent, ("message", "subject", "tags"))
    print(
        f"\nS11 path=gateway payloads={tally['payloads']} events={tally['events']} "
        f"round_trip_equal={tally['equal']} injected_fields={tally['injected']}"
    )
    assert tally["payloads"] == 10_000
    assert tally["equal"] == tally["payloads"] and tally["injected"] == 0


def test_fuzzed_messages_through_worker_and_gateway(
    start_gateway, worker_process, redis_client, django_user_model
):
    gateway = start_gateway()
    tally.update(dict.fromkeys(tally, 0))
    user = django_user_model.objects.create_user("fuzz", password="pw")
    fields = draw(200)
    for f in fields:  # NUL is refused by PostgreSQL text columns; the database
        f["message"] = f["message"].replace("\0", "") or "x"  # is not the point here
        f["subject"] = f["subject"].replace("\0", "")
    stream = Stream(
        gateway.port,
        cookie=f"monitio_stream={mint(user.pk)}",
        headers={"Last-Event-ID": publish.current_event_id(user.pk)},
    )
    assert stream.status() == 200
    with transaction.atomic():
        for f in fields:
            monitio.create_message(
                user, monitio.INFO, f["message"], subject=f["subject"]
            )
    stream.wait_events(len(fields), timeout=60)
    time.sleep(0.2)
    stream.close()
    by_text = sorted(fields, key=lambda f: (f["message"], f["subject"]))
    got = sorted(
        stream.events,
        key=lambda e: (json.loads(e.data)["message"], json.loads(e.data)["subject"]),
    )
    stream.events[:] = got
    _judge(stream, by_text, ("message", "subject"))
    print(
        f"\nS11 path=pipeline payloads={tally['payloads']} events={tally['events']} "
        f"round_trip_equal={tally['equal']} injected_fields={tally['injected']}"
    )
    assert tally["equal"] == len(fields) and tally["injected"] == 0

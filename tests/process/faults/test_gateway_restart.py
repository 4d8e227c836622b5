"""R10: the gateway dies (SIGKILL) or is stopped (SIGTERM) while 200 clients
receive 1,000 messages published at 50/s; directly, and behind nginx.

Ten users have 20 clients each; the 1,000 ``message`` events go round-robin to the
users (100 per user, so every client must end with its user's 100). Five seconds
in, the gateway is killed or stopped, stays down for :data:`OUTAGE` seconds (longer
than its ``retry:``, as a slow boot or deploy would), and is started again on the
same port. Directly, reconnects meet a refused connection (a network error: the
browser retries). Behind nginx they get 502 Bad Gateway, which fails an
``EventSource``; the client (see :mod:`.client`) reopens with ``?last_event_id=``.

Printed, one line per variant::

    R10 variant=direct-sigkill clients=200 published=1000 missed=0 out_of_order=0
        duplicates_raw=… duplicates_after_dedupe=0 reconnects=… reconnect_p50_s=…
        reconnect_p99_s=… statuses_502=… downtime_s=…

Heavier run: ``MONITIO_FAULTS_CLIENTS=1000 MONITIO_FAULTS_MESSAGES=5000``.
"""

from __future__ import annotations

import os
import signal
import time

import pytest

from monitio import publish
from tests.gateways import mint

from .client import Browserlike, median, percentile
from .delivery import Verdict, judge, received_all
from .publisher import SteadyPublisher

CLIENTS = int(os.environ.get("MONITIO_FAULTS_CLIENTS", "200"))
MESSAGES = int(os.environ.get("MONITIO_FAULTS_MESSAGES", "1000"))
RATE = 50.0
USERS = list(range(1, 11))
FAULT_AT = 5.0
#: Seconds the gateway stays down: above the default retry (2 s), so reconnects
#: really meet the outage.
OUTAGE = 4.0


def _restart(gw, sig: int) -> float:
    """Kill or stop ``gw`` as a crash or a deploy would; start it again; return the
    seconds it was away."""
    began = time.monotonic()
    if sig == signal.SIGKILL:
        gw.stop(signal.SIGKILL)  # the whole process group: master and worker
    else:
        gw.proc.send_signal(signal.SIGTERM)  # the master, as a process manager does
        gw.proc.wait(30)
    time.sleep(max(0.0, OUTAGE - (time.monotonic() - began)))
    gw.start()
    return time.monotonic() - began


@pytest.mark.parametrize(
    "sig", [signal.SIGKILL, signal.SIGTERM], ids=["sigkill", "sigterm"]
)
@pytest.mark.parametrize("proxied", [False, True], ids=["direct", "nginx"])
def test_gateway_restart_loses_nothing(
    start_gateway, start_nginx, redis_client, sig, proxied
):
    gw = start_gateway(MONITIO_MAX_STREAMS_PER_USER=str(CLIENTS))
    port = start_nginx(gw.port).port if proxied else gw.port
    clients = [
        (
            user,
            Browserlike(
                port,
                f"monitio_stream={mint(user)}",
                last_event_id=publish.current_event_id(user),
            ),
        )
        for n in range(CLIENTS)
        for user in [USERS[n % len(USERS)]]
    ]
    deadline = time.monotonic() + 30
    while sum(c.current is not None for _, c in clients) < CLIENTS:
        assert time.monotonic() < deadline, "clients could not connect"
        time.sleep(0.1)
    publisher = SteadyPublisher(USERS, MESSAGES, RATE)
    publisher.start()
    time.sleep(FAULT_AT)
    downtime = _restart(gw, sig)
    publisher.join(MESSAGES / RATE + 60)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not all(
        received_all(publisher.sent[u], c.events()) for u, c in clients
    ):
        time.sleep(0.2)

    total, reconnects, statuses, reopened = Verdict(), [], {}, 0
    for user, client in clients:
        client.stop()
        total.add(judge(publisher.sent[user], client.events()))
        reconnects += client.reconnect_times
        reopened += client.reopened
        for status, count in client.statuses.items():
            statuses[status] = statuses.get(status, 0) + count
    variant = ("nginx-" if proxied else "direct-") + signal.Signals(sig).name.lower()
    print(
        f"\nR10 variant={variant} clients={CLIENTS} published={publisher.count()} "
        f"missed={total.missed} out_of_order={total.out_of_order} "
        f"duplicates_raw={total.duplicates_raw} "
        f"duplicates_after_dedupe={total.duplicates_after_dedupe} "
        f"reconnects={len(reconnects)} reconnect_p50_s={median(reconnects):.2f} "
        f"reconnect_p99_s={percentile(reconnects, 99):.2f} "
        f"statuses={statuses or '{}'} reopened_with_query={reopened} "
        f"downtime_s={downtime:.2f}"
    )
    assert publisher.count() == MESSAGES
    assert total == Verdict(duplicates_raw=total.duplicates_raw)
    assert not any(c.unauthorized for _, c in clients)
    assert len(reconnects) >= CLIENTS, "every client must have been cut and come back"
    if proxied:
        assert statuses.get(502, 0) > 0 and set(statuses) <= {502, 503}
        assert reopened > 0, "clients must reopen after a failed connection"

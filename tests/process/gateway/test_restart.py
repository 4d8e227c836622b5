"""R10/R19: a gateway restart loses nothing; SIGTERM drains with a jittered retry."""

from __future__ import annotations

import itertools
import signal
import statistics
import threading
import time

from monitio import publish, wire
from tests.gateways import HEAVY, mint
from tests.sseclient import Reconnecting


def _publish_steadily(
    users: list[int], total: int, rate: float, sent: dict
) -> threading.Thread:
    def run() -> None:
        for n in range(total):
            user = users[n % len(users)]
            sent.setdefault(user, []).append(
                publish.publish(user, wire.MESSAGE, {"n": n})
            )
            time.sleep(1 / rate)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _restart_run(start_gateway, sig: int, label: str) -> None:
    clients_n, total, rate = (200, 1000, 50) if HEAVY else (20, 150, 50)
    # The drain's retry starts above gunicorn's 1 s loop tick, so reconnects reach a
    # closed listener (a network error: the browser retries) rather than a 503.
    env = {"MONITIO_RETRY_MS": "1200", "MONITIO_DRAIN_WINDOW_MS": "1000"}
    gw = start_gateway(**env)
    users = list(range(1, 11))
    clients = {}
    for c in range(clients_n):
        user = users[c % len(users)]
        clients[c] = (
            user,
            Reconnecting(
                gw.port,
                f"monitio_stream={mint(user)}",
                last_event_id=publish.current_event_id(user),
            ),
        )
    time.sleep(0.5)
    sent: dict[int, list[str]] = {}
    thread = _publish_steadily(users, total, rate, sent)
    time.sleep(1.0)
    gw.stop(sig)
    gw.start()
    thread.join()
    expected_total = sum(len(v) for v in sent.values())
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if all(
            len({e.id for e in cl.all_events()}) >= len(sent[u])
            for u, cl in clients.values()
        ):
            break
        time.sleep(0.2)
    missed = out_of_order = dups = 0
    reconnects: list[float] = []
    retries: list[int] = []
    for user, cl in clients.values():
        cl.stop()
        ids = [e.id for e in cl.events]
        deduped = list(dict.fromkeys(ids))
        dups += len(ids) - len(deduped)
        missed += len(set(sent[user]) - set(deduped))
        out_of_order += sum(
            1
            for a, b in itertools.pairwise(deduped)
            if wire.entry_key(a.split(":")[1]) > wire.entry_key(b.split(":")[1])
        )
        reconnects += cl.reconnect_times
        retries += cl.retries_seen
    reconnects.sort()
    p50 = statistics.median(reconnects) if reconnects else float("nan")
    p99 = reconnects[int(len(reconnects) * 0.99) - 1] if reconnects else float("nan")
    print(
        f"R10 variant={label} clients={clients_n} published={expected_total} "
        f"missed={missed} out_of_order={out_of_order} duplicates_raw={dups} "
        f"duplicates_after_dedupe=0 reconnects={len(reconnects)} "
        f"reconnect_p50_s={p50:.2f} reconnect_p99_s={p99:.2f}"
    )
    assert [cl.failed_status for _, cl in clients.values()] == [None] * clients_n
    assert missed == 0 and out_of_order == 0
    assert len(reconnects) >= clients_n
    return retries


def test_replay_after_gateway_sigkill(start_gateway, redis_client):
    _restart_run(start_gateway, signal.SIGKILL, "sigkill")


def test_replay_after_gateway_sigterm_with_jittered_retry(start_gateway, redis_client):
    retries = _restart_run(start_gateway, signal.SIGTERM, "sigterm")
    drained = [r for r in retries if r != 1200]
    assert drained, "SIGTERM must send a final retry: before closing"
    assert all(1200 <= r <= 2200 for r in drained)
    assert len(set(drained)) > 1, "the final retry must be jittered"
    buckets = [0] * 5
    for r in drained:
        buckets[min(4, (r - 1200) // 200)] += 1
    print(
        f"R19 streams_drained={len(drained)} retry_ms_min={min(drained)} "
        f"retry_ms_max={max(drained)} histogram_200ms_buckets={buckets} lost=0"
    )


def test_sigterm_closes_streams_promptly(start_gateway, redis_client, streams):
    gw = start_gateway()
    opened = [gw.stream(u) for u in range(1, 6)]
    streams += opened
    assert all(s.status() == 200 for s in opened)
    began = time.monotonic()
    gw.proc.send_signal(signal.SIGTERM)  # the master: it forwards to the worker
    assert all(s.wait_end(10) for s in opened)
    closed_in = time.monotonic() - began
    gw.proc.wait(15)
    assert all(s.parser.retry is not None and s.parser.retry >= 2000 for s in opened)
    print(
        "R19 sigterm_streams=5 all_closed_with_retry=yes "
        f"closed_within_s={closed_in:.2f} "
        f"exit_code={gw.proc.returncode}"
    )


def test_development_server_streams_and_drains(tmp_path, redis_client, streams):
    """``python -m sse_gateway`` serves the same app; SIGTERM drains it too."""
    from tests import procs
    from tests.gateways import gateway_env

    port = procs.free_port()
    proc = procs.start(
        [str(procs.VENV_BIN / "python"), "-m", "sse_gateway", "--port", str(port)],
        tmp_path / "dev.log",
        **gateway_env(),
    )
    try:
        procs.wait_for_port(port, proc=proc)
        from tests.sseclient import Stream

        s = Stream(port, cookie=f"monitio_stream={mint(1)}")
        streams.append(s)
        assert s.status() == 200
        sent = publish.publish(1, wire.MESSAGE, {"dev": True})
        assert [e.id for e in s.wait_events(1)] == [sent]
        proc.send_signal(signal.SIGTERM)
        assert s.wait_end(10)
        assert s.parser.retry is not None and s.parser.retry >= 2000
        assert proc.wait(15) == 0
    finally:
        procs.stop(proc)

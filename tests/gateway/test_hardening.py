"""Attacks on the gateway, each named for the attack and the expected answer."""

from __future__ import annotations

import base64
import json
import re
import time

import httpx
import pytest
from django.core import signing

from monitio import publish, wire
from monitio.stream import current_epoch
from sse_gateway import fdlimit
from tests import procs

from .conftest import HEAVY, SECRET, mint
from .sseclient import Stream

_EVENT_BYTES = re.compile(rb"^(id|event|data|retry):", re.MULTILINE)
_LEAKS = re.compile(
    r"Traceback|File \"|/work|site-packages|redis://|\.py\b|Error|"
    r"127\.0\.0\.1|monitio-test|stream-secret",
    re.IGNORECASE,
)


def _minted_in_the_past(seconds: float) -> str:
    then = time.time() - seconds
    return wire.mint_token(1, "session-a", secret=SECRET, epoch=current_epoch(), now=then)


def _forged_tokens() -> list[str]:
    good = mint(1)
    payload = {"u": "1", "s": "session-a", "t": int(time.time())}
    alg_none = (
        ".".join(
            base64.urlsafe_b64encode(json.dumps(part).encode()).decode().rstrip("=")
            for part in ({"alg": "none", "typ": "JWT"}, {"sub": "1", "u": "1"})
        )
        + "."
    )
    value, _, signature = good.rpartition(":")
    forged = [
        "",
        " ",
        "x",
        good[:-1],
        good[:10],
        good + "x",
        good.upper(),
        alg_none,
        signing.dumps(payload, key="wrong-secret", salt=wire.TOKEN_SALT),
        signing.dumps(payload, key=SECRET, salt="another.salt"),
        signing.dumps(payload, key="monitio-tests-not-secret"),  # Django's SECRET_KEY
        signing.dumps({**payload, "u": 2}, key=SECRET, salt=wire.TOKEN_SALT),
        signing.dumps("1", key=SECRET, salt=wire.TOKEN_SALT),
        signing.dumps({"u": "", "s": "x", "t": 1}, key=SECRET, salt=wire.TOKEN_SALT),
        wire.mint_token(
            1, "s", secret=SECRET, epoch=current_epoch(), now=time.time() - 3600
        ),  # old "t"
        _minted_in_the_past(3600),
        _minted_in_the_past(301),  # expired signatures
        value.replace(value[2], "Z" if value[2] != "Z" else "Y") + ":" + signature,
        base64.urlsafe_b64encode(b'{"u":"2","s":"a","t":1}').decode() + ":" + signature,
    ]
    # Tamper each character position of a valid token's payload.
    while len(forged) < 100:
        i = len(forged) % len(value)
        swapped = "A" if value[i] != "A" else "B"
        forged.append(value[:i] + swapped + value[i + 1 :] + ":" + signature)
    return forged


def test_forged_tampered_expired_tokens_rejected_401_with_no_event_bytes(gateway):
    publish.publish(1, wire.MESSAGE, {"secret": "of user 1"})
    tokens = _forged_tokens()
    rejected = leaked = 0
    for token in tokens:
        r = Stream(
            gateway.port,
            cookie=f"monitio_stream={token}",
            headers={"Last-Event-ID": "x:0-0"},
        )
        rejected += r.status() == 401
        r.wait_end(5)
        r.close()
        leaked += bool(_EVENT_BYTES.search(bytes(r.raw))) or b"of user 1" in r.raw
    print(
        f"S1 forged={len(tokens)} rejected_401={rejected}/{len(tokens)} "
        f"event_bytes={leaked}"
    )
    assert rejected == len(tokens) and leaked == 0
    assert gateway.metric("auth_rejected_total") == len(tokens)


def test_missing_cookie_rejected_401(gateway):
    r = gateway.get("/sse/")
    assert r.status_code == 401 and r.text == "Unauthorized\n"


def test_token_in_query_string_rejected_401_and_never_logged(start_gateway, redis_db):
    gw = start_gateway(
        args=("--access-logfile", "-", "-c", "python:sse_gateway.gunicorn_conf")
    )
    token = mint(1)
    for name in ("token", "access_token", "stream_token", "monitio_stream"):
        r = httpx.get(f"{gw.url}/sse/?{name}={token}", timeout=5)
        assert r.status_code == 401, name
        # Even with a valid cookie alongside, a credential in the URL is refused.
        r = httpx.get(
            f"{gw.url}/sse/?{name}={token}",
            timeout=5,
            cookies={"monitio_stream": token},
        )
        assert r.status_code == 401, name
    s = gw.stream(1)
    assert s.status() == 200
    s.close()
    time.sleep(0.5)
    log = gw.log.read_text()
    assert '"GET /sse/ HTTP/1.1" 401' in log  # the access log is on
    print(f"S5 query_tokens_rejected=yes token_occurrences_in_logs={log.count(token)}")
    assert log.count(token) == 0


def test_user_id_in_url_ignored_no_cross_user_events(start_gateway, redis_db, streams):
    """S2: A's valid token plus ?user=B, ?channel=B, path tricks, B's cursor."""
    gw = start_gateway(MONITIO_MAX_STREAMS_PER_USER="100")
    b_cursor = publish.publish(2, wire.MESSAGE, {"owner": "B"})
    tricks = [
        "user=2",
        "channel=2",
        "user_id=2",
        "uid=2&user=2",
        "u=2",
        f"last_event_id={b_cursor}",
        "user=2&user=1",
        "channel=..%2F2",
    ]
    paths = ["/sse/", "/sse/2", "/sse//", "/sse/../sse/", "/SSE/", "/sse/%2e%2e/2"]
    attempts = 10_000 if HEAVY else 400
    token = mint(1)
    leaked = opened = done = 0
    while done < attempts:
        batch = []
        for n in range(min(50, attempts - done)):
            path = paths[(done + n) % len(paths)]
            query = tricks[(done + n) % len(tricks)]
            headers = {"Last-Event-ID": b_cursor} if n % 3 == 0 else {}
            batch.append(
                Stream(
                    gw.port,
                    f"{path}?{query}",
                    cookie=f"monitio_stream={token}",
                    headers=headers,
                )
            )
        ok = [s for s in batch if s.status() == 200]
        opened += len(ok)
        publish.publish(2, wire.MESSAGE, {"owner": "B"})
        marker = publish.publish(1, wire.MESSAGE, {"owner": "A"})
        for s in ok:
            s.wait(lambda s, m=marker: any(e.id == m for e in s.events), timeout=5)
        for s in batch:
            s.close()
            leaked += sum('"B"' in e.data for e in s.events)
        done += len(batch)
    print(
        f"S2 attempts={attempts} streams_opened_as_A={opened} "
        f"events_of_B_received={leaked}"
    )
    assert leaked == 0 and opened > 0


def test_replay_with_other_users_cursor_gives_only_own_events(gateway, streams):
    """S3: A reconnects with a cursor from B's stream.

    Entry ids are per stream, so B's id may even equal one of A's: the cursor then
    selects a position in A's own history, never B's events.
    """
    publish.publish(1, wire.MESSAGE, {"owner": "A", "n": 0})
    b_ids = [publish.publish(2, wire.MESSAGE, {"owner": "B", "n": n}) for n in range(5)]
    publish.publish(1, wire.MESSAGE, {"owner": "A", "n": 1})
    leaked = 0
    for cursor in [b_ids[0], b_ids[2], b_ids[-1]]:
        s = gateway.stream(1, headers={"Last-Event-ID": cursor})
        streams.append(s)
        assert s.status() == 200
        marker = publish.publish(1, wire.MESSAGE, {"owner": "A", "marker": cursor})
        assert s.wait(lambda s, m=marker: any(e.id == m for e in s.events))
        leaked += sum('"B"' in e.data for e in s.events)
        assert all(e.type in (wire.RESYNC, wire.MESSAGE) for e in s.events)
    print(f"S3 foreign_cursors=3 events_of_B={leaked} ids_per_user=yes")
    assert leaked == 0


def test_cross_site_origin_rejected_403_before_auth(gateway):
    """S7: a page on another site opens EventSource(..., {withCredentials: true})."""
    r = httpx.get(
        gateway.url + "/sse/",
        cookies={"monitio_stream": mint(1)},
        headers={"Origin": "https://evil.example"},
        timeout=5,
    )
    assert r.status_code == 403 and not _EVENT_BYTES.search(r.content)
    assert "access-control-allow-origin" not in r.headers
    print("S7 cross_site_origin=403 event_bytes=0")


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example",
        "null",
        "https://app.example.com.evil.example",
        "https://sub.app.example.com",
        "http://app.example.com",
        "https://app.example.co",
        "file://",
        "https://APP.example.com:444",
    ],
)
def test_unlisted_origin_not_reflected(start_gateway, redis_db, origin):
    gw = _cors_gateway(start_gateway)
    for method in ("GET", "OPTIONS"):
        r = httpx.request(
            method,
            gw.url + "/sse/",
            cookies={"monitio_stream": mint(1)},
            headers={"Origin": origin},
            timeout=5,
        )
        assert r.status_code == 403
        assert "access-control-allow-origin" not in r.headers
        assert r.headers.get("vary") == "Origin"


def _cors_gateway(start_gateway):
    return start_gateway(
        MONITIO_ALLOWED_ORIGINS="https://app.example.com, https://b.example"
    )


def test_listed_origin_gets_exact_acao_with_credentials(
    start_gateway, redis_db, streams
):
    gw = _cors_gateway(start_gateway)
    s = Stream(
        gw.port,
        cookie=f"monitio_stream={mint(1)}",
        headers={"Origin": "https://app.example.com"},
    )
    streams.append(s)
    assert s.status() == 200
    h = s.response.headers
    assert h["access-control-allow-origin"] == "https://app.example.com"
    assert h["access-control-allow-credentials"] == "true"
    assert h["vary"] == "Origin"
    pre = httpx.options(
        gw.url + "/sse/",
        timeout=5,
        headers={
            "Origin": "https://b.example",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "last-event-id",
        },
    )
    assert pre.status_code == 204
    assert pre.headers["access-control-allow-origin"] == "https://b.example"
    assert "GET" in pre.headers["access-control-allow-methods"]
    print("S6 unlisted_reflected=0/8 star_with_credentials=never vary_origin=yes")


def test_wildcard_or_null_origin_config_refused():
    from sse_gateway.config import Config, ConfigurationError

    for bad in ("*", "null", "app.example.com", "https://x.example/path"):
        with pytest.raises(ConfigurationError):
            Config.from_env(
                {"MONITIO_STREAM_SECRET": "x", "MONITIO_ALLOWED_ORIGINS": bad}
            )


def test_same_origin_request_allowed_without_cors_headers(gateway, streams):
    s = Stream(
        gateway.port,
        cookie=f"monitio_stream={mint(1)}",
        headers={"Origin": f"http://127.0.0.1:{gateway.port}"},
    )
    streams.append(s)
    assert s.status() == 200
    assert "access-control-allow-origin" not in s.response.headers


def test_writes_to_gateway_rejected_405(gateway):
    """S14: the gateway is read-only."""
    answered = []
    for method in ("POST", "PUT", "PATCH", "DELETE", "HEAD"):
        for path in ("/sse/", "/metrics", "/healthz"):
            r = httpx.request(
                method,
                gateway.url + path,
                timeout=5,
                # A HEAD with a body is malformed: the server answers 400 before
                # the application sees it.
                content=None if method == "HEAD" else b"x",
                cookies={"monitio_stream": mint(1)},
            )
            answered.append(r.status_code)
    print(f"S14 write_methods=15 answered_405={answered.count(405)}/15")
    assert answered == [405] * 15


def test_per_user_stream_cap_429_with_retry_after(start_gateway, redis_db, streams):
    """S13: one user opens 50 streams with a cap of 5."""
    gw = start_gateway(MONITIO_MAX_STREAMS_PER_USER="5")
    opened = [gw.stream(1) for _ in range(50)]
    streams += opened
    statuses = [s.status() for s in opened]
    refused = [s for s in opened if s.response.status == 429]
    print(
        f"S13 streams=50 cap=5 accepted={statuses.count(200)} "
        f"refused_429={len(refused)}/50 retry_after="
        f"{refused[0].response.headers.get('retry-after') if refused else None}"
    )
    assert statuses.count(200) == 5 and len(refused) == 45
    assert all(s.response.headers.get("retry-after", "").isdigit() for s in refused)
    other = gw.stream(2)
    streams.append(other)
    assert other.status() == 200


def test_max_connections_503(start_gateway, redis_db, streams):
    # A closed stream is noticed at the next write: heartbeat every second.
    gw = start_gateway(MONITIO_MAX_CONNECTIONS="5", MONITIO_HEARTBEAT_SECONDS="1")
    opened = [gw.stream(u) for u in range(1, 9)]
    streams += opened
    statuses = sorted(s.status() for s in opened)
    assert statuses == [200] * 5 + [503] * 3
    assert all(
        s.response.headers.get("retry-after")
        for s in opened
        if s.response.status == 503
    )
    assert gw.get("/healthz").status_code == 200
    for s in opened:
        s.close()
    deadline = time.monotonic() + 5
    while gw.metric("connections") and time.monotonic() < deadline:
        time.sleep(0.1)
    again = gw.stream(1)
    streams.append(again)
    assert again.status() == 200


def _open_files_limit(master_pid: int) -> tuple[int, int]:
    """Soft and hard open-file limits of the gunicorn worker under ``master_pid``."""
    with open(f"/proc/{master_pid}/task/{master_pid}/children") as f:
        worker = int(f.read().split()[0])
    with open(f"/proc/{worker}/limits") as f:
        row = next(line for line in f if line.startswith("Max open files"))
    soft, hard = row.split()[3:5]
    return int(soft), int(hard)


def test_stream_cap_fits_the_open_file_limit(start_gateway, redis_db, streams):
    """R20: with a low ``ulimit -n`` the cap is what the descriptors allow; one
    stream more gets 503 + Retry-After at once (not an EMFILE and a hang), and
    the admitted streams still get their events."""
    soft, hard, pool = 200, 400, 4
    gw = start_gateway(
        prefix=("prlimit", f"--nofile={soft}:{hard}", "--"),
        MONITIO_REDIS_POOL_SIZE=str(pool),
        MONITIO_HEARTBEAT_SECONDS="1",
    )
    limits = _open_files_limit(gw.proc.pid)
    assert limits == (hard, hard)  # the soft limit raised to the hard one
    cap = int(gw.metric("max_connections"))
    other = pool + 1 + fdlimit.reserved(hard)  # the Redis connections, the reserve
    assert cap == hard - other
    assert f"MONITIO_MAX_CONNECTIONS=10000 needs {10000 + other} open files" in gw.log.read_text()
    extra = 15
    opened = []
    for user in range(1, cap + extra + 1):
        opened.append(gw.stream(user))
        streams.append(opened[-1])
    statuses = [s.status(timeout=15) for s in opened]
    refused = [s for s in opened if s.response.status == 503]
    print(
        f"\nR20 nofile={soft}:{hard} raised_to={limits[0]} cap={cap} opened={len(opened)} "
        f"admitted={statuses.count(200)} refused_503={len(refused)} "
        f"unanswered={sum(1 for s in statuses if s not in (200, 503))}"
    )
    assert statuses.count(200) == cap and len(refused) == extra
    assert all(s.response.headers.get("retry-after", "").isdigit() for s in refused)
    assert gw.get("/healthz").status_code == 200
    # Which streams got in depends on the order the gateway took them.
    first, last = [u for u, s in enumerate(opened, 1) if s.response.status == 200][::cap - 1]
    publish.publish(first, wire.MESSAGE, {"id": "fits"})
    publish.publish(last, wire.MESSAGE, {"id": "fits-last"})
    for stream, sent in ((opened[first - 1], "fits"), (opened[last - 1], "fits-last")):
        stream.wait(lambda s: any(e.type == wire.MESSAGE for e in s.events))
        assert [json.loads(e.data)["id"] for e in stream.events if e.type == wire.MESSAGE] == [sent]


def test_error_bodies_leak_nothing(start_gateway, redis_db):
    """S15: malformed cookie and Last-Event-ID, and Redis down."""
    gw = start_gateway()
    bad_cookies = [
        "\x00\x01",
        "a" * 8000,
        "é",
        '"unterminated',
        "monitio_stream",
        "=;=;=",
        "monitio_stream=" + "%" * 200,
    ]
    bodies = []
    for cookie in bad_cookies:
        r = Stream(
            gw.port, cookie=cookie, headers={"Last-Event-ID": "../../etc/pass\x7f"}
        )
        assert r.status() in (400, 401, 431), r.status()
        r.wait_end(5)
        r.close()
        bodies.append(r.response.body.decode("utf-8", "replace"))
    bodies.append(gw.get("/nope").text)
    dead = start_gateway(
        MONITIO_REDIS_URL=f"redis://127.0.0.1:{procs.free_port()}/0", wait_ready=False
    )
    r = httpx.get(dead.url + "/sse/", cookies={"monitio_stream": mint(1)}, timeout=15)
    assert r.status_code == 503
    bodies.append(r.text)
    assert dead.get("/readyz").status_code == 503
    leaks = [b for b in bodies if _LEAKS.search(b)]
    print(f"S15 error_bodies={len(bodies)} leaks={len(leaks)}")
    assert leaks == []
    assert "stream-secret" not in dead.log.read_text()


#: The least a gateway needs in Redis (documented in docs/gateway.md).
GATEWAY_ACL = (
    "on >gw-password resetkeys resetchannels -@all +ping +select +client|setname "
    "+get +set +hmget +exists +xread +xrange +xrevrange +xinfo|stream +multi +exec "
    "+evalsha_ro +script|load "
    "%R~{p}:* %RW~{p}:epoch"
)


def test_gateway_runs_with_read_only_redis_acl_and_cannot_write(
    own_redis, start_gateway, streams
):
    """S14: the documented ACL is enough to serve streams, and forbids writes."""
    import redis as redis_py

    from .conftest import PREFIX

    admin = redis_py.Redis.from_url(own_redis.url)
    admin.execute_command(
        "ACL", "SETUSER", "monitio-gateway", *GATEWAY_ACL.format(p=PREFIX).split()
    )
    acl_url = f"redis://monitio-gateway:gw-password@127.0.0.1:{own_redis.port}/0"
    gw = start_gateway(MONITIO_REDIS_URL=acl_url)
    s = gw.stream(1)
    streams.append(s)
    assert s.status() == 200
    sent = publish.publish(1, wire.MESSAGE, {"n": 1})
    assert [e.id for e in s.wait_events(1)] == [sent]
    gateway_side = redis_py.Redis.from_url(acl_url)
    refused = 0
    for command in (
        ("XADD", f"{PREFIX}:fanout", "*", "u", "1"),
        ("PUBLISH", "c", "x"),
        ("SET", f"{PREFIX}:u:1", "x"),
        ("HSET", f"{PREFIX}:revoked:1", "*", "0"),
        ("DEL", f"{PREFIX}:epoch"),
        ("FLUSHDB",),
    ):
        try:
            gateway_side.execute_command(*command)
        except redis_py.exceptions.NoPermissionError:
            refused += 1
    print(f"S14 redis_acl_writes_refused_noperm={refused}/6 streams_work=yes")
    assert refused == 6

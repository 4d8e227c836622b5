"""What a stream connect costs Redis: one round trip, a read-only script call, for
the credential's revocations, the epoch and the history after the cursor."""

from __future__ import annotations

import redis as redis_py

from monitio import publish, wire


def _calls(admin: redis_py.Redis) -> dict[str, int]:
    """Calls per command since the last ``CONFIG RESETSTAT``."""
    return {
        name.removeprefix("cmdstat_"): int(stats["calls"])
        for name, stats in admin.info("commandstats").items()
    }


def test_a_connect_is_one_read_only_script_call(own_redis, start_gateway, streams):
    n = 20
    sent = [publish.publish(user, wire.MESSAGE, {"n": user}) for user in range(n)]
    gw = start_gateway(MONITIO_REDIS_URL=own_redis.url)
    admin = redis_py.Redis.from_url(own_redis.url)
    admin.script_load(wire.CONNECT_SCRIPT)  # its first load is not a connect's cost
    admin.config_resetstat()
    for user in range(n):
        # Last-Event-ID: the connect reads the history after it.
        s = gw.stream(user, headers={"Last-Event-ID": sent[user]})
        streams.append(s)
        assert s.status() == 200
    calls = _calls(admin)
    print(
        f"G connect streams={n} evalsha_ro={calls.get('evalsha_ro', 0)}"
        f" multi={calls.get('multi', 0)}"
    )
    assert calls.get("evalsha_ro", 0) == n
    # No MULTI (the old history read) and no pipeline of its own per connect.
    assert calls.get("multi", 0) == 0
    assert calls.get("exec", 0) == 0

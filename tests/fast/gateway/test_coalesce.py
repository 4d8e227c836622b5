"""Connect reads that arrive together share one pipeline (``sse_gateway.coalesce``),
and each caller still gets its own reply or error, against a real Redis."""

from __future__ import annotations

import gevent
import pytest
import redis

from sse_gateway.coalesce import ScriptCalls

# Echo the key and argument, so a reply mixed up between callers shows.
SCRIPT = "return {KEYS[1], ARGV[1]}"


class CountingRedis(redis.Redis):
    """A real client that counts the pipelines it sends."""

    pipelines = 0

    def pipeline(self, *args, **kwargs):
        CountingRedis.pipelines += 1
        return super().pipeline(*args, **kwargs)


def counting(redis_client: redis.Redis) -> CountingRedis:
    CountingRedis.pipelines = 0
    return CountingRedis(connection_pool=redis_client.connection_pool)


def test_calls_arriving_together_share_one_pipeline_and_keep_their_replies(redis_client):
    client = counting(redis_client)
    client.script_load(SCRIPT)
    calls = ScriptCalls(client, SCRIPT)
    jobs = [gevent.spawn(calls.call, [f"k{i}"], [i]) for i in range(50)]
    gevent.joinall(jobs, raise_error=True)
    assert [job.value for job in jobs] == [[f"k{i}", str(i)] for i in range(50)]
    assert CountingRedis.pipelines == 1


def test_a_flushed_script_is_loaded_again(redis_client):
    client = counting(redis_client)
    calls = ScriptCalls(client, SCRIPT)
    client.script_flush()
    assert calls.call(["a"], [1]) == ["a", "1"]


def test_every_caller_gets_the_error_when_redis_cannot_answer():
    down = redis.Redis(port=1, socket_connect_timeout=0.5)  # nothing listens on port 1
    calls = ScriptCalls(down, SCRIPT)
    jobs = [gevent.spawn(calls.call, ["k"], [i]) for i in range(3)]
    gevent.joinall(jobs)
    assert all(isinstance(job.exception, redis.ConnectionError) for job in jobs)
    # And the next call is sent again, not left waiting behind the failed batch.
    with pytest.raises(redis.ConnectionError):
        calls.call(["k"], [0])

"""The wire contract (issue 17): one Django-free module, so the gateway checks a
stream token without Django, and the token format is Django's ``signing.dumps``
format written out, so tokens minted before the move still open streams."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
from django.core import signing

from monitio import wire
from tests import procs

SECRET = "wire-test-secret"


def imported_modules(statement: str) -> list[str]:
    """The modules a fresh interpreter has loaded after ``statement``, with no
    settings module named."""
    script = f"import json, sys\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    env = {k: v for k, v in procs.child_env().items() if k != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run([sys.executable, "-c", script], env=env, cwd=procs.ROOT,
                            capture_output=True, text=True, timeout=60, check=True)
    return json.loads(result.stdout)


@pytest.mark.parametrize("statement", [
    "import monitio.wire",
    # The gateway's credential check and history read.
    "import sse_gateway.auth, sse_gateway.history",
])
def test_the_contract_imports_without_django(statement):
    loaded = imported_modules(statement)

    assert "monitio.wire" in loaded
    assert [m for m in loaded if m == "django" or m.startswith("django.")] == []


def test_a_token_verifies_and_carries_its_claims():
    token = wire.mint_token(7, wire.session_hash("key"), secret=SECRET, epoch="E1")

    claims = wire.verify_token(token, secret=SECRET, max_age=300)

    assert claims == wire.StreamClaims(
        user_id="7", session=wire.session_hash("key"), issued_at=claims.issued_at,
        epoch="E1",
    )
    assert abs(claims.issued_at - time.time()) < 5


def test_the_format_is_djangos_signing_format():
    """Byte for byte what ``signing.dumps`` makes for the same payload and second,
    and each side reads the other's."""
    now = int(time.time())
    ours = wire.mint_token("7", "s", secret=SECRET, epoch="E1", now=now)
    payload = {"u": "7", "s": "s", "t": now, "e": "E1"}
    signer = signing.TimestampSigner(key=SECRET, salt=wire.TOKEN_SALT)
    # What TimestampSigner.sign_object(payload) gives when signing at ``now``.
    value = signing.b64_encode(json.dumps(payload, separators=(",", ":")).encode())
    theirs = signing.Signer(key=SECRET, salt=wire.TOKEN_SALT).sign(
        f"{value.decode()}:{signing.b62_encode(now)}"
    )

    assert ours == theirs
    assert signer.unsign_object(ours, max_age=300) == payload
    claims = wire.verify_token(signer.sign_object(payload), secret=SECRET, max_age=300)
    assert claims == wire.StreamClaims(user_id="7", session="s", issued_at=now, epoch="E1")


def test_an_old_token_is_expired_and_every_other_bad_one_is_bad():
    good = wire.mint_token(1, "s", secret=SECRET, epoch="E1")
    with pytest.raises(wire.ExpiredToken):
        wire.verify_token(
            wire.mint_token(1, "s", secret=SECRET, epoch="E1", now=time.time() - 301),
            secret=SECRET, max_age=300,
        )
    now = int(time.time())
    signer = signing.TimestampSigner(key=SECRET, salt=wire.TOKEN_SALT)
    bad = [
        "", ":", "::", good[:-1], good + "A", good.replace(":", ";"),
        wire.mint_token(1, "s", secret="another-secret", epoch="E1"),
        signing.TimestampSigner(key=SECRET, salt="another.salt").sign_object(
            {"u": "1", "s": "s", "t": now, "e": "E1"}
        ),
        # Well signed, wrong shape.
        signer.sign_object(["1", "s", now, "E1"]),
        signer.sign_object({"u": 1, "s": "s", "t": now, "e": "E1"}),
        signer.sign_object({"u": "1", "s": "s", "t": str(now), "e": "E1"}),
        signer.sign_object({"u": "1", "s": "s", "t": now}),
        signer.sign_object({"u": "1", "s": "s", "t": now, "e": "E1", "x": "y" * 200},
                           compress=True),  # Django's compressed form: never minted
        signer.sign("not base64!"),
        signer.sign(signing.b64_encode(b"\xff\xfe").decode()),
    ]
    for token in bad:
        with pytest.raises(wire.BadToken) as refused:
            wire.verify_token(token, secret=SECRET, max_age=300)
        assert not isinstance(refused.value, wire.ExpiredToken), token


def test_a_new_epoch_round_trips_through_an_event_id():
    epochs = {wire.new_epoch() for _ in range(100)}

    assert len(epochs) == 100
    for epoch in epochs:
        event_id = wire.format_event_id(epoch, "17-3")
        assert wire.parse_event_id(event_id) == (epoch, "17-3")

"""S12: a NUL in an e-mail subject is refused by the API before anything is queued."""

from __future__ import annotations

import pytest

import monitio
from monitio.exceptions import InvalidMessage

#: Headers a monitio e-mail may carry (Django's EmailMessage, plus the bodies).


def test_nul_in_a_subject_is_refused_before_anything_is_queued(alice, broker_client):
    with pytest.raises(InvalidMessage, match="NUL"):
        monitio.create_message(
            alice, monitio.INFO, "body", subject="Hi\0Bcc: x@evil.example", email=True
        )
    assert broker_client.llen("celery") == 0

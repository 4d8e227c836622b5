"""What counts as a leak in a response the attacker can read."""

from __future__ import annotations

import re

#: Any SSE field line: an error response must not contain a single one.
EVENT_BYTES = re.compile(rb"^(id|event|data|retry):", re.MULTILINE)

#: Internals an error body must never show (S15).
INTERNALS = re.compile(
    r"Traceback|File \"|line \d+, in|/work/|/usr/|site-packages|\.py\b|redis://|"
    r"127\.0\.0\.1:\d|sqlite|OperationalError|Exception|stream-secret|SECRET_KEY|"
    r"monitio-tests-not-secret",
    re.IGNORECASE,
)

"""Kinds the tests use, registered as a site's AppConfig.ready() would (registering
the same definition again is harmless, so every test process may do it)."""

from __future__ import annotations

import monitio

COMMENT = monitio.register_kind(
    "comment", label="Comments <b>&amp;</b>", description="Someone <i>comments</i>.",
    channels={"inbox", "email"},
)
DIGESTIBLE = monitio.register_kind(
    "newsletter", label="Newsletter", channels={"inbox"},
)
SECURITY = monitio.register_kind(
    "security", label="Security alerts", channels={"inbox", "email"}, mandatory=True,
)

"""S6: the gateway refuses to start with a wildcard or null origin allowlist."""

from __future__ import annotations

import pytest


def test_wildcard_or_null_origin_config_refused():
    from sse_gateway.config import Config, ConfigurationError

    for bad in ("*", "null", "app.example.com", "https://x.example/path"):
        with pytest.raises(ConfigurationError):
            Config.from_env(
                {"MONITIO_STREAM_SECRET": "x", "MONITIO_ALLOWED_ORIGINS": bad}
            )

"""The gateway reads the site's own settings module (issue 17.4): one source for the
six values Django and the gateway must share, environment variables as overrides,
and a warning line for each override that disagrees with the site."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap

import pytest

from monitio.conf import DEFAULTS
from sse_gateway.config import Config, ConfigurationError, log_summary
from tests import procs

SITE = """
SECRET_KEY = "site-secret-key"
MONITIO = {
    "REDIS_URL": "redis://:hunter2@127.0.0.1:6379/1",
    "KEY_PREFIX": "mysite",
    "STREAM_URL": "http://localhost:8001/live/",
    "STREAM_TOKEN_MAX_AGE": 120,
    "STREAM_COOKIE_NAME": "mysite_stream",
}
"""


@pytest.fixture
def site(tmp_path, monkeypatch):
    """A settings module ``site_settings_<n>`` importable from a temporary folder."""
    count = iter(range(1000))

    def make(body: str = SITE) -> str:
        name = f"site_settings_{next(count)}_{tmp_path.name.replace('-', '_')}"
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(body))
        return name

    monkeypatch.syspath_prepend(str(tmp_path))
    return make


def test_shared_values_come_from_the_site_settings(site):
    config = Config.load({"DJANGO_SETTINGS_MODULE": site()})
    # The reported stumble: the gateway read db 0 while Django published to db 1.
    assert config.redis_url == "redis://:hunter2@127.0.0.1:6379/1"
    assert (config.key_prefix, config.stream_secret) == ("mysite", "site-secret-key")
    assert (config.token_max_age, config.cookie_name, config.path) == (
        120, "mysite_stream", "/live/",
    )
    assert config.mismatches == ()


def test_site_without_monitio_dict_gets_the_documented_defaults(site):
    config = Config.load({"DJANGO_SETTINGS_MODULE": site('SECRET_KEY = "k"\n')})
    assert config.redis_url == DEFAULTS["REDIS_URL"]
    assert config.key_prefix == DEFAULTS["KEY_PREFIX"]
    assert config.path == DEFAULTS["STREAM_URL"]
    assert (config.cookie_name, config.token_max_age) == (
        DEFAULTS["STREAM_COOKIE_NAME"], DEFAULTS["STREAM_TOKEN_MAX_AGE"],
    )
    assert config.stream_secret == "k"


def test_an_explicit_stream_secret_wins_over_secret_key(site):
    body = 'SECRET_KEY = "k"\nMONITIO = {"STREAM_SECRET": "stream-only"}\n'
    assert Config.load({"DJANGO_SETTINGS_MODULE": site(body)}).stream_secret == "stream-only"


def test_variables_override_and_each_disagreement_is_named(site):
    config = Config.load({
        "DJANGO_SETTINGS_MODULE": site(),
        "MONITIO_REDIS_URL": "redis://:hunter2@127.0.0.1:6379/0",
        "MONITIO_STREAM_SECRET": "another-secret",
        "MONITIO_KEY_PREFIX": "mysite",  # the same value: no complaint
    })
    assert config.redis_url.endswith("/0") and config.stream_secret == "another-secret"
    assert len(config.mismatches) == 2
    redis_line, secret_line = sorted(config.mismatches)
    assert "MONITIO_REDIS_URL" in redis_line and "/0" in redis_line and "/1" in redis_line
    assert "hunter2" not in redis_line
    assert "MONITIO_STREAM_SECRET" in secret_line and "401" in secret_line
    assert "another-secret" not in secret_line and "site-secret-key" not in secret_line


def test_the_start_log_says_what_is_used_and_warns_of_each_mismatch(site, caplog):
    config = Config.load({"DJANGO_SETTINGS_MODULE": site(), "MONITIO_KEY_PREFIX": "other"})
    with caplog.at_level(logging.INFO, logger="sse_gateway"):
        log_summary(config)
    info, warning = caplog.records
    assert info.levelno == logging.INFO and warning.levelno == logging.WARNING
    text = info.getMessage()
    assert "127.0.0.1:6379/1" in text and "'other'" in text and "/live/" in text
    assert "hunter2" not in caplog.text and "site-secret-key" not in caplog.text
    assert "MONITIO_KEY_PREFIX='other'" in warning.getMessage()


def test_without_a_settings_module_the_environment_alone_configures(site):
    config = Config.load({"MONITIO_STREAM_SECRET": "s", "DJANGO_SETTINGS_MODULE": ""})
    assert config.redis_url == Config.redis_url and config.source == "the environment"
    with pytest.raises(ConfigurationError, match="DJANGO_SETTINGS_MODULE"):
        Config.load({})


def test_a_settings_module_that_cannot_be_imported_is_a_clear_error():
    with pytest.raises(ConfigurationError, match="no_such_site.settings"):
        Config.load({"DJANGO_SETTINGS_MODULE": "no_such_site.settings"})


def test_an_unknown_monitio_key_is_a_clear_error(site):
    module = site('SECRET_KEY = "k"\nMONITIO = {"REDIS_ULR": "redis://x"}\n')
    with pytest.raises(ConfigurationError, match="REDIS_ULR"):
        Config.load({"DJANGO_SETTINGS_MODULE": module})


def test_reading_the_site_loads_neither_django_settings_nor_apps(tmp_path):
    """In a fresh interpreter: the defaults import without Django configured, and
    reading the site's settings module leaves Django's settings and apps untouched."""
    (tmp_path / "bare_site.py").write_text(SITE)
    script = textwrap.dedent("""
        import json, sys
        from monitio.conf import DEFAULTS
        from sse_gateway.config import Config
        from django.apps import apps
        from django.conf import settings
        config = Config.load({"DJANGO_SETTINGS_MODULE": "bare_site"})
        print(json.dumps([DEFAULTS["KEY_PREFIX"], config.key_prefix, apps.ready,
                          settings.configured, "django.db.models" in sys.modules]))
    """)
    env = {k: v for k, v in procs.child_env().items() if k != "DJANGO_SETTINGS_MODULE"}
    env["PYTHONPATH"] = f"{tmp_path}:{procs.ROOT}"
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                         text=True, timeout=60, check=True).stdout
    assert json.loads(out) == ["monitio", "mysite", False, False, False]

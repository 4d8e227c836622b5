"""The development set-up (issue 18.3): ``manage.py monitio_gateway`` derives the
gateway's command line from the site's settings, and the system checks say when a
page's stream would reach nothing."""

from __future__ import annotations

import pytest
from django.core import checks
from django.core.management import CommandError
from django.test import override_settings
from django.urls import path

from monitio.management.commands import monitio_gateway

urlpatterns = [path("sse/", lambda request: None)]  # a proxying view, say

DEV = {"STREAM_URL": "http://localhost:8001/sse/", "STREAM_COOKIE_SECURE": False}


def ids() -> set[str]:
    return {m.id for m in checks.run_checks(tags=["monitio"])}


def test_a_relative_stream_url_nothing_serves_warns_under_debug():
    with override_settings(DEBUG=True):
        assert "monitio.W010" in ids()
        [warning] = [m for m in checks.run_checks(tags=["monitio"]) if m.id == "monitio.W010"]
        assert "monitio_gateway" in warning.hint and "/sse/" in warning.msg


@pytest.mark.parametrize("change", [
    {"DEBUG": False},  # production: the proxy serves it
    {"DEBUG": True, "ROOT_URLCONF": __name__},  # something in the URLconf serves it
    {"DEBUG": True, "MONITIO": DEV},  # the gateway's own port
])
def test_no_warning_when_something_serves_the_stream(change, settings):
    if "MONITIO" in change:
        change = {**change, "MONITIO": {**settings.MONITIO, **change["MONITIO"]}}
    with override_settings(**change):
        assert "monitio.W010" not in ids()


def test_a_cookie_path_that_misses_the_stream_is_an_error(settings):
    settings.MONITIO = {**settings.MONITIO, "STREAM_URL": "/live/"}
    assert "monitio.E010" in ids()
    settings.MONITIO = {**settings.MONITIO, "STREAM_COOKIE_PATH": "/live/"}
    assert "monitio.E010" not in ids()


def bind(argv: list[str]) -> str:
    return argv[argv.index("--bind") + 1]


def test_the_command_listens_where_stream_url_points_and_admits_runserver(settings, monkeypatch):
    monkeypatch.delenv("MONITIO_ALLOWED_ORIGINS", raising=False)
    settings.DEBUG = True
    settings.MONITIO = {**settings.MONITIO, **DEV, "STREAM_URL": "http://localhost:8011/sse/"}
    argv, env = monitio_gateway.invocation(None, None)
    assert bind(argv) == "127.0.0.1:8011"
    assert argv[-1] == "sse_gateway.wsgi:application"
    assert env["DJANGO_SETTINGS_MODULE"] == "tests.settings"
    assert env["MONITIO_ALLOWED_ORIGINS"] == "http://localhost:8000"
    assert "MONITIO_STREAM_SECRET" not in env  # read from the settings by the gateway


def test_the_command_takes_an_address_and_origins(settings, monkeypatch):
    monkeypatch.delenv("MONITIO_ALLOWED_ORIGINS", raising=False)
    argv, env = monitio_gateway.invocation("0.0.0.0:9001", ["https://app.example"])
    assert bind(argv) == "0.0.0.0:9001"
    assert env["MONITIO_ALLOWED_ORIGINS"] == "https://app.example"
    assert bind(monitio_gateway.invocation("9002", None)[0]) == "127.0.0.1:9002"
    with pytest.raises(CommandError, match="not a port"):
        monitio_gateway.invocation("localhost:http", None)


def test_without_debug_or_with_a_set_variable_no_origin_is_added(settings, monkeypatch):
    settings.MONITIO = {**settings.MONITIO, **DEV}
    monkeypatch.delenv("MONITIO_ALLOWED_ORIGINS", raising=False)
    settings.DEBUG = False
    assert "MONITIO_ALLOWED_ORIGINS" not in monitio_gateway.invocation(None, None)[1]
    settings.DEBUG = True
    monkeypatch.setenv("MONITIO_ALLOWED_ORIGINS", "https://mine.example")
    assert monitio_gateway.invocation(None, None)[1]["MONITIO_ALLOWED_ORIGINS"] == (
        "https://mine.example"
    )

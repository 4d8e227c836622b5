"""E-mail backends for tests: real Django backends with injected SMTP failures."""

import smtplib
import threading

import django
from django.core.mail.backends.locmem import EmailBackend

_lock = threading.Lock()
failures_left = 0
attempts = 0


def fail_next(count: int) -> None:
    """Make the next ``count`` sends raise a transient SMTP error."""
    global failures_left, attempts
    with _lock:
        failures_left, attempts = count, 0


class FlakyBackend(EmailBackend):
    """The locmem backend, but the next ``failures_left`` sends fail like a dropped SMTP link."""

    def send_messages(self, messages):
        global failures_left, attempts
        with _lock:
            attempts += 1
            if failures_left > 0:
                failures_left -= 1
                raise smtplib.SMTPServerDisconnected("injected: connection dropped")
        return super().send_messages(messages)


def backend_settings(path: str, **options) -> dict:
    """The settings that make ``path`` the e-mail backend, with ``options`` (``host``,
    ``port``, ``timeout``), for ``override_settings``: MAILERS from Django 6.1 (which
    deprecates EMAIL_BACKEND and the EMAIL_* settings), those settings before."""
    if django.VERSION >= (6, 1):
        return {"MAILERS": {"default": {"BACKEND": path, "OPTIONS": options}}}
    return {"EMAIL_BACKEND": path, **{f"EMAIL_{k.upper()}": v for k, v in options.items()}}

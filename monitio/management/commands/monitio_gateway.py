"""``manage.py monitio_gateway``: run the SSE gateway from this site's own settings.

For development, next to ``runserver``: the gateway reads the stream secret, Redis
URL, key prefix, cookie name, token age and stream path from the site's ``MONITIO``
dict (see :mod:`sse_gateway.config`), so nothing is copied by hand. It listens where
an absolute ``STREAM_URL`` points (``http://localhost:8001/sse/``: 127.0.0.1 port
8001), and lets the page ``runserver`` serves (``http://localhost:8000``, the same
host as the stream, so the browser sends the stream cookie) open it with CORS.

It is the production server, one process: gunicorn with the gateway's worker
(:mod:`sse_gateway.worker`) and :mod:`sse_gateway.gunicorn_conf`. Production runs that command itself (see
docs/gateway.md).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings as django_settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from monitio.conf import settings

DEFAULT_PORT = 8001
RUNSERVER_PORT = 8000


class Command(BaseCommand):
    help = (
        "Run the SSE gateway with this site's settings (default: where an absolute "
        "MONITIO['STREAM_URL'] points, else 127.0.0.1:8001)."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "addrport", nargs="?",
            help="port or address:port to listen on (default: STREAM_URL's, or 8001)",
        )
        parser.add_argument(
            "--allow-origin", action="append", dest="origins", metavar="ORIGIN",
            help="a page origin that may open streams (repeatable; default with DEBUG: "
            "http://<STREAM_URL's host>:8000, runserver's page)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        argv, env = invocation(options.get("addrport"), options.get("origins"))
        host, port = argv[argv.index("--bind") + 1].rsplit(":", 1)
        self.stdout.write(
            f"monitio gateway for {env['DJANGO_SETTINGS_MODULE']} at "
            f"http://{host}:{port}{urlsplit(str(settings.STREAM_URL)).path or '/sse/'}; "
            f"pages from {env.get('MONITIO_ALLOWED_ORIGINS') or 'the same origin only'} "
            "may open streams. Quit with CONTROL-C."
        )
        if not _absolute(settings.STREAM_URL):
            self.stderr.write(
                f"MONITIO['STREAM_URL'] is {settings.STREAM_URL!r}: pages open it on "
                "runserver's port, not here. In development set it to "
                f"'http://localhost:{port}/sse/' (see `manage.py check`, monitio.W010)."
            )
        sys.stdout.flush()
        os.execve(sys.executable, argv, env)


def invocation(
    addrport: str | None, origins: list[str] | None
) -> tuple[list[str], dict[str, str]]:
    """The gunicorn command line and environment that serve this site's streams."""
    host, port = _address(addrport)
    env = dict(os.environ)
    module = django_settings.SETTINGS_MODULE or env.get("DJANGO_SETTINGS_MODULE")
    if not module:
        raise CommandError(
            "The gateway reads a settings module, and these settings have none "
            "(settings.configure()): set DJANGO_SETTINGS_MODULE."
        )
    env["DJANGO_SETTINGS_MODULE"] = module
    top = _import_root(module)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(top), env.get("PYTHONPATH")]))
    allowed = origins or (None if "MONITIO_ALLOWED_ORIGINS" in env else _dev_origins())
    if allowed:
        env["MONITIO_ALLOWED_ORIGINS"] = " ".join(allowed)
    argv = [
        sys.executable, "-m", "gunicorn", "-c", "python:sse_gateway.gunicorn_conf",
        "--workers", "1", "--bind", f"{host}:{port}", "sse_gateway.wsgi:application",
    ]
    return argv, env


def _address(addrport: str | None) -> tuple[str, int]:
    host, port = "127.0.0.1", DEFAULT_PORT
    url = urlsplit(str(settings.STREAM_URL))
    if _absolute(settings.STREAM_URL) and url.port:
        port = url.port
    if addrport:
        head, sep, tail = addrport.rpartition(":")
        host = head if sep and head else host
        if not tail.isdigit():
            raise CommandError(f"{addrport!r} is not a port or address:port.")
        port = int(tail)
    return host, port


def _dev_origins() -> list[str]:
    """runserver's page, on the stream's host, when DEBUG is on; else none."""
    if not django_settings.DEBUG or not _absolute(settings.STREAM_URL):
        return []
    url = urlsplit(str(settings.STREAM_URL))
    return [f"{url.scheme}://{url.hostname}:{RUNSERVER_PORT}"]


def _absolute(url: Any) -> bool:
    return urlsplit(str(url)).scheme in ("http", "https")


def _import_root(module: str) -> Path:
    """The folder the settings module is imported from (the gateway imports it too)."""
    top = sys.modules[module.partition(".")[0]]
    path = Path(top.__file__ or next(iter(top.__path__)))
    return path.parent.parent if path.name == "__init__.py" else path.parent

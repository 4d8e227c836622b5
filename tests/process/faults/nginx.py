"""A private nginx (Debian's ``/usr/sbin/nginx``) in front of a gateway.

Each test gets its own config file, prefix directory and free port; the system
nginx is never touched. The ``location`` that proxies the stream is taken from
``docs/nginx.conf`` (the configuration we document for users) when that file has a
``location /sse/`` block, so the tests exercise what users are told to deploy;
:data:`FALLBACK_LOCATION` is only used while that file does not exist.
"""

from __future__ import annotations

import re
import signal
import subprocess
from pathlib import Path

from tests import procs

NGINX = "/usr/sbin/nginx"
DOCUMENTED = procs.ROOT / "docs" / "nginx.conf"

#: What an SSE location needs (no buffering, HTTP/1.1 upstream, no Connection
#: header, nginx's default 60 s read timeout); used only without docs/nginx.conf.
FALLBACK_LOCATION = """
        proxy_pass http://monitio_gateway;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $host;
        proxy_buffering off;
        proxy_cache off;
"""

_TEMPLATE = """
worker_processes 1;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    upstream monitio_gateway {{ server 127.0.0.1:{upstream}; }}
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        location /sse/ {{
{location}
        }}
    }}
}}
"""


def documented_location() -> tuple[str, str]:
    """Return the body of the documented ``location /sse/`` and where it came from."""
    if DOCUMENTED.exists():
        text = DOCUMENTED.read_text()
        found = re.search(r"location\s+(?:\^~\s+)?/sse/\s*\{(?P<body>[^{}]*)\}", text)
        if found:
            return _point_at_upstream(found.group("body")), "docs/nginx.conf"
    return FALLBACK_LOCATION, "fallback (docs/nginx.conf missing)"


def _point_at_upstream(body: str) -> str:
    # The documented proxy_pass names the user's upstream; ours is monitio_gateway.
    return re.sub(r"proxy_pass\s+[^;]+;", "proxy_pass http://monitio_gateway;", body)


def _override(body: str, name: str, value: str) -> str:
    """Set directive ``name`` to ``value`` in a location body (replace or add)."""
    line = f"        {name} {value};"
    pattern = re.compile(rf"^\s*{re.escape(name)}\s+[^;]*;", re.MULTILINE)
    return pattern.sub(line, body) if pattern.search(body) else f"{body}\n{line}\n"


class Nginx:
    """``nginx -p <dir> -c <dir>/nginx.conf`` proxying ``/sse/`` to ``upstream``."""

    def __init__(
        self, workdir: Path, upstream: int, overrides: dict[str, str] | None = None
    ) -> None:
        self.dir = workdir
        self.port = procs.free_port()
        self.location, self.source = documented_location()
        for name, value in (overrides or {}).items():
            self.location = _override(self.location, name, value)
        for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (workdir / sub).mkdir(parents=True, exist_ok=True)
        self.conf = workdir / "nginx.conf"
        self.conf.write_text(
            _TEMPLATE.format(
                prefix=workdir,
                upstream=upstream,
                port=self.port,
                location=self.location,
            )
        )
        self.proc: subprocess.Popen | None = None

    def start(self) -> Nginx:
        check = subprocess.run(
            [NGINX, "-t", "-p", str(self.dir), "-c", str(self.conf)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert check.returncode == 0, check.stderr
        self.proc = procs.start(
            [NGINX, "-p", str(self.dir), "-c", str(self.conf)], self.dir / "nginx.out"
        )
        procs.wait_for_port(self.port, proc=self.proc)
        return self

    def stop(self) -> None:
        if self.proc is not None:
            procs.stop(self.proc, signal.SIGQUIT)

    def error_log(self) -> str:
        path = self.dir / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""

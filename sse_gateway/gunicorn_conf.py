"""Recommended gunicorn settings: ``gunicorn -c python:sse_gateway.gunicorn_conf
sse_gateway.wsgi:application``. Any of them can still be overridden on the command
line (``-b``, ``-w``...). The gateway's worker refuses to start where streams cannot
be served (TLS or HTTP/2 in gunicorn, see :mod:`sse_gateway.handoff`)."""

import os

from sse_gateway import handoff

worker_class = handoff.WORKER
# One process per core is plenty: a gevent worker holds thousands of idle streams.
workers = int(os.environ.get("WEB_CONCURRENCY", "1"))
# Requests in progress at once. An open stream is not one: its connection is handed
# to the hub once admitted (MONITIO_MAX_CONNECTIONS bounds those), so this only
# bounds a burst of stream handshakes, health checks and scrapes.
worker_connections = 1000
# SIGTERM drains streams at once; this only bounds a stuck write.
graceful_timeout = 15
timeout = 30
# Seconds a connection may sit idle, or take to send a request's head.
keepalive = 5
# Path only (%(U)s), never the query string: no URL parameter reaches the log.
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms'
control_socket_disable = True

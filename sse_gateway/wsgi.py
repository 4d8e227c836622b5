"""The WSGI entry point::

    gunicorn -k sse_gateway.worker.StreamWorker --graceful-timeout 15 \\
        sse_gateway.wsgi:application

Reads the configuration (the site's settings module, then the environment: see
:mod:`.config`) at import (so a missing secret stops
the worker from booting) but touches Redis only on the first request. On that first
request, in the worker process, it records its stream configuration in Redis for
Django's system check (see :mod:`.announce`) and chains a SIGTERM handler before
gunicorn's:
open streams are told to come back after a jittered ``retry:`` and closed, so the
worker exits as soon as they are flushed instead of waiting out the graceful timeout.
At import it also fits ``MONITIO_MAX_CONNECTIONS`` to the open-file limit (see
:mod:`.fdlimit`).

Last, it freezes the garbage collector's view of everything loaded so far
(:func:`gc.freeze`): a full collection then no longer walks the ~35,000 objects of
the imported modules, which otherwise stalls every stream of the process each time (docs/performance.md, "Garbage-collector pauses").
"""

from __future__ import annotations

import gc
import logging
import signal
from types import FrameType

import gevent

from . import fdlimit
from .announce import announce
from .app import Gateway
from .config import Config, log_summary


def on_start(gateway: Gateway) -> None:
    """Once Redis answers: record the configuration, and drain on SIGTERM."""
    announce(gateway.config)
    drain_on_sigterm(gateway)


def drain_on_sigterm(gateway: Gateway) -> None:
    """Make SIGTERM drain ``gateway``'s streams, then run the previous handler."""
    previous = signal.getsignal(signal.SIGTERM)

    def handle(signum: int, frame: FrameType | None) -> None:
        gevent.spawn(gateway.hub.drain)
        if callable(previous):
            previous(signum, frame)

    signal.signal(signal.SIGTERM, handle)


config = Config.load()
logging.basicConfig(
    level=config.log_level,
    format="[%(asctime)s] [%(process)d] [%(levelname)s] %(message)s",
)
log_summary(config)
config = fdlimit.fit(config)
application = Gateway(config, on_start=on_start)
gc.freeze()

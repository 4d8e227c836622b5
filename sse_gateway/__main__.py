"""Run the gateway for development: ``python -m sse_gateway [--host H] [--port P]``.

Uses gevent's own WSGI server; production runs ``gunicorn -k gevent`` (see
:mod:`sse_gateway.wsgi`). SIGTERM or Ctrl-C drains the streams, then stops.
"""

from gevent import monkey

monkey.patch_all()

import argparse
import logging
import signal

import gevent
from gevent.pywsgi import WSGIServer

from .app import Gateway
from .config import Config


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m sse_gateway")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    args = parser.parse_args()
    config = Config.from_env()
    logging.basicConfig(
        level=config.log_level, format="%(asctime)s %(levelname)s %(message)s"
    )
    gateway = Gateway(config)
    # log=None: the access log would show query strings; keep URLs out of logs.
    server = WSGIServer((args.host, args.port), gateway, log=None)

    def stop() -> None:
        gateway.hub.drain()
        gevent.sleep(0.5)  # let the final retry: reach the clients
        server.stop(timeout=5)

    for signum in (signal.SIGTERM, signal.SIGINT):
        gevent.signal_handler(signum, stop)
    logging.getLogger("sse_gateway").info(
        "serving %s on http://%s:%d", gateway.config.path, args.host, args.port
    )
    server.serve_forever()


if __name__ == "__main__":
    main()

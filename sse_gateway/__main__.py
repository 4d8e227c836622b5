"""Run the gateway for development: ``python -m sse_gateway [--host H] [--port P]``.

The same server as production (gunicorn's gevent worker, one process, with
:mod:`sse_gateway.gunicorn_conf`): the hub takes each stream's connection over from
it (see :mod:`sse_gateway.handoff`). SIGTERM drains the streams, then stops.
"""

import argparse
import os
import sys


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m sse_gateway")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    args = parser.parse_args()
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "-c",
        "python:sse_gateway.gunicorn_conf",
        "--workers",
        "1",
        "--bind",
        f"{args.host}:{args.port}",
        "sse_gateway.wsgi:application",
    ]
    os.execv(sys.executable, argv)


if __name__ == "__main__":
    main()

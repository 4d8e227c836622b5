"""Run the gateway for development:
``python -m sse_gateway [--host H] [--port P] [--settings mysite.settings]``.

``--settings`` (default: ``DJANGO_SETTINGS_MODULE``) names the site's settings module,
which the gateway reads its shared values from (see :mod:`sse_gateway.config`);
``manage.py monitio_gateway`` does the same from inside the site.

The same server as production (gunicorn with the gateway's worker, one process, with
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
    parser.add_argument("--settings", help="the site's settings module")
    args = parser.parse_args()
    if args.settings:
        os.environ["DJANGO_SETTINGS_MODULE"] = args.settings
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

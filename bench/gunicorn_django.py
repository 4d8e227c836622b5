"""The benchmark site's gunicorn settings (``-c python:bench.gunicorn_django``): what
docs/performance.md recommends for a Django site, the garbage collector's view of the
loaded application frozen in each worker."""

import gc


def post_worker_init(worker) -> None:
    gc.freeze()

"""monitio's example project: a small site that uses monitio as a real one would.

Loading the Celery app here makes ``shared_task`` bind to it in every process.
"""

from .celery import app as celery_app

__all__ = ["celery_app"]

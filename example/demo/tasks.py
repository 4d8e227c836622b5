"""The example's background job: it reports its progress as monitio messages."""

from __future__ import annotations

import time

from celery import shared_task

import monitio


@shared_task(name="demo.crunch_numbers", acks_late=True, ignore_result=True)
def crunch_numbers(user_id: int, steps: int = 5, pause: float = 1.0) -> None:
    """Pretend to work for ``steps`` steps, telling ``user_id`` after each one.

    Each ``create_message.delay`` is a task of its own; the worker stores and
    publishes it, so the user's open pages show a toast per step.
    """
    for step in range(1, steps + 1):
        time.sleep(pause)
        monitio.create_message.delay(
            user_id, monitio.INFO, f"Step {step} of {steps} done.",
            # close_timeout is in ms: the steps fade away, the result stays.
            subject="Report job", close_timeout=8000,
        )
    monitio.create_message.delay(
        user_id, monitio.SUCCESS, f"Your report is ready ({steps} steps).",
        subject="Report job",
    )

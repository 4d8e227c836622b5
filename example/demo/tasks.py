"""The example's background job: it reports its progress as monitio messages."""

from __future__ import annotations

import time

from celery import Task, shared_task

import monitio


@shared_task(name="demo.crunch_numbers", bind=True, acks_late=True, ignore_result=True)
def crunch_numbers(self: Task, user_id: int, steps: int = 5, pause: float = 1.0) -> None:
    """Pretend to work for ``steps`` steps, telling ``user_id`` after each one.

    Every message carries the job's ``group_key``: the first is stored and shown as a
    toast, and each later one updates that row and that toast in place, so the user
    sees one toast and one unread message that ends with the result.
    """
    progress = f"report-{self.request.id}"
    for step in range(1, steps + 1):
        time.sleep(pause)
        monitio.create_message.delay(
            user_id, monitio.INFO, f"Step {step} of {steps} done.",
            subject="Report job", group_key=progress,
        )
    monitio.create_message.delay(
        user_id, monitio.INFO, f"Your report is ready ({steps} steps).",
        subject="Report job", group_key=progress,
    )

"""Wait for something a real worker or gateway does, without sleeping blindly."""

import time


def wait_until(predicate, timeout: float = 15.0, interval: float = 0.05, message: str = ""):
    """Return ``predicate()``'s first truthy value; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting: {message or predicate}")
        time.sleep(interval)

"""Limit how many state changes a user makes, with django-ratelimit.

Every state-changing view shares one budget per user, ``MONITIO["STATE_CHANGE_RATE"]``,
counted in Django's cache (the one ``RATELIMIT_USE_CACHE`` names, ``"default"``
unless set: use a shared cache such as Redis, or each process counts alone). When
the cache raises (Redis down) the change goes through, logged: a cache outage must
not lock users out. (A backend that fails silently follows ``RATELIMIT_FAIL_OPEN``.)
"""

from __future__ import annotations

import logging

from django.http import HttpRequest
from django_ratelimit.core import get_usage

from .conf import settings

logger = logging.getLogger("monitio")

GROUP = "monitio.state"


def retry_after(request: HttpRequest) -> int | None:
    """Count a state change of the request's user; return the seconds until they may
    change state again when they are over the limit, else ``None``."""
    rate = settings.STATE_CHANGE_RATE
    if rate is None:
        return None
    try:
        usage = get_usage(request, group=GROUP, key="user", rate=rate, increment=True)
    except Exception as exc:  # noqa: BLE001 - any cache failure: let the change through
        logger.warning("State-change limit not checked: the cache failed (%s).", exc)
        return None
    if usage is None or not usage["should_limit"]:
        return None
    return max(1, int(usage["time_left"]))

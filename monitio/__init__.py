"""monitio: persistent, live and e-mailed user messages for Django.

The levels are importable at once; the API functions load on first use, so that
importing ``monitio`` (say, from the SSE gateway or a settings module) touches
neither Django's settings nor its app registry.
"""

from typing import TYPE_CHECKING, Any

from .constants import (
    DEBUG,
    DEFAULT_TAGS,
    ERROR,
    INFO,
    PERSISTENT_MESSAGE_LEVELS,
    SUCCESS,
    WARNING,
)

__version__ = "1.0.0"

#: monitio's level tags, for a site's settings: ``MESSAGE_TAGS = {**monitio.MESSAGE_TAGS}``.
#: Django tags its own ``Message`` objects (one shown in the request that added it)
#: from ``MESSAGE_TAGS`` only; monitio's stored messages have these tags anyway.
MESSAGE_TAGS = dict(DEFAULT_TAGS)

#: Names loaded from :mod:`monitio.api` on first use.
_API = (
    "add_message",
    "create_message",
    "create_messages",
    "get_messages",
    "debug",
    "info",
    "success",
    "warning",
    "error",
    "MessageFailure",
)

__all__ = [
    "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR", "PERSISTENT_MESSAGE_LEVELS", "MESSAGE_TAGS",
    "MonitioError", "MessageSpec", "MessageOptions", "batch", "register_kind", *_API,
]

if TYPE_CHECKING:
    from .api import (
        MessageFailure,
        add_message,
        create_message,
        create_messages,
        debug,
        error,
        get_messages,
        info,
        success,
        warning,
    )
    from .batches import batch
    from .exceptions import MonitioError
    from .kinds import register_kind
    from .spec import MessageOptions, MessageSpec


def __getattr__(name: str) -> Any:
    if name in _API:
        from . import api

        value = globals()[name] = getattr(api, name)  # later lookups skip this hook
        return value
    if name == "MonitioError":
        from .exceptions import MonitioError

        return MonitioError
    if name in ("MessageSpec", "MessageOptions"):
        from . import spec

        return getattr(spec, name)
    if name == "batch":
        from .batches import batch

        return batch
    if name == "register_kind":
        from .kinds import register_kind

        return register_kind
    raise AttributeError(f"module 'monitio' has no attribute {name!r}")

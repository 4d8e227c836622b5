"""Message levels.

Django's levels (10-40) keep their stock meaning: shown once, then gone. monitio's
levels keep the original project's values (110-140); ``INFO`` to ``ERROR`` are
*persistent*: the message lives in the database until the user deletes it.
``DEBUG`` (110) is not persistent, exactly as in the original.
"""

DEBUG = 110
INFO = 120
SUCCESS = 125
WARNING = 130
ERROR = 140

PERSISTENT_MESSAGE_LEVELS = (INFO, SUCCESS, WARNING, ERROR)

DEFAULT_TAGS = {
    DEBUG: "debug",
    INFO: "info",
    SUCCESS: "success",
    WARNING: "warning",
    ERROR: "error",
}

DEFAULT_LEVELS = {
    "DEBUG": DEBUG,
    "INFO": INFO,
    "SUCCESS": SUCCESS,
    "WARNING": WARNING,
    "ERROR": ERROR,
}


def is_persistent(level: int) -> bool:
    """Return whether messages of ``level`` are stored until deleted."""
    return level in PERSISTENT_MESSAGE_LEVELS

#: The longest ``group_key`` (checked in the caller, :func:`monitio.validation.check_group_key`).
GROUP_KEY_MAX_LENGTH = 100

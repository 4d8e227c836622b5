"""Accelerators: optional shortcuts through a library's internals, one module per library.

monitio works on the libraries' public APIs alone. An accelerator replaces one
public step by a faster one that needs the library's internals, and is used only
when ``MONITIO["ACCELERATORS"]`` allows it and the installed library is a release
it was tested with. On any other release monitio takes the public path and says so
once: a warning log line, and a system check warning (``monitio.W020``/``W021``).
"""

from __future__ import annotations

import logging

from ..conf import settings

logger = logging.getLogger("monitio")

_warned: set[str] = set()


def enabled(library: str) -> bool:
    """Whether ``MONITIO["ACCELERATORS"]`` allows the accelerator for ``library``
    (``True``/``False`` for all, or a dict such as ``{"kombu": False}``)."""
    value = settings.ACCELERATORS
    if isinstance(value, dict):
        return bool(value.get(library, True))
    return bool(value)


def untested(library: str, installed: tuple[int, ...], tested: tuple[int, ...]) -> str | None:
    """Why the accelerator for ``library`` is not used on ``installed``, or ``None``."""
    if installed[: len(tested)] == tested:
        return None
    return (
        f"monitio's {library} accelerator was tested with {library} "
        f"{'.'.join(map(str, tested))}.x, not {'.'.join(map(str, installed))}: "
        "monitio uses the public path instead."
    )


def usable(library: str, installed: tuple[int, ...], tested: tuple[int, ...]) -> bool:
    """Enabled and tested on ``installed``; warns once per process when not tested."""
    if not enabled(library):
        return False
    reason = untested(library, installed, tested)
    if reason is None:
        return True
    if library not in _warned:
        _warned.add(library)
        logger.warning(reason)
    return False

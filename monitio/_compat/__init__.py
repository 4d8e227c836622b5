"""Accelerators: optional shortcuts through a library's internals, one module per library.

monitio works on the libraries' public APIs alone. An accelerator replaces one
public step by a faster one that needs the library's internals, and is used only
when ``MONITIO["ACCELERATORS"]`` allows it and the installed library is a release
it was tested with. On any other release monitio takes the public path and says so
once: a warning log line, and a system check warning (``monitio.W020``-``W022``).
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


def untested(
    library: str, installed: tuple[int, ...], tested: tuple[int, ...] | tuple[tuple[int, ...], ...]
) -> str | None:
    """Why the accelerator for ``library`` is not used on ``installed``, or ``None``.

    ``tested`` is one release, ``(5, 7)``, or several, ``((5, 2), (6, 0))``."""
    releases = tested if tested and isinstance(tested[0], tuple) else (tested,)
    if any(installed[: len(release)] == release for release in releases):
        return None
    return (
        f"monitio's {library} accelerator was tested with {library} "
        f"{tested_names(tested)}, not {'.'.join(map(str, installed))}: "
        "monitio uses the public path instead."
    )


def tested_names(tested: tuple[int, ...] | tuple[tuple[int, ...], ...]) -> str:
    """``"5.7.x"``, or ``"5.2.x, 6.0.x"`` for several releases."""
    releases = tested if tested and isinstance(tested[0], tuple) else (tested,)
    return ", ".join(".".join(map(str, release)) + ".x" for release in releases)  # type: ignore[arg-type]


def usable(
    library: str, installed: tuple[int, ...], tested: tuple[int, ...] | tuple[tuple[int, ...], ...]
) -> bool:
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

"""Django accelerator: a request that adds messages and shows none reads no rows.

Django's contract for a message storage (``_get`` and ``_store``) has the storage
re-store everything it holds when a request adds a message but shows none
(``BaseStorage.update``: ``self._loaded_messages + self._queued_messages``), so
``_get`` runs on every such request. monitio's ``_get`` reads the user's rows,
which ``_store`` then leaves alone (they are in the database): a query whose cost
grows with the user's unread messages, for nothing. This accelerator hands Django,
in that one case, what ``_store`` will keep (the cookie/session messages) instead.
It sets ``BaseStorage``'s private ``_loaded_data`` cache, hence :data:`TESTED` and
the canary test in ``tests/fast/core/test_compat_canary.py``; off, or on another
Django release, the storage keeps to the contract alone.
"""

from __future__ import annotations

from typing import Any

import django

from . import usable

#: The Django releases (major, minor) this accelerator was tested with.
TESTED = ((5, 2), (6, 0), (6, 1))


def available() -> bool:
    """Whether the accelerator is enabled and the installed Django is :data:`TESTED`."""
    return usable("django", tuple(django.VERSION[:3]), TESTED)


class StoreWithoutRows:
    """Mixin for :class:`monitio.storage.PersistentMessageStorage`: before Django's
    ``update`` re-stores an unread storage, give it the messages ``_store`` keeps
    (``stored_messages()``) so that ``_get`` and its rows query are skipped."""

    def update(self, response: Any) -> Any:
        storage: Any = self
        if (
            storage.added_new
            and not storage.used
            and "_loaded_data" not in vars(storage)
            and available()
        ):
            storage._loaded_data = storage.stored_messages()
        return super().update(response)  # type: ignore[misc]

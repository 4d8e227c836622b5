"""Kinds of message: short registered keys that preferences are kept by.

A site (or a reusable app) declares its kinds once, in ``AppConfig.ready()``::

    monitio.register_kind(
        "comment", label=_("Comments"), description=_("Someone comments on your post."),
        channels={"inbox", "email"}, mandatory=False,
    )

and a message names its kind: ``add_message(request, INFO, text, kind="comment")``.
A kind's ``channels`` are the site's defaults (what a user who never chose receives);
its ``mandatory`` channels are ones users cannot turn off. A message without a kind
belongs to :data:`DEFAULT_KIND`: on in every channel, its e-mail switchable by users
unless ``MONITIO["DEFAULT_KIND_MANDATORY"]`` is set. An unregistered key is refused in
the caller with :class:`~monitio.exceptions.UnknownKind`, before anything is queued.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from . import email_policy as policies
from .conf import settings
from .exceptions import MonitioConfigurationError, UnknownKind

#: The in-app channel: the stored message, its toast and the unread badge.
INBOX = "inbox"
#: E-mail, sent when the sender asks for it (``email=True``) and the user allows it.
EMAIL = "email"
CHANNELS = (INBOX, EMAIL)

#: The kind of messages sent without ``kind=``.
DEFAULT_KIND = "default"
#: Longest key (the width of the ``kind`` columns).
KEY_MAX_LENGTH = 50
KEY = re.compile(rf"[a-z0-9][a-z0-9_.-]{{0,{KEY_MAX_LENGTH - 1}}}")


@dataclass(frozen=True)
class Kind:
    """A registered kind. ``channels``: on by default; ``mandatory``: users may not turn
    off; ``email_policy``: when its e-mail goes out for users who did not choose
    (see :mod:`monitio.email_policy`)."""

    key: str
    label: str | Promise
    description: str | Promise
    channels: frozenset[str]
    mandatory: frozenset[str]
    email_policy: str = policies.IMMEDIATE

    def default(self, channel: str) -> bool:
        """Whether ``channel`` is on for a user who never chose."""
        return channel in self.channels

    def switchable(self, channel: str) -> bool:
        """Whether users may turn ``channel`` on or off for this kind."""
        return channel not in self.mandatory


_registry: dict[str, Kind] = {}


def register_kind(
    key: str,
    *,
    label: str | Promise,
    description: str | Promise = "",
    channels: Iterable[str] = CHANNELS,
    mandatory: bool | Iterable[str] = False,
    email_policy: str = policies.IMMEDIATE,
) -> Kind:
    """Register the kind ``key`` and return it.

    ``mandatory=True`` locks every channel in ``channels`` on; a set of channels locks
    only those. Registering the same key again with the same definition is harmless
    (an app's ``ready()`` may run twice in tests); a different definition is a
    configuration error, as two apps claiming one key would be.

    ``email_policy`` is the kind's default policy (``"digest_daily:8"``, see
    :mod:`monitio.email_policy`). A kind whose e-mail is mandatory is never digested
    nor off: what users cannot turn off is urgent enough to go out on its own.
    """
    if not isinstance(key, str) or not KEY.fullmatch(key):
        raise MonitioConfigurationError(
            f"Kind key {key!r} must be 1-{KEY_MAX_LENGTH} characters of a-z, 0-9, '_', '.', '-'."
        )
    if key == DEFAULT_KIND:
        raise MonitioConfigurationError(
            f'"{DEFAULT_KIND}" is the built-in kind of messages without one; '
            'make it mandatory with MONITIO["DEFAULT_KIND_MANDATORY"] = True.'
        )
    on = _channels(channels, "channels")
    if isinstance(mandatory, bool):
        locked = on if mandatory else frozenset()
    else:
        locked = _channels(mandatory, "mandatory")
    if not locked <= on:
        raise MonitioConfigurationError(
            f"Kind {key!r}: mandatory channels {sorted(locked - on)} are not among its channels."
        )
    try:
        policy = policies.parse(email_policy)
    except policies.InvalidPolicy as exc:
        raise MonitioConfigurationError(f"Kind {key!r}: {exc}") from None
    if policy.mode == policies.OFF:
        raise MonitioConfigurationError(
            f"Kind {key!r}: to send no e-mail by default, leave 'email' out of its channels."
        )
    if EMAIL in locked and not mandatory_allows(policy):
        raise MonitioConfigurationError(
            f"Kind {key!r}: its e-mail is mandatory, so its policy must be immediate or unread_after."
        )
    kind = Kind(key=key, label=label, description=description, channels=on, mandatory=locked,
                email_policy=str(policy))
    if _registry.setdefault(key, kind) != kind:
        raise MonitioConfigurationError(f"Kind {key!r} is already registered differently.")
    return kind


def check_policy(key: str, value: str | policies.Policy) -> policies.Policy:
    """The e-mail policy ``value`` for kind ``key``; raise
    :class:`~monitio.email_policy.InvalidPolicy` if it is malformed or the kind
    forbids it, :class:`UnknownKind` if there is no such kind."""
    kind = get_kind(key)
    policy = policies.parse(value)
    if not kind.switchable(EMAIL) and not mandatory_allows(policy):
        raise policies.InvalidPolicy(
            f"{kind.key!r} e-mails cannot be turned off or digested; choose immediate or unread_after."
        )
    return policy


def mandatory_allows(policy: policies.Policy) -> bool:
    """Whether a kind whose e-mail is mandatory may have ``policy``."""
    return policy.mode in (policies.IMMEDIATE, policies.UNREAD_AFTER)


def _channels(value: Any, name: str) -> frozenset[str]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise MonitioConfigurationError(f"{name} must be a set of channels, e.g. {{'inbox', 'email'}}.")
    found = frozenset(value)
    unknown = found - set(CHANNELS)
    if unknown:
        raise MonitioConfigurationError(
            f"Unknown channel(s) {sorted(unknown)} in {name}; the channels are {', '.join(CHANNELS)}."
        )
    return found


def default_kind() -> Kind:
    """The kind of messages sent without one (built from the settings on each call)."""
    return Kind(
        key=DEFAULT_KIND,
        label=_("Other messages"),
        description=_("Messages of no particular kind."),
        channels=frozenset(CHANNELS),
        mandatory=frozenset(CHANNELS) if settings.DEFAULT_KIND_MANDATORY else frozenset({INBOX}),
    )


def get_kind(key: str) -> Kind:
    """The kind registered as ``key``; raise :class:`UnknownKind` if there is none."""
    if key == DEFAULT_KIND:
        return default_kind()
    try:
        return _registry[key]
    except (KeyError, TypeError):
        raise UnknownKind(
            f"Unknown message kind {key!r}. Register it with monitio.register_kind() in an "
            f"AppConfig.ready(); registered: {', '.join(sorted(_registry)) or 'none'}."
        ) from None


def check_kind(key: Any) -> str:
    """Return the kind key a message is stored with (``None`` means the default kind)."""
    if key is None:
        return DEFAULT_KIND
    if not isinstance(key, str):
        raise UnknownKind(f"kind must be a str, not {type(key).__name__}.")
    return get_kind(key).key


def all_kinds() -> list[Kind]:
    """Every kind, as users see them in their preferences: registered order, then the default."""
    return [*_registry.values(), default_kind()]

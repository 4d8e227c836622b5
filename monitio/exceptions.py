"""Exceptions raised by monitio, all rooted at :class:`MonitioError`."""

from django.core.exceptions import ImproperlyConfigured, PermissionDenied


class MonitioError(Exception):
    """Base class for every error monitio raises."""


class MonitioConfigurationError(MonitioError, ImproperlyConfigured):
    """A setting is missing or wrong; the message names the key to fix."""


class InvalidMessage(MonitioError, ValueError):
    """A message was refused before anything was queued."""


class UnknownLevel(InvalidMessage):
    """The level is neither one of Django's nor one of monitio's."""


class MessageTooLarge(InvalidMessage):
    """The message or subject is longer than the configured maximum."""


class UnknownKind(InvalidMessage):
    """The message's ``kind`` is not registered (see :func:`monitio.register_kind`)."""


class AnonymousRecipient(InvalidMessage, NotImplementedError):
    """A persistent level was used for an anonymous user.

    Also a :class:`NotImplementedError`, which is what the original project raised.
    """


class InvalidPreference(MonitioError, ValueError):
    """A preference names a kind or channel that does not exist, or is not a bool."""


class PreferenceLocked(InvalidPreference):
    """A mandatory kind's channel cannot be turned off."""


class InvalidStreamToken(MonitioError, PermissionDenied):
    """A stream credential is forged, tampered with, expired or revoked."""

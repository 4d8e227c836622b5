"""Signals monitio sends."""

from django.dispatch import Signal

#: Sent by the worker after new messages are stored.
#: Arguments: ``sender`` (the Message class), ``messages`` (the new rows).
messages_created = Signal()

#: Sent when a user marks messages read or unread.
#: Arguments: ``sender`` (the Message class), ``user``, ``ids`` (UUIDs, or ``None`` for
#: all), ``read`` (the new state).
messages_read = Signal()

#: Sent when a user deletes messages.
#: Arguments: ``sender`` (the Message class), ``user``, ``ids`` (UUIDs, or ``None`` for
#: all read ones).
messages_deleted = Signal()

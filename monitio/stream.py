"""Django's side of the live stream: credentials for the gateway, and revocation.

(Placeholder: the gateway work fills this in.)
"""


def connect_revocation_signals() -> None:
    """Connect the signals that end a user's open streams (logout, deactivation)."""

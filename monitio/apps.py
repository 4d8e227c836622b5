from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MonitioConfig(AppConfig):
    name = "monitio"
    verbose_name = _("Messages")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.messages import constants as message_constants

        from . import checks, constants, signals, stream  # noqa: F401

        # Templates get "info", "warning", ... for monitio's levels, as the
        # original did, but at start-up rather than at import time.
        message_constants.DEFAULT_TAGS.update(constants.DEFAULT_TAGS)
        stream.connect_revocation_signals()

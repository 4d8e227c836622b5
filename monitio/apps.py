from django.apps import AppConfig, apps
from django.utils.translation import gettext_lazy as _


class MonitioConfig(AppConfig):
    name = "monitio"
    verbose_name = _("Messages")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # monitio's level tags are not added to Django's DEFAULT_TAGS (the original
        # did that): monitio.models.level_tags() gives them to monitio's messages.
        from . import checks, signals, stream  # noqa: F401

        stream.connect_revocation_signals()
        if apps.is_installed("django.contrib.admin"):
            from .admin_send import attach

            attach()

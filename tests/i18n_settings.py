"""The test settings with messages in each recipient's language (tests/fast/core/test_i18n.py):
the test catalogue in tests/locale, ``USER_LANGUAGE`` from :func:`language_of` and a
``SITE_URL`` for the links in e-mails."""

import os

from tests.settings import *

LOCALE_PATHS = [os.path.join(os.path.dirname(__file__), "locale")]

#: The test users' languages; anyone else reads LANGUAGE_CODE.
LANGUAGE_BY_USERNAME = {"ola": "pl", "ann": "en"}

MONITIO = {
    **MONITIO,
    "USER_LANGUAGE": "tests.i18n_settings.language_of",
    "SITE_URL": "https://app.example.com",
}


def language_of(user) -> str | None:
    return LANGUAGE_BY_USERNAME.get(user.get_username())

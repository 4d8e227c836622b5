"""Messages in the recipient's language: stored as a msgid and parameters, rendered late.

A message given as a lazy translation (``gettext_lazy``), or with ``params=``, is
stored untranslated: its msgid in ``message`` (and ``subject``) and its parameters
in ``params``. Each place that shows it (the inbox, the live event, the e-mail)
translates it then, in the language active there, and interpolates the parameters.
A translation that does not fit its parameters never breaks a page or an e-mail:
the msgid is shown instead and a warning logged.

The recipient's language comes from ``MONITIO["USER_LANGUAGE"]``: the dotted path of
a callable ``(user) -> str | None``, or the name of a user attribute; unset, or
``None`` for a user, it is ``LANGUAGE_CODE``.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.utils import translation
from django.utils.functional import Promise
from django.utils.module_loading import import_string

from .conf import settings

logger = logging.getLogger("monitio")


def is_lazy(value: Any) -> bool:
    """Whether ``value`` is a lazy translation (``gettext_lazy``): stored as its msgid."""
    return isinstance(value, Promise)


def msgid(value: Promise) -> str:
    """The untranslated text of a lazy translation: evaluated with translations
    deactivated (``translation.override(None)``), ``gettext`` returns its msgid."""
    with translation.override(None):
        return str(value)


def stored_texts(message: Any, subject: Any, params: dict[str, Any] | None) -> tuple[Any, Any]:
    """``message`` and ``subject`` as a translatable message stores them.

    Lazy translations become their msgids. Next to a lazy one, a plain text stays
    plain: with parameters, its ``%`` are doubled so interpolation leaves it as it is.
    """
    lazy = is_lazy(message) or is_lazy(subject)

    def stored(value: Any) -> Any:
        if is_lazy(value):
            return msgid(value)
        if lazy and params and isinstance(value, str):
            return value.replace("%", "%%")
        return value

    return stored(message), stored(subject)


def render(text: str, params: dict[str, Any] | None) -> str:
    """``text`` (a msgid) translated into the active language, ``params`` interpolated.

    Without parameters nothing is interpolated (a ``%`` stays as written). A
    translation that does not fit the parameters gives the msgid, with a warning.
    The result is plain text: templates escape it, parameters included.
    """
    if not text:
        return text  # gettext("") is the catalogue's header
    translated = translation.gettext(text)
    if not params:
        return translated
    try:
        return translated % params
    except (KeyError, ValueError, TypeError) as exc:
        logger.warning(
            "Message text %.100r in %s does not fit its parameters (%r); shown untranslated.",
            text, translation.get_language(), exc,
        )
    try:
        return text % params
    except (KeyError, ValueError, TypeError):
        return text


def user_language(user: Any) -> str:
    """The language ``user`` reads messages in (see the module's docstring).

    A language Django does not know, or a lookup that raises, gives ``LANGUAGE_CODE``
    with a log line: it must never stop a delivery.
    """
    source = settings.USER_LANGUAGE
    language = None
    if source:
        try:
            if "." in source:
                language = import_string(source)(user)
            else:
                language = getattr(user, source, None)
        except Exception:
            logger.exception("MONITIO['USER_LANGUAGE'] failed for user %s", getattr(user, "pk", None))
    if language:
        try:
            return translation.get_supported_language_variant(language)
        except LookupError:
            logger.warning("User %s's language %.20r is not in LANGUAGES.", getattr(user, "pk", None), language)
    return django_settings.LANGUAGE_CODE


def user_languages(user_ids: Iterable[Any]) -> dict[Any, str]:
    """:func:`user_language` of many users, with at most one query."""
    user_ids = set(user_ids)
    if not user_ids:
        return {}
    if not settings.USER_LANGUAGE:
        return dict.fromkeys(user_ids, django_settings.LANGUAGE_CODE)
    users = get_user_model().objects.in_bulk(list(user_ids))
    return {pk: user_language(user) for pk, user in users.items()}


def request_language(request: Any) -> str:
    """The language a page shows the user's messages in: theirs when
    ``USER_LANGUAGE`` is set, else the request's (``LocaleMiddleware``'s choice, or
    ``LANGUAGE_CODE``)."""
    user = getattr(request, "user", None)
    if settings.USER_LANGUAGE and user is not None and user.is_authenticated:
        return user_language(user)
    return translation.get_language() or django_settings.LANGUAGE_CODE


def in_request_language(view: Callable[..., Any]) -> Callable[..., Any]:
    """Render ``view``'s page in :func:`request_language`: its messages and its words."""

    @functools.wraps(view)
    def wrapper(request: Any, *args: Any, **kwargs: Any) -> Any:
        with translation.override(request_language(request)):
            return view(request, *args, **kwargs)

    return wrapper

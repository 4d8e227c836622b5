"""Each user's e-mail policy per kind, time zone and quiet hours: read and changed.

A policy is stored only when a user chose one (:class:`~monitio.models.EmailChoice`);
"off" is the kind's e-mail :class:`~monitio.models.Preference` turned off, so the
unsubscribe link and the preferences checkbox mean the same as choosing "off". A
user's time zone is theirs (:class:`~monitio.models.EmailSettings`), else what
``MONITIO["USER_TIME_ZONE"]`` answers for them, else ``TIME_ZONE``.

Every change is checked whole before anything is written: a malformed policy, an
unknown time zone or kind raise :class:`~monitio.email_policy.InvalidPolicy`
(a ``ValueError``); a mandatory kind cannot be "off" nor digested.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings as django_settings
from django.db import transaction
from django.utils.module_loading import import_string

from . import email_policy, kinds, preferences
from .conf import settings
from .email_policy import InvalidPolicy, Policy
from .exceptions import UnknownKind
from .models import EmailChoice, EmailSettings

#: What :meth:`change_settings` leaves as it is.
UNCHANGED: Any = object()


def policy_of(user: Any, key: str) -> Policy:
    """The policy that applies to ``user``'s e-mail of kind ``key`` now."""
    kind = preferences.delivered_kind(key)
    if not preferences.allows(user.pk, kind.key, kinds.EMAIL):
        return Policy(email_policy.OFF)
    stored = EmailChoice.objects.filter(user_id=user.pk, kind=kind.key).values_list("policy", flat=True).first()
    return decide(kind, stored)


def decide(kind: kinds.Kind, stored: str | None) -> Policy:
    """The policy for a kind whose e-mail is on, given the user's stored choice; a
    stored choice the kind no longer allows (its definition changed) yields its default."""
    if stored is not None:
        try:
            policy = email_policy.parse(stored)
        except InvalidPolicy:
            policy = None
        if policy is not None and (kind.switchable(kinds.EMAIL) or kinds.mandatory_allows(policy)):
            return policy
    return email_policy.parse(kind.email_policy)


def change_policies(user: Any, wanted: Mapping[str, str | Policy]) -> None:
    """Set ``user``'s policies, ``{kind: policy}``, all or nothing."""
    checked: dict[str, Policy] = {}
    for key, value in wanted.items():
        try:
            checked[key] = kinds.check_policy(key, value)
        except UnknownKind as exc:
            raise InvalidPolicy(str(exc)) from None
    with transaction.atomic():
        switches = {(key, kinds.EMAIL): policy.mode != email_policy.OFF
                    for key, policy in checked.items() if kinds.get_kind(key).switchable(kinds.EMAIL)}
        preferences.change(user, switches)
        kept = {key: policy for key, policy in checked.items() if policy.mode != email_policy.OFF}
        EmailChoice.objects.bulk_create(
            [EmailChoice(user_id=user.pk, kind=key, policy=str(policy)) for key, policy in kept.items()],
            update_conflicts=True,
            unique_fields=["user", "kind"],
            update_fields=["policy", "modified"],
        )


def change_settings(
    user: Any, *, time_zone: str | None = UNCHANGED, quiet_start: int | None = UNCHANGED,
    quiet_end: int | None = UNCHANGED,
) -> EmailSettings:
    """Set ``user``'s time zone (an IANA name; "" or None: the site's default) and
    quiet hours (both local hours, or both None for none)."""
    row = EmailSettings.objects.filter(user_id=user.pk).first() or EmailSettings(user_id=user.pk)
    if time_zone is not UNCHANGED:
        if time_zone:
            email_policy.check_time_zone(time_zone)
        row.time_zone = time_zone or ""
    if quiet_start is not UNCHANGED:
        row.quiet_start = None if quiet_start is None else email_policy.check_hour(quiet_start)
    if quiet_end is not UNCHANGED:
        row.quiet_end = None if quiet_end is None else email_policy.check_hour(quiet_end)
    if (row.quiet_start is None) != (row.quiet_end is None):
        raise InvalidPolicy("Set both ends of the quiet hours (local hours 0-23), or neither.")
    row.save()
    return row


def table(user: Any) -> dict[str, Any]:
    """``user``'s time zone, quiet hours and policy per kind, as the preferences page
    and JSON endpoint show them."""
    row = EmailSettings.objects.filter(user_id=user.pk).first()
    stored = dict(EmailChoice.objects.filter(user_id=user.pk).values_list("kind", "policy"))
    policies = {}
    for kind in kinds.all_kinds():
        on = preferences.allows(user.pk, kind.key, kinds.EMAIL)
        policies[kind.key] = {
            "policy": str(decide(kind, stored.get(kind.key)) if on else Policy(email_policy.OFF)),
            "default": kind.email_policy,
            "mandatory": not kind.switchable(kinds.EMAIL),
        }
    return {
        "time_zone": row.time_zone if row else "",
        "default_time_zone": default_time_zone(),
        "quiet_start": row.quiet_start if row else None,
        "quiet_end": row.quiet_end if row else None,
        "policies": policies,
    }


def default_time_zone() -> str:
    return django_settings.TIME_ZONE or "UTC"


def zones(user_ids: Iterable[Any], stored: Mapping[str, str]) -> dict[str, zoneinfo.ZoneInfo]:
    """The time zone of each user, by str id: ``stored`` (their own), else the
    ``USER_TIME_ZONE`` callable's answer (users loaded in one query), else ``TIME_ZONE``.
    A name that no longer exists falls back to the default."""
    found: dict[str, zoneinfo.ZoneInfo] = {}
    fallback = zoneinfo.ZoneInfo(default_time_zone())
    for uid in map(str, user_ids):
        name = stored.get(uid)
        found[uid] = _zone(name) if name else None
    lookup = settings.USER_TIME_ZONE
    missing = [uid for uid, zone in found.items() if zone is None]
    if lookup and missing:
        from django.contrib.auth import get_user_model

        lookup = import_string(lookup) if isinstance(lookup, str) else lookup
        for user in get_user_model().objects.filter(pk__in=missing):
            name = lookup(user)
            found[str(user.pk)] = _zone(name) if name else None
    return {uid: zone or fallback for uid, zone in found.items()}


def _zone(name: str) -> zoneinfo.ZoneInfo | None:
    try:
        return email_policy.check_time_zone(name)
    except InvalidPolicy:
        return None

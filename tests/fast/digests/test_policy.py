"""E-mail policies: parsing, the kinds' defaults, users' choices and settings, and
the clear errors for what does not exist."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

import monitio
from monitio import email_policy, email_settings, preferences
from monitio.email_policy import InvalidPolicy, Policy
from monitio.exceptions import MonitioConfigurationError
from monitio.models import EmailChoice, EmailSettings


@pytest.mark.parametrize("text,expected", [
    ("immediate", Policy("immediate")),
    ("unread_after:30", Policy("unread_after", minutes=30)),
    ("digest_hourly", Policy("digest_hourly")),
    ("digest_daily:8", Policy("digest_daily", hour=8)),
    ("digest_weekly:6:23", Policy("digest_weekly", weekday=6, hour=23)),
    ("off", Policy("off")),
])
def test_policies_parse_and_print_back(text, expected):
    assert email_policy.parse(text) == expected
    assert str(expected) == text


@pytest.mark.parametrize("text", [
    "digest_monthly", "digest_daily", "digest_daily:24", "digest_daily:-1", "digest_daily:8:1",
    "digest_weekly:7:8", "unread_after:0", "unread_after:x", "immediate:1", "", None, 5,
])
def test_malformed_policies_are_clear_value_errors(text):
    with pytest.raises(InvalidPolicy) as caught:
        email_policy.parse(text)
    assert isinstance(caught.value, ValueError)


def test_unknown_time_zone_is_refused():
    assert str(email_policy.check_time_zone("Europe/Warsaw")) == "Europe/Warsaw"
    for name in ("Mars/Olympus", "", "../etc/passwd", None):
        with pytest.raises(InvalidPolicy):
            email_policy.check_time_zone(name)


def test_register_kind_checks_its_default_policy():
    with pytest.raises(MonitioConfigurationError, match="digest_fortnightly"):
        monitio.register_kind("bad-policy", label="x", email_policy="digest_fortnightly")
    with pytest.raises(MonitioConfigurationError, match="mandatory"):
        monitio.register_kind("bad-mandatory", label="x", mandatory=True, email_policy="digest_hourly")
    with pytest.raises(MonitioConfigurationError, match="channels"):
        monitio.register_kind("bad-off", label="x", email_policy="off")


def test_a_user_chooses_policies_and_off_is_the_email_preference(alice):
    assert email_settings.policy_of(alice, "reply") == Policy("immediate")
    assert email_settings.policy_of(alice, "roundup") == Policy("digest_weekly", weekday=0, hour=9)
    email_settings.change_policies(alice, {"reply": "digest_daily:7", "roundup": "off"})
    assert email_settings.policy_of(alice, "reply") == Policy("digest_daily", hour=7)
    assert email_settings.policy_of(alice, "roundup") == Policy("off")
    assert not preferences.allows(alice.pk, "roundup", "email")
    email_settings.change_policies(alice, {"roundup": "unread_after:10"})
    assert preferences.allows(alice.pk, "roundup", "email")
    assert email_settings.policy_of(alice, "roundup") == Policy("unread_after", minutes=10)


def test_bad_choices_change_nothing(alice):
    for wanted in ({"reply": "digest_daily:8", "nope": "immediate"},
                   {"reply": "digest_daily:8", "alert": "off"},
                   {"reply": "digest_daily:8", "alert": "digest_hourly"},
                   {"reply": "digest_yearly"}):
        with pytest.raises(InvalidPolicy):
            email_settings.change_policies(alice, wanted)
    assert not EmailChoice.objects.exists()
    assert email_settings.policy_of(alice, "alert") == Policy("unread_after", minutes=5)
    email_settings.change_policies(alice, {"alert": "immediate"})
    assert email_settings.policy_of(alice, "alert") == Policy("immediate")


def test_settings_validate_time_zone_and_quiet_hours(alice):
    email_settings.change_settings(alice, time_zone="Europe/Warsaw", quiet_start=22, quiet_end=7)
    for bad in ({"time_zone": "Europe/Atlantis"}, {"quiet_start": 24}, {"quiet_end": None}):
        with pytest.raises(InvalidPolicy):
            email_settings.change_settings(alice, **bad)
    row = EmailSettings.objects.get(user=alice)
    assert (row.time_zone, row.quiet_start, row.quiet_end) == ("Europe/Warsaw", 22, 7)
    table = email_settings.table(alice)
    assert table["time_zone"] == "Europe/Warsaw" and table["policies"]["alert"]["mandatory"]


def test_user_time_zone_setting_is_asked_for_users_without_one(alice, bob, settings):
    settings.MONITIO = {**settings.MONITIO, "USER_TIME_ZONE": lambda user: "Asia/Tokyo"}
    email_settings.change_settings(bob, time_zone="Europe/Warsaw")
    zones = email_settings.zones([alice.pk, bob.pk], {str(bob.pk): "Europe/Warsaw"})
    assert {k: str(v) for k, v in zones.items()} == {str(alice.pk): "Asia/Tokyo", str(bob.pk): "Europe/Warsaw"}


def test_admin_validation_errors(alice):
    with pytest.raises(ValidationError):
        EmailSettings(user=alice, time_zone="Nowhere/Land").clean()
    with pytest.raises(ValidationError):
        EmailSettings(user=alice, quiet_start=22).clean()
    with pytest.raises(ValidationError):
        EmailChoice(user=alice, kind="reply", policy="digest_daily:25").clean()
    with pytest.raises(ValidationError):
        EmailChoice(user=alice, kind="alert", policy="digest_daily:8").clean()
    EmailChoice(user=alice, kind="reply", policy="digest_daily:8").clean()

"""Preference resolution, and what the worker does with it: one query per batch."""

from __future__ import annotations

import logging

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

import monitio
from monitio import delivery, emails, payloads, preferences
from monitio.exceptions import InvalidPreference, PreferenceLocked
from monitio.models import Message, Preference

PREFS_TABLE = Preference._meta.db_table


def payload(user, text, **options):
    return payloads.build(user_id=user.pk, level=monitio.INFO, message=text, **options)


def cell(user, kind, channel):
    row = next(r for r in preferences.table(user) if r["kind"] == kind)
    return row["channels"][channel]


def test_without_a_choice_the_kinds_default_applies(alice):
    assert cell(alice, "comment", "email") == {"enabled": True, "default": True, "mandatory": False}
    assert cell(alice, "newsletter", "email") == {"enabled": False, "default": False, "mandatory": False}
    assert cell(alice, "security", "email") == {"enabled": True, "default": True, "mandatory": True}
    assert cell(alice, "default", "inbox")["mandatory"] and not cell(alice, "default", "email")["mandatory"]


def test_a_choice_overrides_the_default_and_only_changes_are_stored(alice, bob):
    changed = preferences.change(
        alice, {("comment", "email"): False, ("comment", "inbox"): True, ("newsletter", "email"): True}
    )
    assert changed == 2  # comment/inbox was already on: nothing stored for it
    assert set(Preference.objects.values_list("kind", "channel", "enabled")) == {
        ("comment", "email", False), ("newsletter", "email", True),
    }
    assert not cell(alice, "comment", "email")["enabled"] and cell(alice, "newsletter", "email")["enabled"]
    assert cell(bob, "comment", "email")["enabled"]  # bob's are his own
    assert preferences.change(alice, {("comment", "email"): True}) == 1
    assert cell(alice, "comment", "email")["enabled"]
    assert Preference.objects.count() == 2  # updated in place


@pytest.mark.parametrize(
    "wanted, error",
    [
        ({("nope", "email"): False}, InvalidPreference),
        ({("comment", "sms"): False}, InvalidPreference),
        ({("comment", "email"): "no"}, InvalidPreference),
        ({("security", "email"): False}, PreferenceLocked),
        ({("default", "inbox"): False}, PreferenceLocked),
    ],
)
def test_bad_or_locked_choices_are_refused_and_nothing_is_changed(alice, wanted, error):
    with pytest.raises(error):
        preferences.change(alice, {("newsletter", "email"): True, **wanted})
    assert Preference.objects.count() == 0


def test_the_default_kinds_email_is_locked_when_the_site_makes_it_mandatory(alice, settings):
    preferences.change(alice, {("default", "email"): False})
    assert not preferences.allows(alice.pk, "default", "email")
    settings.MONITIO = {**settings.MONITIO, "DEFAULT_KIND_MANDATORY": True}
    assert preferences.allows(alice.pk, "default", "email")
    with pytest.raises(PreferenceLocked):
        preferences.change(alice, {("default", "email"): False})


def test_the_admin_form_refuses_an_unknown_or_mandatory_kind(alice):
    with pytest.raises(ValidationError, match="Unknown message kind"):
        Preference(user=alice, kind="nope", channel="email", enabled=False).full_clean()
    with pytest.raises(ValidationError, match="mandatory"):
        Preference(user=alice, kind="security", channel="email", enabled=False).full_clean()
    Preference(user=alice, kind="comment", channel="email", enabled=False).full_clean()


def test_email_off_stores_and_publishes_but_queues_no_email(transactional_db, alice, bob, redis_client):
    preferences.change(alice, {("comment", "email"): False})
    batch = [
        payload(alice, "a comment", kind="comment", email=True),
        payload(bob, "b comment", kind="comment", email=True),
        payload(alice, "alert", kind="security", email=True),
    ]
    to_send = delivery.deliver(batch)
    rows = {m.message: m for m in Message.objects.all()}
    assert set(to_send) == {str(rows["b comment"].pk), str(rows["alert"].pk)}
    assert rows["a comment"].email_status == Message.EmailStatus.OPTED_OUT
    assert all(m.published_at is not None and not m.read for m in rows.values())
    streams = redis_client.keys("monitio-test:u:*")
    assert sorted(redis_client.xlen(k) for k in streams) == [1, 2]  # every message published
    # a redelivery neither queues the opted-out e-mail nor publishes again
    assert set(delivery.deliver(batch)) == {str(rows["b comment"].pk), str(rows["alert"].pk)}
    assert sorted(redis_client.xlen(k) for k in streams) == [1, 2]


def test_inbox_off_stores_the_message_read_and_never_publishes_it(transactional_db, alice, redis_client):
    preferences.change(alice, {("comment", "inbox"): False})
    to_send = delivery.deliver([payload(alice, "muted", kind="comment", email=True)])
    row = Message.objects.get()
    assert row.read and row.read_at is not None and row.published_at is not None
    assert to_send == [str(row.pk)]  # its e-mail is still on
    assert redis_client.keys("monitio-test:u:*") == []
    assert Message.objects.unread().count() == 0


@pytest.mark.parametrize("size", [1, 60])
def test_preferences_cost_one_query_per_batch_whatever_its_size(
    transactional_db, alice, bob, redis_client, size
):
    preferences.change(alice, {("comment", "email"): False, ("newsletter", "inbox"): False})
    preferences.change(bob, {("comment", "inbox"): False})
    kinds_cycle = ["comment", "newsletter", "security", None]
    batch = [
        payload((alice, bob)[i % 2], f"m{i}", kind=kinds_cycle[i % 4], email=True) for i in range(size)
    ]
    with CaptureQueriesContext(connection) as queries:
        delivery.deliver(batch)
    reads = [q["sql"] for q in queries if PREFS_TABLE in q["sql"]]
    print(f"KINDS preference_queries batch={size} queries={len(reads)}")
    assert len(reads) == 1
    assert Message.objects.count() == size


def test_a_batch_nobody_could_switch_off_costs_no_query(transactional_db, alice, redis_client):
    batch = [payload(alice, "plain"), payload(alice, "alert", kind="security", email=True)]
    with CaptureQueriesContext(connection) as queries:
        delivery.deliver(batch)
    assert not [q for q in queries if PREFS_TABLE in q["sql"]]


def test_an_unregistered_kind_in_the_worker_is_delivered_as_the_default_kind(
    transactional_db, alice, redis_client, caplog
):
    stray = {**payload(alice, "from a newer web process", email=True), "kind": "unheard-of"}
    with caplog.at_level(logging.WARNING, logger="monitio"):
        assert delivery.deliver([stray]) != []
    assert Message.objects.get().kind == "unheard-of"
    assert "not registered in this worker" in caplog.text


def test_email_turned_off_after_queueing_is_not_sent(transactional_db, alice, redis_client, mailoutbox):
    (message_id,) = delivery.deliver([payload(alice, "hi", kind="comment", email=True)])
    preferences.change(alice, {("comment", "email"): False})
    assert emails.send(message_id, attempt="t1") == Message.EmailStatus.OPTED_OUT
    assert mailoutbox == []
    assert Message.objects.get().email_status == Message.EmailStatus.OPTED_OUT



def test_a_grouped_message_of_a_kind_off_in_app_joins_no_group_and_is_not_published(
    transactional_db, alice, redis_client
):
    """Preferences decide grouped messages as they decide the others: off in-app, a
    grouped message is stored as read, outside any group, and announced to nobody."""
    Preference.objects.create(user=alice, kind="comment", channel="inbox", enabled=False)
    delivery.deliver([payload(alice, f"c{n}", kind="comment", group_key="post-1")
                      for n in range(3)])
    rows = Message.objects.filter(user=alice)
    assert rows.count() == 3 and all(row.read for row in rows)
    assert redis_client.keys("monitio-test:u:*") == []


def test_a_new_group_of_a_kind_with_email_off_sends_no_email(
    transactional_db, alice, redis_client
):
    Preference.objects.create(user=alice, kind="comment", channel="email", enabled=False)
    emails = delivery.deliver([payload(alice, f"c{n}", kind="comment", group_key="post-1",
                                       email=True) for n in range(2)])
    [row] = Message.objects.filter(user=alice)
    assert row.group_count == 2
    assert emails == [] and row.email_status == Message.EmailStatus.OPTED_OUT
    assert len(redis_client.keys("monitio-test:u:*")) == 1  # still shown live

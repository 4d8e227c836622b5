"""Inbox rows say who sent a message and when (escaped, translated); the heading
stands apart from the unread count; deleting all read messages looks destructive
and asks first."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone, translation
from django.utils.html import escape

from .helpers import url

EVIL_NAME = '<img src=x onerror="alert(1)">'


def test_inbox_row_shows_the_escaped_sender_and_how_long_ago(
    alice_client, alice, make_message
):
    sender = get_user_model().objects.create_user(EVIL_NAME)  # no validators run
    three_hours_ago = timezone.now() - timedelta(hours=3)
    make_message(alice, "hi", from_user=sender, created=three_hours_ago)
    content = alice_client.get(url("inbox")).content.decode()
    assert f'<span class="monitio-sender">{escape(EVIL_NAME)}</span>' in content
    assert EVIL_NAME not in content
    assert '<time class="monitio-time" datetime="' in content
    assert "3\xa0hours ago</time>" in content


def test_inbox_row_says_how_long_ago_in_polish(alice_client, alice, make_message):
    make_message(alice, "hi")
    with translation.override("pl"):
        content = alice_client.get(url("inbox")).content.decode()
    assert "temu</time>" in content


def test_inbox_heading_and_delete_all_in_polish(alice_client, alice, make_message):
    make_message(alice, "hi")
    with translation.override("pl"):
        content = alice_client.get(url("inbox")).content.decode()
    assert "<h1>Wiadomości</h1>" in content
    assert 'data-monitio-confirm="Usunąć wszystkie przeczytane wiadomości?' in content
    assert 'class="monitio-danger">Usuń wszystkie przeczytane</button>' in content

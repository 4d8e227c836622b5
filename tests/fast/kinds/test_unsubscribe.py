"""One-click unsubscribe: the RFC 8058 headers on a real rendered e-mail, the link in
its body, the POST without cookie or CSRF token, and refusals that change nothing."""

from __future__ import annotations

import email
import email.policy
import logging
import re
import time
from unittest import mock

import pytest
from django.core import checks, signing
from django.test import Client

import monitio
from monitio import delivery, emails, payloads, preferences, unsubscribe
from monitio.models import Message, Preference

DAY = 24 * 3600


def send_one(user, kind="comment", text="hello") -> Message:
    """Deliver a message asking for e-mail, and send the e-mails the worker would."""
    payload = payloads.build(user_id=user.pk, level=monitio.INFO, message=text, kind=kind, email=True)
    for message_id in delivery.deliver([payload]):
        emails.send(message_id, attempt="test")
    return Message.objects.get(pk=payload["id"])


def raw(sent) -> email.message.EmailMessage:
    """The e-mail as its bytes go over SMTP, parsed back."""
    return email.message_from_bytes(sent.message().as_bytes(), policy=email.policy.default)


def link_of(sent) -> str:
    return re.fullmatch(r"<(.+)>", raw(sent)["List-Unsubscribe"].strip()).group(1)  # may be folded


def email_on(user, kind="comment") -> bool:
    return preferences.allows(user.pk, kind, "email")


def mail_provider() -> Client:
    """A mail provider: no session, no cookie, CSRF checks enforced."""
    return Client(enforce_csrf_checks=True)


def test_every_switchable_email_carries_the_one_click_headers_and_the_link(
    transactional_db, alice, redis_client, mailoutbox
):
    send_one(alice)
    (sent,) = mailoutbox
    message = raw(sent)
    assert message.get_all("List-Unsubscribe-Post") == ["List-Unsubscribe=One-Click"]
    assert len(message.get_all("List-Unsubscribe")) == 1
    url = link_of(sent)
    assert re.fullmatch(r"http://testserver/messages/unsubscribe/[^/]+/", url)
    assert unsubscribe.read_token(url.split("/")[-2]) == (str(alice.pk), "comment")
    html = sent.alternatives[0][0]
    assert url in sent.body and f'href="{url}"' in html


def test_kindless_email_carries_the_link_too(transactional_db, alice, redis_client, mailoutbox):
    send_one(alice, kind=None)
    assert unsubscribe.read_token(link_of(mailoutbox[0]).split("/")[-2]) == (str(alice.pk), "default")


def test_a_mandatory_kinds_email_carries_no_link(transactional_db, alice, redis_client, mailoutbox, settings):
    send_one(alice, kind="security")
    settings.MONITIO = {**settings.MONITIO, "DEFAULT_KIND_MANDATORY": True}
    send_one(alice, kind=None)
    for sent in mailoutbox:
        assert raw(sent)["List-Unsubscribe"] is None and raw(sent)["List-Unsubscribe-Post"] is None
        assert "/unsubscribe/" not in sent.body


def test_without_site_url_the_email_goes_without_a_link_and_a_warning_is_logged(
    transactional_db, alice, redis_client, mailoutbox, settings, caplog
):
    settings.MONITIO = {**settings.MONITIO, "SITE_URL": None}
    with caplog.at_level(logging.WARNING, logger="monitio"):
        send_one(alice)
    assert raw(mailoutbox[0])["List-Unsubscribe"] is None
    assert 'set MONITIO["SITE_URL"]' in caplog.text


def test_one_click_post_without_cookie_or_csrf_turns_that_kinds_email_off(
    transactional_db, alice, bob, redis_client, mailoutbox
):
    one_click = mail_provider()
    send_one(alice)
    path = link_of(mailoutbox[0]).removeprefix("http://testserver")
    response = one_click.post(path, "List-Unsubscribe=One-Click",
                              content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200 and not response.cookies
    assert response["Cache-Control"] == "no-store" and response["Referrer-Policy"] == "no-referrer"
    assert not email_on(alice) and email_on(alice, "newsletter") is False  # newsletter: off by default
    assert email_on(alice, "default") and email_on(bob)  # other kinds, other users: unchanged
    # the next e-mail of that kind is not sent; the message is stored all the same
    mailoutbox.clear()
    row = send_one(alice, text="another comment")
    assert mailoutbox == [] and row.email_status == Message.EmailStatus.OPTED_OUT
    # posting again is harmless
    assert one_click.post(path).status_code == 200


def test_the_link_in_the_body_shows_a_confirmation_page_whose_form_posts(
    transactional_db, alice, redis_client, mailoutbox
):
    one_click = mail_provider()
    send_one(alice)
    path = link_of(mailoutbox[0]).removeprefix("http://testserver")
    page = one_click.get(path)
    html = page.content.decode()
    assert page.status_code == 200 and email_on(alice)  # a GET changes nothing
    assert f'<form method="post" action="{path}">' in html
    assert "Comments &lt;b&gt;&amp;amp;&lt;/b&gt;" in html and "<b>" not in html
    assert one_click.post(path).status_code == 200 and not email_on(alice)
    assert "monitio-unsubscribe-done" in one_click.get(path).content.decode()


def forge(token: str) -> str:
    head, _, signature = token.rpartition(":")
    return f"{head}:{signature[:-1]}{'A' if signature[-1] != 'A' else 'B'}"


@pytest.mark.parametrize(
    "make, status",
    [
        (lambda user: forge(unsubscribe.make_token(user.pk, "comment")), 400),
        (lambda user: signing.dumps([str(user.pk), "comment"], salt="another.salt"), 400),
        (lambda user: signing.dumps([str(user.pk), "comment"], salt=unsubscribe.SALT, key="other-key"), 400),
        (lambda user: signing.dumps({"u": user.pk}, salt=unsubscribe.SALT), 400),
        (lambda user: "not-a-token", 400),
        (lambda user: unsubscribe.make_token(987654, "comment"), 404),
        (lambda user: unsubscribe.make_token(user.pk, "unregistered"), 404),
        (lambda user: unsubscribe.make_token(user.pk, "security"), 403),
    ],
)
def test_bad_tokens_and_mandatory_kinds_are_refused_and_change_nothing(alice, make, status):
    one_click = mail_provider()
    path = f"/messages/unsubscribe/{make(alice)}/"
    for method in (one_click.get, one_click.post):
        response = method(path)
        assert response.status_code == status
    assert Preference.objects.count() == 0 and email_on(alice) and email_on(alice, "security")


def test_an_expired_token_is_refused_and_changes_nothing(alice, settings):
    one_click = mail_provider()
    max_age = settings.MONITIO.get("UNSUBSCRIBE_MAX_AGE", 90 * DAY)
    now = time.time()
    with mock.patch("time.time", return_value=now - max_age - 60):
        old = unsubscribe.make_token(alice.pk, "comment")
    with mock.patch("time.time", return_value=now - max_age + 60):
        recent = unsubscribe.make_token(alice.pk, "comment")
    response = one_click.post(f"/messages/unsubscribe/{old}/")
    assert response.status_code == 410 and b"expired" in response.content
    assert email_on(alice)
    assert one_click.post(f"/messages/unsubscribe/{recent}/").status_code == 200
    assert not email_on(alice)


def test_only_the_unsubscribe_view_skips_csrf(alice):
    one_click = mail_provider()
    one_click.force_login(alice)
    assert one_click.post("/messages/preferences/", {"inbox": []}).status_code == 403
    assert one_click.post("/messages/mark_read/all/").status_code == 403


def test_site_url_checks(settings):
    def found(deploy=False):
        return {m.id for m in checks.run_checks(tags=["monitio"], include_deployment_checks=deploy)}

    assert not found(deploy=True) & {"monitio.W007", "monitio.E005"}
    assert "monitio.W008" in found(deploy=True)  # the tests' http://testserver
    settings.MONITIO = {**settings.MONITIO, "SITE_URL": None}
    assert "monitio.W007" in found()
    for bad in ("testserver", "/relative/", "ftp://example.com"):
        settings.MONITIO = {**settings.MONITIO, "SITE_URL": bad}
        assert "monitio.E005" in found()
    settings.MONITIO = {**settings.MONITIO, "SITE_URL": "https://example.com/"}
    assert not found(deploy=True) & {"monitio.W007", "monitio.E005", "monitio.W008"}

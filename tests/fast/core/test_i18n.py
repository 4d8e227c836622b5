"""Messages in the recipient's language: stored as msgid and parameters by an English
caller, rendered in Polish for a Polish recipient in the inbox, the JSON list, the
live event (read back from the real Redis) and the e-mail; parameters escaped; a
broken translation or broken parameters never break a page."""

from __future__ import annotations

import json
import logging
import math

import pytest
from django.contrib.auth import get_user_model
from django.core import checks, mail
from django.http import HttpResponse
from django.test import Client
from django.urls import path, reverse
from django.utils import translation
from django.utils.translation import gettext_lazy

import monitio
from monitio import delivery, emails, i18n, payloads, wire
from monitio.conf import settings as monitio_settings
from monitio.exceptions import InvalidMessage
from monitio.models import Message
from tests import i18n_settings
from tests.waiting import wait_until

COMMENTED = "%(name)s commented on %(title)s"
PARAMS = {"name": "Ana", "title": "Zakopane"}


@pytest.fixture
def i18n_on(settings):
    settings.LOCALE_PATHS = i18n_settings.LOCALE_PATHS
    settings.MONITIO = i18n_settings.MONITIO


@pytest.fixture
def ola(django_user_model):
    return django_user_model.objects.create_user("ola", "ola@example.com", "pw")


@pytest.fixture
def ann(django_user_model):
    return django_user_model.objects.create_user("ann", "ann@example.com", "pw")


def _deliver(user, message, **options) -> Message:
    """Build the payload in an English request, as a caller would; deliver it."""
    with translation.override("en"):
        payload = payloads.build(user_id=user.pk, level=monitio.INFO, message=message, **options)
    delivery.deliver([payload])
    return Message.objects.get(pk=payload["id"])


def _event(redis_client, user) -> dict:
    key = wire.user_stream_key(monitio_settings.KEY_PREFIX, user.pk)
    [(_, fields)] = redis_client.xrange(key)
    assert fields["e"] == wire.MESSAGE
    return json.loads(fields["d"])


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_an_english_callers_message_reaches_a_polish_reader_in_polish(
    transactional_db, redis_client, i18n_on, ola, ann
):
    options = {"message": gettext_lazy(COMMENTED), "subject": gettext_lazy("New comment"),
               "params": PARAMS, "email": True}
    for_ola, for_ann = _deliver(ola, **options), _deliver(ann, **options)
    assert (for_ola.message, for_ola.subject, for_ola.params) == (COMMENTED, "New comment", PARAMS)

    polish, english = "Ana skomentowała wpis Zakopane", "Ana commented on Zakopane"
    event = _event(redis_client, ola)
    assert (event["message"], event["subject"], event["safe"]) == (polish, "Nowy komentarz", False)
    assert _event(redis_client, ann)["message"] == english

    page = _client(ola).get(reverse("monitio:inbox")).content.decode()
    assert polish in page and "Nowy komentarz" in page and english not in page
    assert "Wiadomości" in page  # the page's own words too
    assert english in _client(ann).get(reverse("monitio:inbox")).content.decode()
    detail = _client(ola).get(reverse("monitio:message_detail", args=[for_ola.pk]))
    assert polish in detail.content.decode()
    listed = _client(ola).get(reverse("monitio:message_json")).json()["messages"]
    assert [(m["message"], m["subject"]) for m in listed] == [(polish, "Nowy komentarz")]

    for message in (for_ola, for_ann):
        emails.send(str(message.pk), attempt="t")
    to_ola, to_ann = sorted(mail.outbox, key=lambda m: m.to != ["ola@example.com"])
    link = f"https://app.example.com{reverse('monitio:message_detail', args=[for_ola.pk])}"
    assert to_ola.subject == "Nowy komentarz"
    assert polish in to_ola.body and f"Zobacz ją na stronie: {link}" in to_ola.body
    html = to_ola.alternatives[0][0]
    assert polish in html and f'<a href="{link}">Zobacz ją na stronie</a>' in html
    assert to_ann.subject == "New comment" and english in to_ann.body
    assert "See it on the site: https://app.example.com/" in to_ann.body


def comment(request):
    """A site's view: tells the post's author (ola) that the signed-in user commented."""
    assert translation.get_language() == "en-us"  # the request's language
    author = get_user_model().objects.get(username="ola")
    monitio.add_message(request, monitio.INFO, gettext_lazy(COMMENTED), user=author,
                        params={"name": request.user.get_username(), "title": "Tatry"})
    return HttpResponse("ok")


urlpatterns = [path("comment/", comment)]


def test_a_message_added_in_an_english_request_is_live_in_polish(
    worker, redis_client, i18n_on, settings, ola, ann
):
    settings.ROOT_URLCONF = __name__
    assert _client(ann).get("/comment/").status_code == 200
    key = wire.user_stream_key(monitio_settings.KEY_PREFIX, ola.pk)
    wait_until(lambda: redis_client.xlen(key) == 1, timeout=30, message="the live event")
    assert _event(redis_client, ola)["message"] == "ann skomentowała wpis Tatry"
    stored = Message.objects.get(user=ola)
    assert (stored.message, stored.params) == (COMMENTED, {"name": "ann", "title": "Tatry"})


def test_a_job_s_create_message_delay_keeps_the_msgid_and_params(worker, redis_client, i18n_on, ola):
    with translation.override("en"):
        monitio.create_message.delay(ola.pk, monitio.INFO, gettext_lazy(COMMENTED), params=PARAMS)
    key = wire.user_stream_key(monitio_settings.KEY_PREFIX, ola.pk)
    wait_until(lambda: redis_client.xlen(key) == 1, timeout=30, message="the live event")
    assert _event(redis_client, ola)["message"] == "Ana skomentowała wpis Zakopane"
    assert Message.objects.get(user=ola).params == PARAMS


def test_without_user_language_messages_render_in_language_code(
    transactional_db, redis_client, settings, ola
):
    settings.LOCALE_PATHS = i18n_settings.LOCALE_PATHS
    settings.LANGUAGE_CODE = "pl"
    message = _deliver(ola, gettext_lazy(COMMENTED), params=PARAMS)
    assert _event(redis_client, ola)["message"] == "Ana skomentowała wpis Zakopane"
    assert message.params == PARAMS and message.message == COMMENTED


def test_parameters_are_escaped_wherever_they_are_shown(
    transactional_db, redis_client, i18n_on, ola
):
    script = "<script>alert(1)</script>"
    message = _deliver(ola, gettext_lazy(COMMENTED), params={"name": script, "title": "<b>x</b>"},
                       email=True)
    assert _event(redis_client, ola)["safe"] is False
    for page in (
        _client(ola).get(reverse("monitio:inbox")).content.decode(),
        _client(ola).get(reverse("monitio:message_detail", args=[message.pk])).content.decode(),
    ):
        assert "&lt;script&gt;alert(1)&lt;/script&gt; skomentowała wpis &lt;b&gt;x&lt;/b&gt;" in page
        assert script not in page and "<b>x</b>" not in page
    emails.send(str(message.pk), attempt="t")
    html = mail.outbox[0].alternatives[0][0]
    assert "&lt;script&gt;" in html and script not in html


def test_a_translation_that_does_not_fit_its_parameters_shows_the_msgid(
    transactional_db, redis_client, i18n_on, ola, caplog
):
    with caplog.at_level(logging.WARNING, logger="monitio"):
        _deliver(ola, gettext_lazy("%(name)s liked your post"), params={"name": "Ana"})
        page = _client(ola).get(reverse("monitio:inbox"))
    assert _event(redis_client, ola)["message"] == "Ana liked your post"
    assert "Ana liked your post" in page.content.decode()
    assert "does not fit its parameters" in caplog.text


def test_broken_stored_parameters_never_break_rendering(transactional_db, i18n_on, ola, caplog):
    """A row made or edited by hand whose parameters miss a name: the raw msgid."""
    row = Message.objects.create(user=ola, level=monitio.INFO, message=COMMENTED,
                                 subject="%(x)d", params={"name": "Ana"})
    with caplog.at_level(logging.WARNING, logger="monitio"):
        assert (row.text, row.subject_text) == (COMMENTED, "%(x)d")
        page = _client(ola).get(reverse("monitio:inbox"))
    assert page.status_code == 200 and "commented on" in page.content.decode()
    assert caplog.text.count("does not fit its parameters") >= 2


@pytest.mark.parametrize(
    "params,error",
    [
        (["Ana"], "params must be a dict"),
        ({1: "Ana"}, "params must be a dict"),
        ({"name": ["Ana"], "title": "t"}, "must be a str, a number"),
        ({"name": math.nan, "title": "t"}, "finite"),
        ({"name": "A\x00na", "title": "t"}, "NUL"),
        ({"name": "Ana"}, "do not fit"),
        ({"name": "Ana", "title": "x" * 10_000}, "maximum is 10000"),
    ],
)
def test_bad_parameters_are_refused_in_the_caller(params, error):
    with pytest.raises(InvalidMessage, match=error):
        payloads.build(user_id=1, level=monitio.INFO, message=gettext_lazy(COMMENTED), params=params)


def test_plain_texts_stay_plain():
    plain = payloads.build(user_id=1, level=monitio.INFO, message="100% done")
    assert plain["params"] is None and plain["message"] == "100% done"
    mixed = payloads.build(user_id=1, level=monitio.INFO, message=gettext_lazy(COMMENTED),
                           subject="50% off", params=PARAMS)
    assert mixed["subject"] == "50%% off"
    row = Message(message=mixed["message"], subject=mixed["subject"], params=mixed["params"])
    assert (row.text, row.subject_text) == ("Ana commented on Zakopane", "50% off")
    # No parameters: nothing is interpolated, a % stays as written.
    assert Message(message="100% done", params={}).text == "100% done"
    # gettext_noop-style: a str and params is a translatable message too.
    assert payloads.build(user_id=1, level=monitio.INFO, message=COMMENTED, params=PARAMS)["params"] == PARAMS


def test_the_stored_payload_is_checked_again_in_the_worker(transactional_db, redis_client, ola):
    payload = payloads.build(user_id=ola.pk, level=monitio.INFO, message=gettext_lazy(COMMENTED),
                             params=PARAMS)
    payload["params"] = {"name": "Ana"}  # edited by hand after the caller checked it
    with pytest.raises(delivery.MessageRejected):
        delivery.deliver([payload])
    assert not Message.objects.exists()


def test_user_language_sources(settings, db, ola, caplog):
    settings.MONITIO = {**settings.MONITIO, "USER_LANGUAGE": "first_name"}
    ola.first_name = "pl"
    assert i18n.user_language(ola) == "pl"
    ola.first_name = "pl-PL"  # a variant Django knows by its base language
    assert i18n.user_language(ola) == "pl"
    ola.first_name = "xx"
    with caplog.at_level(logging.WARNING, logger="monitio"):
        assert i18n.user_language(ola) == settings.LANGUAGE_CODE
    assert "not in LANGUAGES" in caplog.text
    settings.MONITIO = {**settings.MONITIO, "USER_LANGUAGE": "tests.fast.core.test_i18n.raising"}
    with caplog.at_level(logging.ERROR, logger="monitio"):
        assert i18n.user_language(ola) == settings.LANGUAGE_CODE
    assert "USER_LANGUAGE" in caplog.text


def raising(user):
    raise RuntimeError("no profile")


def test_languages_of_a_batch_take_one_query(
    transactional_db, i18n_on, ola, ann, django_assert_num_queries
):
    with django_assert_num_queries(1):
        assert i18n.user_languages({ola.pk, ann.pk}) == {ola.pk: "pl", ann.pk: "en"}


@pytest.mark.parametrize(
    "value,found",
    [("https://app.example.com", set()), ("http://localhost:8000/", set()),
     ("app.example.com", {"monitio.E005"}), ("https://app.example.com/x", {"monitio.E005"}),
     ("ftp://host", {"monitio.E005"}), (None, {"monitio.W007"})],
)
def test_site_url_check(settings, value, found):
    settings.MONITIO = {**settings.MONITIO, "SITE_URL": value}
    ids = {m.id for m in checks.run_checks(tags=["monitio"])}
    assert ids & {"monitio.E005", "monitio.W007"} == found


def test_a_sites_tests_see_the_msgid_and_params_of_what_it_queued(transactional_db, ola):
    from monitio.testing import capture_messages

    with capture_messages() as outbox:
        monitio.create_message(ola, monitio.INFO, gettext_lazy(COMMENTED), params=PARAMS)
        monitio.create_message.delay(ola.pk, monitio.INFO, gettext_lazy(COMMENTED), params=PARAMS)
    assert [(m.message, m.params) for m in outbox.to(ola)] == [(COMMENTED, PARAMS)] * 2

"""The storage backend: Django's behaviour where it applies, persistence where asked."""

import base64
import datetime
import json

import pytest
from django.contrib.messages import constants as django_levels
from django.db import connection
from django.test import Client, override_settings
from django.utils import timezone

import monitio
from monitio import delivery
from monitio.models import Message
from tests.celery_app import app as celery_app
from tests.waiting import wait_until


def shown(response) -> list[str]:
    body = response.content.decode()
    return [part.split(">", 1)[1] for part in body.split("</li>")[:-1]]


def counts(response) -> str:
    return response.content.decode().split('<p id=counts>')[1].split("</p>")[0]


def broker_queue_length(broker_client) -> int:
    return broker_client.llen("celery")


# -- anonymous users: exactly Django --------------------------------------------


@pytest.mark.parametrize("level", [django_levels.INFO, monitio.DEBUG])
def test_anonymous_plain_message_is_shown_once_like_django(client, broker_client, level):
    response = client.get(f"/add/?level={level}&api=django&text=anon", follow=True)
    assert shown(response) == ["anon 0"]
    assert shown(client.get("/page/")) == []
    assert broker_queue_length(broker_client) == 0


def test_anonymous_cookie_holds_the_message(client, db):
    client.get(f"/add/?level={django_levels.WARNING}&api=django&text=cookie")
    assert "messages" in client.cookies


# -- authenticated, non-persistent ------------------------------------------------


def test_plain_message_to_self_uses_django_storage_and_no_task(alice_client, broker_client):
    response = alice_client.get(f"/add/?level={django_levels.SUCCESS}&text=plain", follow=True)
    assert shown(response) == ["plain 0"]
    assert 'class="success"' in response.content.decode()
    assert shown(alice_client.get("/page/")) == []
    assert Message.objects.count() == 0
    assert broker_queue_length(broker_client) == 0


def test_nonpersistent_message_to_another_user_reaches_them_once(worker, alice, bob, redis_client):
    monitio.create_message(bob, django_levels.INFO, "for bob once", from_user=alice)
    wait_until(lambda: Message.objects.filter(user=bob).exists())
    client = Client()
    client.force_login(bob)
    assert shown(client.get("/page/")) == ["for bob once"]
    assert shown(client.get("/page/")) == []
    assert not Message.objects.filter(user=bob).exists()


# -- persistent lifecycle -----------------------------------------------------------


def test_persistent_message_stays_until_read(worker, alice, alice_client):
    response = alice_client.get(f"/add/?level={monitio.WARNING}&text=keep", follow=True)
    assert shown(response) == ["keep 0"]
    wait_until(lambda: Message.objects.filter(user=alice).exists())
    for _ in range(2):
        assert shown(alice_client.get("/page/")) == ["keep 0"]
    message = Message.objects.get(user=alice)
    assert message.is_persistent() and message.level == monitio.WARNING and not message.read
    monitio.state.mark_read(alice, [message.pk])
    assert shown(alice_client.get("/page/")) == []
    with override_settings(MONITIO={**_monitio_settings(), "EXCLUDE_READ": False}):
        assert shown(alice_client.get("/page/")) == ["keep 0"]
    with override_settings(MONITIO_EXCLUDE_READ=False):  # the original's setting name
        assert shown(alice_client.get("/page/")) == ["keep 0"]


def _monitio_settings():
    from django.conf import settings

    return settings.MONITIO


def test_django_api_with_monitio_level_is_persistent(worker, alice, alice_client):
    alice_client.get(f"/add/?level={monitio.ERROR}&api=django&text=via django")
    row = wait_until(lambda: Message.objects.filter(user=alice).first())
    assert row.message == "via django 0" and row.level == monitio.ERROR and row.tags == "error"


def test_persistent_messages_come_in_order(worker, alice, alice_client):
    alice_client.get(f"/add/?level={monitio.INFO}&text=m&n=5")
    wait_until(lambda: Message.objects.filter(user=alice).count() == 5)
    assert shown(alice_client.get("/page/")) == [f"m {i}" for i in range(5)]


# -- the redirect race ----------------------------------------------------------------


def test_message_rendered_before_the_worker_wrote_it_is_neither_lost_nor_doubled(
    transactional_db, alice, alice_client, broker_client, redis_client
):
    from celery.contrib.testing.worker import start_worker

    alice_client.get(f"/add/?level={monitio.INFO}&text=racy&n=2")
    assert Message.objects.count() == 0  # no worker yet: the row does not exist
    assert shown(alice_client.get("/page/")) == ["racy 0", "racy 1"]
    assert counts(alice_client.get("/page/")) == "2/2/0"
    with start_worker(celery_app, pool="threads", perform_ping_check=False):
        wait_until(lambda: Message.objects.count() == 2)
    response = alice_client.get("/page/")
    assert shown(response) == ["racy 0", "racy 1"]
    assert response.cookies["monitio_pending"].value == ""  # the carry is dropped
    assert "_monitio_pending" not in alice_client.session


def test_carried_message_expires(transactional_db, alice, alice_client, broker_client):
    alice_client.get(f"/add/?level={monitio.INFO}&text=lost")
    with override_settings(MONITIO={**_monitio_settings(), "PENDING_CARRY_SECONDS": 0}):
        assert shown(alice_client.get("/page/")) == []


# -- batching: one broker round trip per request -------------------------------------


def test_ten_messages_in_one_request_are_one_broker_message(transactional_db, alice_client, broker_client):
    alice_client.get(f"/add/?level={monitio.INFO}&n=10")
    assert broker_queue_length(broker_client) == 1
    body = json.loads(broker_client.lindex("celery", 0))
    assert body["headers"]["task"] == "monitio_tasks.deliver"
    assert body["content-type"] == "application/json"


def test_rolled_back_messages_are_never_sent(transactional_db, alice_client, broker_client, redis_client):
    """R1: no side effect before commit."""
    alice_client.get("/add-then-fail/?n=1000")
    from django.core import mail

    rows, tasks, events = Message.objects.count(), broker_queue_length(broker_client), redis_client.dbsize()
    emails = len(mail.outbox)
    print(f"R1 attempts=1000 rows={rows} tasks={tasks} redis_keys={events} emails={emails}")
    assert (rows, tasks, events, emails) == (0, 0, 0, 0)


def test_committed_messages_are_all_enqueued(alice, broker_client, django_capture_on_commit_callbacks):
    """R2: committed implies enqueued."""
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        for i in range(1000):
            monitio.create_message(alice, monitio.INFO, f"n{i}")
    enqueued = broker_queue_length(broker_client)
    print(f"R2 committed=1000 callbacks={len(callbacks)} enqueued={enqueued}")
    assert enqueued == 1000


# -- counts and expiry -----------------------------------------------------------------


def make_rows(user, n, level=monitio.INFO, **fields):
    return Message.objects.bulk_create(
        Message(user=user, level=level, message=f"row {i}", **fields) for i in range(n)
    )


@pytest.mark.parametrize("n", [1, 50])
def test_counting_costs_the_same_queries_however_many_messages(alice, alice_client, django_assert_max_num_queries, n):
    make_rows(alice, n)
    make_rows(alice, n, level=django_levels.INFO)
    make_rows(alice, n, read=True)
    from django.test import RequestFactory

    from monitio.storage import PersistentMessageStorage

    request = RequestFactory().get("/")
    request.user, request.session = alice, {}
    storage = PersistentMessageStorage(request)
    with django_assert_max_num_queries(1):
        storage_counts = (storage.count_persistent_unread(), storage.count_nonpersistent(), storage.count_unread())
    assert storage_counts == (n, n, 2 * n)


def test_expired_messages_are_never_shown_or_counted(alice, alice_client):
    past = timezone.now() - datetime.timedelta(seconds=1)
    future = timezone.now() + datetime.timedelta(hours=1)
    make_rows(alice, 2, expires=past)
    make_rows(alice, 1, expires=future)
    response = alice_client.get("/page/")
    assert shown(response) == ["row 0"]
    assert counts(response) == "1/1/0"


def test_extra_methods(alice, bob):
    from django.test import RequestFactory

    from monitio.storage import PersistentMessageStorage

    make_rows(alice, 2)
    make_rows(alice, 1, read=True)
    make_rows(alice, 3, level=django_levels.INFO)
    make_rows(bob, 4)
    request = RequestFactory().get("/")
    request.user, request.session = alice, {}
    storage = PersistentMessageStorage(request)
    assert len(storage.get_persistent()) == 3
    assert len(storage.get_persistent_unread()) == 2
    assert storage.count_nonpersistent() == 3
    assert len(storage.get_nonpersistent()) == 3
    assert storage.used


def task_body(raw: bytes) -> list:
    """``(args, kwargs, embed)`` of a task message as it lies in the Redis broker."""
    return json.loads(base64.b64decode(json.loads(raw)["body"]))


def _queued_payloads(broker_client) -> list[dict]:
    """The payloads of the one ``deliver`` task a request put on the broker."""
    (raw,) = broker_client.lrange("celery", 0, -1)
    args, _kwargs, _embed = task_body(raw)
    return args[0]


@pytest.mark.parametrize("after_query", [1, 2, 3])
def test_a_row_written_while_the_page_renders_is_shown_and_counted_once(
    transactional_db, alice, alice_client, broker_client, redis_client, after_query
):
    """The worker stores the message between any two of the page's queries."""
    alice_client.get(f"/add/?level={monitio.INFO}&text=racy")
    batch = _queued_payloads(broker_client)
    seen = []

    def worker_writes_meanwhile(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if "monitio_message" in sql and len(seen) < after_query:
            seen.append(sql)
            if len(seen) == after_query:
                delivery.deliver(batch)
        return result

    with connection.execute_wrapper(worker_writes_meanwhile):
        response = alice_client.get("/page/")
    assert len(seen) == after_query  # the page did query that often
    assert Message.objects.filter(user=alice).count() == 1
    assert shown(response) == ["racy 0"]
    assert counts(response) == "1/1/0"


# -- level tags ---------------------------------------------------------------------

DJANGO_DEFAULT_TAGS = {10: "debug", 20: "info", 25: "success", 30: "warning", 40: "error"}


@override_settings(MESSAGE_TAGS={})
def test_djangos_level_tags_are_left_alone():
    """monitio's tags are its own: Django's shared dict, and so every stock message at
    a level of 110-140 on a site whose MESSAGE_TAGS does not name them, stays as
    Django has it."""
    from django.contrib.messages import constants as django_constants
    from django.contrib.messages.storage.base import Message as DjangoMessage
    from django.contrib.messages.utils import get_level_tags

    assert django_constants.DEFAULT_TAGS == DJANGO_DEFAULT_TAGS
    assert not set(get_level_tags()) & set(monitio.constants.DEFAULT_TAGS)
    assert DjangoMessage(monitio.INFO, "a level of the site's own").level_tag == ""


def test_monitios_message_tags_for_a_sites_settings():
    from django.conf import settings

    assert monitio.MESSAGE_TAGS == monitio.constants.DEFAULT_TAGS
    assert monitio.MESSAGE_TAGS is not monitio.constants.DEFAULT_TAGS
    assert settings.MESSAGE_TAGS == monitio.MESSAGE_TAGS  # as the README tells a site


@override_settings(MESSAGE_TAGS={monitio.WARNING: "site-warning", 115: "notice"})
def test_the_sites_message_tags_win_over_monitios():
    assert Message(level=monitio.WARNING).tags == "site-warning"
    assert Message(level=115).tags == "notice"
    assert Message(level=monitio.ERROR, extra_tags="x").tags == "x error"


@pytest.mark.parametrize("login", [True, False])
def test_plain_message_at_monitio_debug_is_tagged_debug(client, alice, broker_client, login):
    """monitio.DEBUG stays in Django's cookie storage; Django tags it, from the
    MESSAGE_TAGS the README gives a site (the test settings have it)."""
    if login:
        client.force_login(alice)
    after_redirect = client.get(f"/add/?level={monitio.DEBUG}&api=django", follow=True)
    assert 'class="debug"' in after_redirect.content.decode()


def _request(rf, user):
    from django.contrib.sessions.backends.signed_cookies import SessionStore

    from monitio.storage import PersistentMessageStorage

    request = rf.get("/")
    request.user, request.session = user, SessionStore()
    request._messages = PersistentMessageStorage(request)
    return request


def test_a_message_shown_in_the_request_that_added_it_is_tagged_by_message_tags(
    rf, alice, django_capture_on_commit_callbacks
):
    """It is Django's own Message: tagged by MESSAGE_TAGS, so with no tag for
    monitio's levels on a site whose MESSAGE_TAGS does not name them (monitio.W012)."""
    from django.contrib import messages
    from django.contrib.auth.models import AnonymousUser

    for user in (alice, AnonymousUser()):
        request = _request(rf, user)
        messages.add_message(request, monitio.DEBUG, "now", extra_tags="x")
        assert [m.tags for m in messages.get_messages(request)] == ["x debug"]
    for tags, expected in (({**monitio.MESSAGE_TAGS}, "x warning"), ({}, "x")):
        with override_settings(MESSAGE_TAGS=tags), django_capture_on_commit_callbacks():
            request = _request(rf, alice)
            monitio.add_message(request, monitio.WARNING, "now", extra_tags="x")
            assert [m.tags for m in messages.get_messages(request)] == [expected]


# -- Django's storage contract (issue 17) -----------------------------------------------


@pytest.mark.parametrize("accelerated", [False, True])
def test_a_request_that_adds_and_shows_nothing_reads_rows_only_without_the_accelerator(
    transactional_db, alice_client, broker_client, settings, accelerated
):
    """Django re-stores ``_get``'s messages with the new ones: on the contract alone,
    ``_get`` asks its rows query (the rows are not kept: the database has them); the
    Django accelerator skips it. Nothing is written either way."""
    from django.test.utils import CaptureQueriesContext

    settings.MONITIO = {**settings.MONITIO, "ACCELERATORS": {"django": accelerated}}
    alice_client.get("/page/")
    with CaptureQueriesContext(connection) as queries:
        alice_client.get(f"/add/?level={monitio.INFO}&text=x")
    asked = [q["sql"] for q in queries if "monitio_message" in q["sql"]]
    if accelerated:
        assert asked == []
    else:
        assert len(asked) == 1 and asked[0].startswith("SELECT"), asked
    assert broker_queue_length(broker_client) == 1


def test_with_the_accelerator_what_the_request_added_is_still_carried_and_kept(
    transactional_db, alice, rf, broker_client, settings
):
    """The accelerator changes what ``_get`` is asked, not what is kept: a plain
    message from an earlier request stays in the cookie, the new persistent one is
    carried to the next page, and both show there."""
    from django.contrib import messages
    from django.http import HttpResponse

    settings.MONITIO = {**settings.MONITIO, "ACCELERATORS": {"django": True}}
    first = _request(rf, alice)
    messages.add_message(first, messages.INFO, "plain earlier")
    response = HttpResponse()
    first._messages.update(response)
    second = _stored(rf, first, response, alice)
    monitio.add_message(second, monitio.INFO, "persistent now")
    response = HttpResponse()
    second._messages.update(response)
    third = _stored(rf, second, response, alice)
    assert [m.message for m in messages.get_messages(third)] == ["persistent now", "plain earlier"]


def _cookie(response, name):
    morsel = response.cookies.get(name)
    return morsel.value if morsel is not None else ""


def _stored(rf, request, response, user):
    """A request of ``user``'s after ``response``: its cookies sent back."""
    from monitio import carry

    after = _request(rf, user)
    for name in ("messages", carry.COOKIE_NAME):
        if _cookie(response, name):
            after.COOKIES[name] = _cookie(response, name)
    return after


def test_djangos_api_at_a_persistent_level_is_sent_once_and_carried(
    transactional_db, rf, alice, broker_client
):
    from django.contrib import messages
    from django.http import HttpResponse

    from monitio import carry

    request = _request(rf, alice)
    messages.add_message(request, monitio.WARNING, "later", extra_tags="x")
    response = HttpResponse()
    request._messages.update(response)  # a redirect: nothing was shown
    [payload] = _queued_payloads(broker_client)
    assert (payload["message"], payload["level"], payload["extra_tags"]) == ("later", monitio.WARNING, "x")
    assert _cookie(response, carry.COOKIE_NAME)  # carried to the next page
    assert not _cookie(response, "messages")  # not in Django's cookie as well
    [row] = list(messages.get_messages(_stored(rf, request, response, alice)))
    assert isinstance(row, Message) and str(row.pk) == payload["id"] and row.tags == "x warning"


def test_djangos_api_at_a_persistent_level_shown_in_the_same_request_is_shown_once(
    transactional_db, rf, alice, broker_client
):
    """Django hands ``_store`` only what was not shown, and says nothing when it shows:
    such a message is shown that once and never persisted (the README says so)."""
    from django.contrib import messages
    from django.http import HttpResponse

    request = _request(rf, alice)
    messages.add_message(request, monitio.WARNING, "now")
    assert [m.message for m in messages.get_messages(request)] == ["now"]
    response = HttpResponse()
    request._messages.update(response)
    assert broker_queue_length(broker_client) == 0
    assert not _cookie(response, "messages")
    assert list(messages.get_messages(_stored(rf, request, response, alice))) == []


def test_monitios_api_shown_in_the_same_request_is_sent_once_and_carried(
    transactional_db, rf, alice, broker_client
):
    from django.contrib import messages
    from django.http import HttpResponse

    from monitio import carry

    request = _request(rf, alice)
    message_id = monitio.add_message(request, monitio.WARNING, "now", extra_tags="x")
    [shown_now] = list(messages.get_messages(request))
    assert (shown_now.message, shown_now.tags) == ("now", "x warning")
    response = HttpResponse()
    request._messages.update(response)
    [payload] = _queued_payloads(broker_client)
    assert payload["id"] == str(message_id)
    assert _cookie(response, carry.COOKIE_NAME) and not _cookie(response, "messages")
    [carried] = list(messages.get_messages(_stored(rf, request, response, alice)))
    assert carried.pk == message_id


def test_the_same_text_from_both_apis_is_sent_twice(transactional_db, rf, alice, broker_client):
    """``_store`` tells the message monitio sent from Django's own one by level, text
    and tags, one for one: two alike messages are two messages."""
    from django.contrib import messages
    from django.http import HttpResponse

    request = _request(rf, alice)
    monitio.add_message(request, monitio.INFO, "twice")
    messages.add_message(request, monitio.INFO, "twice")
    request._messages.update(HttpResponse())
    assert [p["message"] for p in _queued_payloads(broker_client)] == ["twice", "twice"]


def test_a_grouped_message_kept_by_django_is_not_sent_again(transactional_db, rf, alice, broker_client):
    """A grouped message to oneself is not carried: Django's cookie keeps it, at its
    persistent level. A later request that adds a message and shows none has Django
    store it again: it came from ``_get``, so it is not a new one to send."""
    from django.contrib import messages
    from django.http import HttpResponse

    request = _request(rf, alice)
    monitio.add_message(request, monitio.INFO, "grouped", group_key="k")
    first = HttpResponse()
    request._messages.update(first)
    assert _cookie(first, "messages")
    later = _stored(rf, request, first, alice)
    messages.add_message(later, django_levels.INFO, "plain")
    second = HttpResponse()
    later._messages.update(second)
    assert [p["message"] for p in _queued_payloads(broker_client)] == ["grouped"]
    shown_next = list(messages.get_messages(_stored(rf, later, second, alice)))
    assert [(m.level, m.message) for m in shown_next] == [(monitio.INFO, "grouped"), (django_levels.INFO, "plain")]


def test_the_same_text_from_both_apis_around_a_showing_is_sent_twice(transactional_db, rf, alice, broker_client):
    """The page showed monitio's message: Django's alike one, added after, is another."""
    from django.contrib import messages
    from django.http import HttpResponse

    request = _request(rf, alice)
    monitio.add_message(request, monitio.INFO, "twice")
    assert [m.message for m in messages.get_messages(request)] == ["twice"]
    messages.add_message(request, monitio.INFO, "twice")
    response = HttpResponse()
    request._messages.update(response)
    assert [p["message"] for p in _queued_payloads(broker_client)] == ["twice", "twice"]
    assert not _cookie(response, "messages")
    assert [m.message for m in messages.get_messages(_stored(rf, request, response, alice))] == ["twice", "twice"]

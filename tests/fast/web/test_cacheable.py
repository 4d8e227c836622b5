"""A page that does not use messages is cached exactly as under stock Django.

Django's message storage touches neither the session nor the response of a request
that neither read nor added a message; monitio's must not either: no ``Vary: Cookie``,
no cookie set, no query, even when the request carries a session cookie and a carry
cookie.
"""

from __future__ import annotations

import pytest
from django.contrib import messages
from django.db import connection
from django.http import HttpResponse
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import include, path
from django.utils.cache import has_vary_header

import monitio
from monitio import carry

STOCK = "django.contrib.messages.storage.fallback.FallbackStorage"


def plain(request):
    """Touches neither messages, nor the user, nor the session."""
    return HttpResponse("the same for everyone")


def per_user(request):
    """Reads the user, so the session, but not messages."""
    return HttpResponse(f"hello {request.user.get_username()}")


def show(request):
    return HttpResponse(" | ".join(str(m) for m in messages.get_messages(request)))


urlpatterns = [
    path("plain/", plain),
    path("per-user/", per_user),
    path("show/", show),
    path("", include("tests.testapp_urls")),
]

pytestmark = pytest.mark.urls(__name__)


def _get(client, page: str) -> tuple[dict[str, str], list[str], int]:
    """The response's headers, the cookies it sets and the queries it ran."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(page)
    assert response.status_code == 200
    return dict(response.headers), sorted(response.cookies), len(queries)


@pytest.fixture
def carrying_client(transactional_db, alice, alice_client, broker_client):
    """Alice's browser after a request queued a persistent message (no worker runs,
    so the message stays in the carry cookie)."""
    alice_client.get(f"/add/?level={monitio.INFO}&text=carried")
    assert alice_client.cookies[carry.COOKIE_NAME].value
    return alice_client


@pytest.fixture
def anonymous_session_client(db, client):
    """A visitor who is not logged in but has a session (a basket, say)."""
    session = client.session
    session["basket"] = [7]
    session.save()
    client.cookies["sessionid"] = session.session_key
    return client


@pytest.mark.parametrize("page", ["/plain/", "/per-user/"])
@pytest.mark.parametrize("browser", ["carrying_client", "anonymous_session_client"])
def test_a_page_without_messages_is_as_under_stock_django(request, browser, page):
    client = request.getfixturevalue(browser)
    with override_settings(MESSAGE_STORAGE=STOCK):
        stock = _get(client, page)
    ours = _get(client, page)
    assert ours == stock


@pytest.mark.parametrize("browser", ["carrying_client", "anonymous_session_client"])
def test_a_page_without_messages_runs_no_query_and_does_not_vary_on_cookie(
    request, browser, django_assert_num_queries
):
    client = request.getfixturevalue(browser)
    assert client.cookies["sessionid"].value
    with django_assert_num_queries(0):
        response = client.get("/plain/")
    assert not has_vary_header(response, "Cookie")
    assert not response.cookies


def test_a_page_that_uses_messages_still_shows_the_carried_one(carrying_client):
    carrying_client.get("/plain/")
    carrying_client.get("/per-user/")
    response = carrying_client.get("/show/")
    assert response.content.decode() == "carried 0"
    assert has_vary_header(response, "Cookie")

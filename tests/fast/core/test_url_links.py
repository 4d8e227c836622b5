"""A message's ``url`` is linked only as a path on this site (issue 16, item 6).

The caller refuses other urls (tests/fast/core/test_validation.py); a row stored before
that check, or edited in the admin, must still never link off-site.
"""

import re

import pytest
from django.urls import reverse

import monitio
from monitio.models import Message


def detail_link(client, user, url: str) -> str | None:
    row = Message.objects.create(user=user, level=monitio.INFO, message="hi", url=url)
    page = client.get(reverse("monitio:message_detail", args=[row.pk])).content.decode()
    found = re.search(r'class="monitio-link" href="([^"]*)"', page)
    return found and found.group(1)


@pytest.mark.parametrize(
    "url", ["//evil.example/", "https://evil.example/", "javascript:alert(1)", " //evil.example/"]
)
def test_detail_page_does_not_link_another_site(alice_client, alice, url):
    assert detail_link(alice_client, alice, url) is None


@pytest.mark.parametrize(
    "url, href",
    [
        ("/\\evil.example/", "/%5Cevil.example/"),
        ("/\t/evil.example/", "/%09/evil.example/"),
        ("/\n/evil.example/", "/%0A/evil.example/"),
    ],
)
def test_detail_page_links_what_a_browser_would_strip_as_a_path(alice_client, alice, url, href):
    """A browser drops tabs and newlines and reads ``\\`` as ``/``: encoded, they stay
    part of a path on this site."""
    assert detail_link(alice_client, alice, url) == href


@pytest.mark.parametrize("url", ["/", "/orders/12/?tab=items&amp;x=1"])
def test_detail_page_links_a_path_on_this_site(alice_client, alice, url):
    assert detail_link(alice_client, alice, url.replace("&amp;", "&")) == url

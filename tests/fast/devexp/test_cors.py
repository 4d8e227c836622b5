"""A front end on another origin calling monitio's Django endpoints (the JSON list,
the unread count, the stream credential) with django-cors-headers, configured as the
README's "A front end on another origin" says."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings
from django.urls import reverse

APP = "https://app.example.com"
CROSS_ORIGIN = override_settings(
    CORS_ALLOWED_ORIGINS=[APP],
    CORS_ALLOW_CREDENTIALS=True,
    CORS_URLS_REGEX=r"^/messages/",
    CSRF_TRUSTED_ORIGINS=[APP],
    ALLOWED_HOSTS=["api.example.com", "testserver"],
)


@pytest.fixture
def client_of(django_user_model):
    user = django_user_model.objects.create_user("cors-user", password="pw")
    client = Client(enforce_csrf_checks=True, HTTP_HOST="api.example.com")
    client.force_login(user)
    return client


@CROSS_ORIGIN
@pytest.mark.django_db
def test_a_listed_origin_reads_the_json_with_credentials(client_of):
    response = client_of.get(reverse("monitio:message_unread_count"), HTTP_ORIGIN=APP)
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == APP
    assert response["Access-Control-Allow-Credentials"] == "true"
    assert "origin" in response["Vary"].lower()


@CROSS_ORIGIN
@pytest.mark.django_db
def test_another_origin_gets_no_cors_headers(client_of):
    response = client_of.get(reverse("monitio:message_json"), HTTP_ORIGIN="https://evil.example")
    assert "Access-Control-Allow-Origin" not in response


@CROSS_ORIGIN
@pytest.mark.django_db
def test_the_stream_credential_preflight_and_post_from_the_listed_origin(client_of):
    url = reverse("monitio:persistent-messages-sse")
    preflight = client_of.options(
        url, HTTP_ORIGIN=APP, HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="x-csrftoken",
    )
    assert preflight.status_code == 200
    assert preflight["Access-Control-Allow-Origin"] == APP
    assert "x-csrftoken" in preflight["Access-Control-Allow-Headers"]
    csrf = "a" * 32  # the front end read it from the csrftoken cookie
    client_of.cookies["csrftoken"] = csrf
    response = client_of.post(url, HTTP_ORIGIN=APP, HTTP_X_CSRFTOKEN=csrf, secure=True)
    assert response.status_code == 200, response.content
    assert response["Access-Control-Allow-Origin"] == APP
    assert "monitio_stream" in response.cookies

"""The browser tests' site: monitio's URLs and one page with the live client."""

from django.contrib.staticfiles.views import serve
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import include, path, re_path


def page(request: HttpRequest) -> HttpResponse:
    theme = request.GET.get("theme", "default")
    response = render(request, "gateway/page.html", {"monitio_theme": theme})
    response["Content-Security-Policy"] = (
        "default-src 'self'; script-src 'self'; style-src 'self'; object-src 'none'"
    )
    return response


urlpatterns = [
    path("messages/", include("monitio.urls")),
    path("page/", page),
    re_path(r"^static/(?P<path>.*)$", serve, {"insecure": True}),
]

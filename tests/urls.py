from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("messages/", include("monitio.urls")),
    path("", include("tests.testapp_urls")),
]

"""The example site's URLs: its own pages, login/logout, and monitio's inbox."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.staticfiles.urls import staticfiles_urlpatterns
from django.urls import include, path

from example.demo import views

urlpatterns = [
    path("", views.home, name="home"),
    path("send/", views.send, name="send"),
    path("job/", views.start_job, name="start_job"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("messages/", include("monitio.urls")),
    path("admin/", admin.site.urls),
]

# Static files from the apps when DEBUG is on (gunicorn in development); in
# production nginx serves STATIC_ROOT and this adds nothing.
urlpatterns += staticfiles_urlpatterns()

"""monitio's URLs; include them under ``messages/`` with the ``monitio`` namespace.

The bundled JavaScript expects the ``messages/`` prefix, as the original's did.
"""

from django.urls import path, re_path
from django.views.i18n import JavaScriptCatalog

from . import preference_views, stream, unsubscribe, views

app_name = "monitio"

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("<uuid:message_id>/", views.message_detail, name="message_detail"),
    path("mark_read/all/", views.mark_all_read, name="message_mark_all_read"),
    path("mark_read/<uuid:message_id>/", views.mark_read, name="message_mark_read"),
    path(
        "mark_unread/<uuid:message_id>/", views.mark_unread, name="message_mark_unread"
    ),
    path("delete/all/", views.delete_all_read, name="message_delete_all"),
    path("delete/message/<uuid:message_id>/", views.delete, name="message_delete"),
    path("json/", views.message_json, name="message_json"),
    path("json/unread/", views.message_unread_count, name="message_unread_count"),
    path("preferences/", preference_views.page, name="preferences"),
    path("json/preferences/", preference_views.preferences_json, name="preferences_json"),
    path("unsubscribe/<str:token>/", unsubscribe.unsubscribe, name="unsubscribe"),
    path("stream/", stream.stream_token, name="persistent-messages-sse"),
    # The original's pages reverse this name with the user's name
    # ({% url "monitio:persistent-messages-sse" user.username %}, "" when anonymous).
    # It leads to the same view, which ignores it: a stream is always the signed-in
    # user's own, chosen by the credential, never by the URL.
    re_path(
        r"^stream/(?P<channel>.*)$",
        views.stream_token_by_channel,
        name="persistent-messages-sse",
    ),
    path(
        "jsi18n/",
        JavaScriptCatalog.as_view(domain="djangojs", packages=["monitio"]),
        name="js_i18n",
    ),
]

"""``{% mark_as_read_by_url %}``: visiting a page marks its messages read.

Needs ``request`` in the context (``django.template.context_processors.request``).
Marks the user's unread messages whose ``url`` equals ``request.get_full_path()``,
as the original did, and outputs nothing.
"""

from django import template

from monitio import state

register = template.Library()


@register.simple_tag(takes_context=True)
def mark_as_read_by_url(context: template.Context) -> str:
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        state.mark_read_by_url(user, request.get_full_path())
    return ""

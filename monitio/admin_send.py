"""The admin action "Send a message to the selected users", for the User admin.

It goes through :func:`monitio.create_messages`, the pipeline every other message
takes (queued on commit, stored, published and e-mailed by the worker). Only staff
with the ``monitio.add_message`` permission may use it; the form page is a POST
with Django's CSRF protection, like every admin action.

:func:`attach` adds the action to the ``ModelAdmin`` the default admin site has
registered for the user model (called from ``MonitioConfig.ready``, after the admin
has loaded every ``admin.py``). A site with another admin site, or on Django 4.2
(no ``AdminSite.get_model_admin``), lists it itself: ``actions = [send_message]``.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import constants
from .exceptions import InvalidMessage
from .models import LEVEL_CHOICES

#: The permission that allows sending; the model's own "add" permission.
PERMISSION = "monitio.add_message"


class SendMessageForm(forms.Form):
    level = forms.TypedChoiceField(
        label=_("level"), choices=LEVEL_CHOICES, coerce=int, initial=constants.INFO
    )
    subject = forms.CharField(label=_("subject"), required=False)
    text = forms.CharField(label=_("message"), widget=forms.Textarea)
    email = forms.BooleanField(label=_("Also send it by e-mail"), required=False)


@admin.action(description=_("Send a message to the selected users"))
def send_message(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet):
    """Show the form; on its POST (``apply``), queue one message per selected user."""
    from .api import create_messages

    if not request.user.has_perm(PERMISSION):
        modeladmin.message_user(
            request, _("You may not send messages to users."), messages.ERROR
        )
        return None
    form = SendMessageForm(request.POST if "apply" in request.POST else None)
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        count = queryset.count()
        try:
            create_messages(
                queryset,
                data["level"],
                data["text"],
                from_user=request.user,
                subject=data["subject"],
                email=data["email"],
            )
        except InvalidMessage as exc:  # too long, say: the caller's rules, shown on the form
            form.add_error(None, str(exc))
        else:
            modeladmin.message_user(
                request,
                ngettext(
                    "A message was queued for %d user.", "A message was queued for %d users.", count
                )
                % count,
            )
            return None
    return TemplateResponse(
        request,
        "monitio/admin/send_message.html",
        {
            **modeladmin.admin_site.each_context(request),
            "title": _("Send a message to the selected users"),
            "opts": modeladmin.model._meta,
            "form": form,
            "users": queryset,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        },
    )


def attach(site: admin.AdminSite = admin.site) -> bool:
    """Add :func:`send_message` to the actions of ``site``'s user admin; return
    whether it was added (not when the user model is not registered there)."""
    model = get_user_model()
    if not hasattr(site, "get_model_admin") or not site.is_registered(model):
        return False
    model_admin = site.get_model_admin(model)
    actions = list(model_admin.actions or ())
    if send_message not in actions:
        model_admin.actions = [*actions, send_message]
    return True

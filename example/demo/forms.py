"""The send-a-message form."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model

import monitio

EVERYONE = "everyone"
LEVELS = [
    (monitio.INFO, "Info"),
    (monitio.SUCCESS, "Success"),
    (monitio.WARNING, "Warning"),
    (monitio.ERROR, "Error"),
]


class SendMessageForm(forms.Form):
    recipient = forms.ChoiceField()
    level = forms.TypedChoiceField(choices=LEVELS, coerce=int, initial=monitio.INFO)
    subject = forms.CharField(max_length=255, required=False)
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), max_length=10_000)
    email = forms.BooleanField(required=False, label="Also send an e-mail")

    def __init__(self, *args, sender, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        others = (
            get_user_model()
            .objects.filter(is_active=True)
            .exclude(pk=sender.pk)
            .order_by("username")
        )
        # No recipient is preselected: a message to everyone is one slip away
        # otherwise, so "Everyone" is last and has to be chosen like anyone else.
        self.fields["recipient"].choices = [
            ("", "Choose a recipient"),
            *((str(u.pk), u.get_username()) for u in others),
            (EVERYONE, "Everyone"),
        ]
        self.recipients = others

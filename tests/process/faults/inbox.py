"""A client-side inbox kept in sync the way monitio's live client keeps it.

It loads the list from Django's JSON view (every page), then applies live events:
``message`` adds, ``read``/``unread`` flip, ``deleted`` removes, and ``resync``
throws the state away and loads the list again. At the end it can be compared
with the database, which is the source of truth.
"""

from __future__ import annotations

import json

from django.test import Client
from django.urls import reverse

from monitio import state, wire
from monitio.models import Message
from tests.sseclient import Event


class LiveInbox:
    def __init__(self, client: Client) -> None:
        self.client = client
        self.read: dict[str, bool] = {}
        self.unread = 0
        self.resyncs = 0
        self.fetches = 0
        self._stream: object = None
        self._applied = 0  # events of ``_stream`` already applied

    def fetch(self) -> None:
        """Load the whole list from ``messages/json/``, page by page."""
        self.read.clear()
        cursor = ""
        while True:
            query = {"limit": 100, **({"cursor": cursor} if cursor else {})}
            body = self.client.get(reverse("monitio:message_json"), query).json()
            self.read.update({m["id"]: m["read"] for m in body["messages"]})
            self.unread = body["unread"]
            cursor = body["next"]
            if not cursor:
                break
        self.fetches += 1

    def apply(self, stream) -> None:
        """Apply the events of ``stream`` (a :class:`Stream`) not applied yet."""
        if stream is not self._stream:
            self._stream, self._applied = stream, 0
        events = list(stream.events)
        for event in events[self._applied :]:
            self._apply(event)
        self._applied = len(events)

    def _apply(self, event: Event) -> None:
        if event.type == wire.RESYNC:
            self.resyncs += 1
            self.fetch()
            return
        data = json.loads(event.data)
        ids = data.get("ids")
        if event.type == wire.MESSAGE and data["persistent"]:
            self.read.setdefault(data["id"], False)
        elif event.type in (wire.READ, wire.UNREAD):
            for key in self.read if ids is None else ids:
                if key in self.read:
                    self.read[key] = event.type == wire.READ
        elif event.type == wire.DELETED:
            doomed = [k for k, r in self.read.items() if r] if ids is None else ids
            for key in doomed:
                self.read.pop(key, None)
        if data.get("unread") is not None:
            self.unread = data["unread"]

    def diffs(self, user) -> int:
        """How many messages differ from the database (missing, extra or wrong
        read state), plus one if the unread count differs."""
        truth = {
            str(i): r
            for i, r in Message.objects.visible_to(user)
            .persistent()
            .values_list("id", "read")
        }
        keys = truth.keys() | self.read.keys()
        wrong = sum(truth.get(k) != self.read.get(k) for k in keys)
        return wrong + (self.unread != state.unread_count(user))

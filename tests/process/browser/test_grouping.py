"""Live grouping in a real browser: messages with one ``group_key`` update one toast
in place, and the unread badge counts the group once. Figure printed (``-s``)::

    GROUP toasts=1 versions=3 badge_before=… badge_after=…
"""

from __future__ import annotations

import uuid

from .harness import BADGE, badge, open_recorded, wait_toast


def create_grouped(stack, *, to: str, sender: str, text: str, key: str) -> None:
    """``monitio.create_message(..., group_key=key)`` in a process of the example site."""
    stack.manage(
        "shell", "-c",
        "import monitio; from django.contrib.auth import get_user_model as users; "
        f"monitio.create_message(users().objects.get(username={to!r}), monitio.INFO, {text!r}, "
        f"from_user=users().objects.get(username={sender!r}), group_key={key!r})",
    )


def test_grouped_messages_update_one_toast_and_leave_the_badge(stack, login):
    bob = open_recorded(login, "bob")
    before = badge(bob)
    key = f"post-{uuid.uuid4().hex[:8]}"
    create_grouped(stack, to="bob", sender="alice", text=f"commented on {key}", key=key)
    first = wait_toast(bob, f"commented on {key}")
    bob.wait_for_function(
        "([sel, n]) => document.querySelector(sel).textContent.trim() === String(n)",
        arg=[BADGE, before + 1], polling=50, timeout=10_000,
    )
    create_grouped(stack, to="bob", sender="carol", text=f"replied on {key}", key=key)
    create_grouped(stack, to="bob", sender="alice", text=f"liked {key}", key=key)
    wait_toast(bob, "alice, carol and 1 other")
    toasts = bob.evaluate(
        "k => [...document.querySelectorAll('#monitioMessages [data-monitio-id]')]"
        ".filter((e) => e.textContent.includes(k))", key
    )
    ids = bob.evaluate(
        "k => [...document.querySelectorAll('#monitioMessages [data-monitio-id]')]"
        ".filter((e) => e.textContent.includes(k)).map((e) => e.dataset.monitioId)", key
    )
    versions = [t for t in bob.evaluate("window.__toasts") if key in t["text"]]
    after = badge(bob)
    print(f"GROUP toasts={len(toasts)} versions={len(versions)} badge_before={before} "
          f"badge_after={after}")
    assert len(ids) == 1  # replaced in place: never a second toast
    assert "liked" in versions[-1]["text"] and "commented" in first["text"]
    assert after == before + 1
    assert bob.evaluate("window.__sameDocument") is True
    inbox = bob.context.new_page()
    inbox.goto(f"{stack.url}/messages/?unread=1")
    row = inbox.locator(f"#monitio-message-{ids[0]}")
    assert "alice, carol and 1 other" in row.inner_text() and f"liked {key}" in row.inner_text()

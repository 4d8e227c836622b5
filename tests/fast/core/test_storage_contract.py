"""The storage stands on Django's documented contract for a message storage
(issue 17): it implements ``_get`` and ``_store`` and uses only the public part of
``BaseStorage`` (``request``, ``used``, ``level``, ``add``); everything else it has
is monitio's own."""

import ast
import inspect

from django.contrib.messages.storage.base import BaseStorage
from django.contrib.messages.storage.fallback import FallbackStorage
from django.test import RequestFactory

from monitio import storage
from monitio.storage import PersistentMessageStorage

#: What a subclass implements (Django's docs: "subclass BaseStorage and implement
#: _get and _store").
IMPLEMENTED = {"_get", "_store"}
#: What it may use of the base classes.
PUBLIC = {"request", "used", "level", "add", "__class__"}


def djangos_names() -> set[str]:
    """Every name BaseStorage and FallbackStorage define, on the class or an instance."""
    request = RequestFactory().get("/")
    request.session = {}
    instance = FallbackStorage(request)
    instance._get()  # fills the lazily set attributes too
    names = set(vars(instance))
    for cls in (BaseStorage, FallbackStorage):
        names |= set(vars(cls))
    return names - {"__module__", "__doc__", "__dict__", "__weakref__", "__qualname__",
                    "__firstlineno__", "__static_attributes__"}


def storage_class() -> ast.ClassDef:
    tree = ast.parse(inspect.getsource(storage))
    return next(
        node for node in tree.body
        if isinstance(node, ast.ClassDef) and node.name == PersistentMessageStorage.__name__
    )


def test_it_overrides_nothing_of_djangos_storage_but_get_and_store():
    defined = set(vars(PersistentMessageStorage)) & djangos_names()
    assert defined - {"__module__", "__doc__"} == IMPLEMENTED


def test_only_the_optional_django_accelerator_overrides_more():
    """Beyond ``_get`` and ``_store``, only ``update``, and only from the accelerator's
    module (:mod:`monitio._compat.django`), which leaves it to Django when turned off."""
    from monitio._compat.django import StoreWithoutRows

    mro = PersistentMessageStorage.__mro__
    assert mro[1:3] == (StoreWithoutRows, FallbackStorage)
    assert set(vars(StoreWithoutRows)) & djangos_names() == {"update"}


def test_it_reads_no_private_attribute_of_djangos_storage():
    djangos = djangos_names()
    used = {
        node.attr
        for node in ast.walk(ast.parse(inspect.getsource(storage)))
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "self"
    }
    # Names of the storage module's other classes (say a model's) are not Django's storage's.
    assert used & djangos <= PUBLIC | IMPLEMENTED, used & djangos
    assert [base.id for base in storage_class().bases] == ["StoreWithoutRows", "FallbackStorage"]


def test_no_class_of_the_module_stands_in_for_djangos_or_pythons_objects():
    """No proxy: the list ``_get`` returns and the messages in it are Python's and
    Django's own objects, not subclasses that change how Django's code treats them."""
    from django.contrib.messages.storage.base import Message as DjangoMessage

    own = [
        obj for obj in vars(storage).values()
        if isinstance(obj, type) and obj.__module__ == storage.__name__
    ]
    assert PersistentMessageStorage in own
    for cls in own:
        for stand_in in (list, tuple, dict, set, str, bytes, int, DjangoMessage):
            assert not issubclass(cls, stand_in), (cls, stand_in)


def test_get_returns_a_list_of_rows_and_djangos_messages(alice, django_capture_on_commit_callbacks):
    from django.contrib.messages.storage.base import Message as DjangoMessage

    import monitio
    from monitio.models import Message

    Message.objects.create(user=alice, level=monitio.INFO, message="row")
    request = RequestFactory().get("/")
    request.user, request.session = alice, {}
    request._messages = PersistentMessageStorage(request)
    with django_capture_on_commit_callbacks():
        monitio.add_message(request, monitio.INFO, "queued")
    messages, _ = request._messages._get()
    assert type(messages) is list
    assert [type(m) for m in messages] == [Message]
    assert [type(m) for m in request._messages] == [Message, DjangoMessage]

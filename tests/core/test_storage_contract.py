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
    assert storage_class().bases[0].id == "FallbackStorage"

"""Django's generic storage tests with monitio's storage as the storage under test.

``FallbackTests`` is ``BaseTests`` (add, update, read, levels, tags, the full
request/redirect/response cycle through the middleware) plus the cookie-then-session
behaviour that monitio's storage inherits for Django's own levels. It runs twice:
for an anonymous request, where monitio's storage is Django's, and for a logged-in
user, where every read also looks up the user's stored rows and carried messages.
The ``SuccessMessageMixin`` tests run for a logged-in user too (Django's run them
anonymously, on ``MESSAGE_STORAGE``, which is monitio's in these settings).
"""

from django.contrib.auth import get_user_model
from django.contrib.messages.storage import default_storage
from django.http import HttpRequest
from django.test import SimpleTestCase, TestCase

# The modules, not their classes: a class imported here would be collected twice.
from messages_tests import test_fallback, test_mixins

from monitio.storage import PersistentMessageStorage


class StorageUnderTestTests(SimpleTestCase):
    """Django's tests that take ``MESSAGE_STORAGE`` get monitio's storage."""

    def test_message_storage_is_monitios(self):
        request = HttpRequest()
        request.session = {}
        self.assertIs(type(default_storage(request)), PersistentMessageStorage)


class AnonymousTests(test_fallback.FallbackTests):
    storage_class = PersistentMessageStorage


class LoggedIn:
    """A logged-in user on the test client and on the tests' own requests."""

    @classmethod
    def setUpTestData(cls):
        cls.user = get_user_model().objects.create_user("alice", "alice@example.com")

    def setUp(self):
        super().setUp()
        self.client.force_login(self.user)

    def get_request(self):
        request = super().get_request()
        request.user = self.user
        return request


class AuthenticatedTests(LoggedIn, AnonymousTests, TestCase):
    pass


class AuthenticatedMixinTests(LoggedIn, test_mixins.SuccessMessageMixinTests):
    pass

"""Settings of the site the browser tests open: the test settings, plus a page that
includes monitio's header, served behind docs/nginx.conf with the gateway."""

import os

from tests.settings import *
from tests.settings import MONITIO, TEMPLATES

ROOT_URLCONF = "tests.process.browser.gateway_urls"
TEMPLATES[0]["DIRS"] = [
    *TEMPLATES[0]["DIRS"],
    os.path.join(os.path.dirname(__file__), "templates"),
]
MONITIO = {
    **MONITIO,
    "STREAM_TOKEN_MAX_AGE": int(os.environ.get("MONITIO_STREAM_TOKEN_MAX_AGE", "300")),
}

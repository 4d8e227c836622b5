"""Django's own contrib.messages tests pass with monitio's storage configured.

:mod:`.run` does the work in a process of its own (its settings are not this
session's). Without PyPI, on the first run for a Django version, this fails saying
so: a suite that cannot run is not a passing one.
"""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
FIGURE = re.compile(
    r"^DJANGO-MESSAGES django=\S+ tests=(\d+) passed=(\d+) failed=(\d+) skipped=(\d+) "
    r"deselected=(\d+) on_monitio=(\d+)$",
    re.MULTILINE,
)


def test_djangos_messages_tests_pass_on_monitios_storage():
    done = subprocess.run(
        [sys.executable, "-m", "tests.fast.django_messages.run"],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )
    output = done.stdout + done.stderr
    figure = FIGURE.search(done.stdout)
    assert done.returncode == 0 and figure, output[-6000:]
    print(figure.group(0))
    tests, passed, failed, skipped, deselected, ours = map(int, figure.groups())
    assert (failed, skipped) == (0, 0)
    assert passed == tests - deselected
    assert ours > 0

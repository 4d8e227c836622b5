"""The fault suite: real processes killed, restarted and starved (issue 7).

Figures are printed one line per test (run with ``-s``); RELIABILITY.md collects them.
Slow and heavier variants: ``pytest -m slow`` (10 minutes idle behind nginx),
``MONITIO_FAULTS_CLIENTS`` / ``MONITIO_FAULTS_MESSAGES`` (gateway restarts).
``pending/`` holds tests of known bugs, not collected until the bug is fixed.
"""

"""The abuse suite: forged credentials, cross-user access, injection and floods
(issue 7). Figures are printed one line per test (run with ``-s``); RELIABILITY.md
collects them. Heavier: ``MONITIO_ABUSE_ATTEMPTS`` (cross-user attempts)."""

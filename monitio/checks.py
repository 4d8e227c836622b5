"""System checks (filled in with the core work)."""

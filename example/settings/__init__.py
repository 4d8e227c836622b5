"""Settings of the example project: ``base`` (shared), ``dev`` and ``production``."""

"""Start the Procfile's processes as documented, on the test project.

A process runs its Procfile command line through bash (which expands its
``${VAR:-default}``), with ``-A example`` replaced by the test project's copy of the
example's Celery set-up (:mod:`tests.process.worker.documented_app`).
"""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path
from types import ModuleType

from tests import procs
from tests.waiting import wait_until

APP = "tests.process.worker.documented_app"


def example_settings() -> ModuleType:
    """The example project's base settings, loaded from their file: importing the
    ``example`` package would create its Celery app, the current app of the process."""
    spec = importlib.util.spec_from_file_location(
        "example_base_settings", procs.ROOT / "example" / "settings" / "base.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def command(name: str) -> str | None:
    """The Procfile's command line for process ``name`` (None when there is none)."""
    for line in (procs.ROOT / "Procfile").read_text().splitlines():
        process, sep, args = line.partition(":")
        if sep and process.strip() == name:
            return args.strip().replace("-A example ", f"-A {APP} ")
    return None


def start(name: str, log: Path, var_dir: Path, **env: str) -> subprocess.Popen:
    """Start process ``name`` of the Procfile (its own process group, output to ``log``);
    a worker is returned once it is ready."""
    line = command(name)
    assert line is not None, f"the Procfile has no {name!r} process"
    offset = log.stat().st_size if log.exists() else 0
    proc = procs.start(
        ["bash", "-c", f"exec {line}"], log,
        PATH=f"{procs.VENV_BIN}:/usr/bin:/bin", EXAMPLE_VAR_DIR=str(var_dir), **env,
    )
    if name == "worker":
        wait_until(lambda: proc.poll() is not None or b" ready." in log.read_bytes()[offset:],
                   timeout=60, message="celery worker ready")
        assert proc.poll() is None, log.read_text()[-3000:]
    return proc

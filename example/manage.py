#!/usr/bin/env python
"""Django's command-line utility for the example project.

Run it from anywhere: ``python example/manage.py migrate``. The repository root
takes the place of this script's folder on ``sys.path``, so that the ``example``
package imports without installing it (and ``example/celery.py`` never shadows
Celery itself).
"""

import os
import sys
from pathlib import Path


def main() -> None:
    sys.path[0] = str(Path(__file__).resolve().parent.parent)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example.settings.dev")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()

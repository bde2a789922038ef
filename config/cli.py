"""The `yanxiu` command: manage.py under a friendlier name.

    yanxiu runserver | migrate | synth --scale S | roster import FILE | token create USER ...
"""

import os
import sys
from pathlib import Path


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.conf import settings
    from django.core.management import execute_from_command_line

    # The SQLite database, generated dev keys and uploads live here.
    Path(settings.VAR_DIR).mkdir(parents=True, exist_ok=True)
    execute_from_command_line(["yanxiu", *sys.argv[1:]])


if __name__ == "__main__":
    main()

"""The `yanxiu` command: manage.py under a friendlier name.

    yanxiu runserver | migrate | synth --scale S | roster import FILE | token create USER ...
"""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["yanxiu", *sys.argv[1:]])


if __name__ == "__main__":
    main()

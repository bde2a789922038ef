"""Shared helpers for the people tests."""

import json

from django.core.management import call_command


def cli_roster_import(path, capsys, *extra) -> tuple[int, dict]:
    """Run `yanxiu roster import`; return its exit status and JSON report."""
    code = 0
    try:
        call_command("roster", "import", str(path), *extra)
    except SystemExit as exit_:
        code = exit_.code
    return code, json.loads(capsys.readouterr().out)

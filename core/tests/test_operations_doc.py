"""The operations manual documents every environment variable the code reads."""

import re
from pathlib import Path

from django.conf import settings

READ = re.compile(r"""env_(?:str|int|bool|list)\(\s*["']([A-Z][A-Z0-9_]+)["']""")


def test_every_variable_read_through_config_env_is_in_the_operations_manual():
    root = Path(settings.BASE_DIR)
    read = set()
    for path in root.rglob("*.py"):
        relative = path.relative_to(root).as_posix()
        if relative.startswith((".venv/", "node_modules/", "var/")) or "/tests/" in relative:
            continue
        read |= set(READ.findall(path.read_text(encoding="utf-8")))
    assert "YANXIU_FIELD_KEYS_RETIRED" in read  # the pattern finds them
    manual = (root / "docs" / "OPERATIONS.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", manual))
    assert read - documented == set()

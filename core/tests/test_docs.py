"""The security document names the tests that show each claim: every name must exist, so
the document cannot drift from the code. And the repository explains itself: no code or
document cites numbering from documents outside it."""

import re
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)
REFERENCE = re.compile(r"`([a-z_/]+\.py)?(?:::([a-z0-9_]+))?`")


def referenced_tests(text: str) -> list[tuple[str, str | None]]:
    """(file, test or None) for each `file::test`, `file` or `::test` (the file named before it on the line)."""
    found = []
    for line in text.splitlines():
        current = None
        for match in REFERENCE.finditer(line):
            path, test = match.groups()
            if path:
                current = path
            if current and (path or test):
                found.append((current, test))
    return found


def test_every_test_the_security_document_names_exists():
    references = referenced_tests((ROOT / "docs" / "SECURITY.md").read_text(encoding="utf-8"))
    assert len(references) > 60
    missing = []
    for path, test in references:
        source = ROOT / path
        if not source.is_file():
            missing.append(path)
        elif test and not re.search(rf"^def {test}\(", source.read_text(encoding="utf-8"), re.M):
            missing.append(f"{path}::{test}")
    assert missing == []


def test_the_reference_reader_follows_a_file_across_a_line():
    line = "`a/tests/test_x.py::test_one`, `::test_two` and `b/test_y.py`"
    assert referenced_tests(line) == [("a/tests/test_x.py", "test_one"), ("a/tests/test_x.py", "test_two"),
                                      ("b/test_y.py", None)]


OUTSIDE_NUMBERING = re.compile(r"\b(SECURITY|DESIGN|STYLE)(\.md)?\s*(§\s*\d|\d)")


def test_nothing_cites_numbering_from_documents_outside_the_repository():
    offenders = []
    for path in ROOT.rglob("*"):
        relative = path.relative_to(ROOT).as_posix()
        if (not path.is_file() or path.suffix not in {".py", ".md", ".html", ".txt"}
                or relative.startswith((".venv/", "node_modules/", "var/", ".git/"))):
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
            if OUTSIDE_NUMBERING.search(line) and "OUTSIDE_NUMBERING" not in line:
                offenders.append(f"{relative}:{number}")
    assert offenders == []

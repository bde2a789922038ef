"""requirements.lock pins what pyproject.toml asks for: every dependency (and the dev extra)
has a pin that satisfies its range, with hashes, and the lock names no direct dependency that
pyproject.toml dropped. Offline; `make lock-check` (in CI) also re-resolves against the index."""

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s;\\]+)")


def _direct_requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [Requirement(text) for text in project["dependencies"] + project["optional-dependencies"]["dev"]]


def _lock() -> tuple[dict[str, list[str]], set[str]]:
    """Pinned versions by package (a universal lock may pin one per platform), and the
    packages the lock says pyproject.toml asked for."""
    pins: dict[str, list[str]] = {}
    direct: set[str] = set()
    current = ""
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        match = PIN.match(line)
        if match:
            current = canonicalize_name(match.group(1))
            pins.setdefault(current, []).append(match.group(2))
        elif line.strip() in ("# via yanxiu (pyproject.toml)", "#   yanxiu (pyproject.toml)"):
            direct.add(current)
    return pins, direct


def test_every_dependency_is_pinned_within_its_range():
    pins, _ = _lock()
    for requirement in _direct_requirements():
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is in pyproject.toml but not in requirements.lock: run make lock"
        for version in pins[name]:
            assert requirement.specifier.contains(version, prereleases=True), (
                f"{name}=={version} in requirements.lock is outside {requirement.specifier}: run make lock")


def test_the_lock_asks_for_nothing_pyproject_dropped():
    _, direct = _lock()
    wanted = {canonicalize_name(requirement.name) for requirement in _direct_requirements()}
    assert direct, "requirements.lock records no direct dependency: was it written by make lock?"
    assert direct <= wanted, f"requirements.lock still pins {sorted(direct - wanted)}: run make lock"


def test_every_pin_carries_hashes():
    text = (ROOT / "requirements.lock").read_text()
    blocks = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2])
    for block in blocks:
        if PIN.match(block):
            assert "--hash=sha256:" in block, f"no hash for {block.splitlines()[0]}"

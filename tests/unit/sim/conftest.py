"""Fixtures for the host simulator tests: write a host, snapshot a tree."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from offpath.sim.host import MANIFEST, SimHost, write_host
from offpath.sim.profile import load_profile


def take_snapshot(root: Path) -> dict[str, tuple[str, bytes | str]]:
    """Every directory, file (with its bytes) and link (with its target) under `root`."""
    found: dict[str, tuple[str, bytes | str]] = {}
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(directory, name)
            rel = str(path.relative_to(root))
            if rel == MANIFEST:
                continue
            if path.is_symlink():
                found[rel] = ("link", str(path.readlink()))
            elif path.is_dir():
                found[rel] = ("dir", "")
            else:
                found[rel] = ("file", path.read_bytes())
    return found


@pytest.fixture
def snapshot() -> Callable[[Path], dict[str, tuple[str, bytes | str]]]:
    """snapshot(root): every entry under root as a comparable dict (the manifest left out)."""
    return take_snapshot


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., SimHost]:
    """write(profile_name, **write_host options) -> SimHost, in a fresh directory each call."""
    count = 0

    def run(profile: str = "bluefield2", **options: Any) -> SimHost:
        nonlocal count
        count += 1
        return write_host(load_profile(profile), tmp_path / f"sys{count}", **options)

    return run

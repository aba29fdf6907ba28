"""Files an attacker or a damaged copy puts where offpath expects a small regular file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

GIB = 1024**3


def fifo(path: Path) -> None:
    """A FIFO: a blocking open or read waits for a writer that never comes."""
    os.mkfifo(path)


def dev_zero(path: Path) -> None:
    """A link to /dev/zero: an uncapped read never ends."""
    path.symlink_to("/dev/zero")


def sparse(path: Path) -> None:
    """A gigabyte that takes no disk: a reader without a limit would take the memory."""
    with path.open("wb") as handle:
        handle.truncate(GIB)


def directory(path: Path) -> None:
    """A directory where a file should be."""
    path.mkdir()


# Each maker with what the reader says of it; `{limit}` is the reader's size limit.
HOSTILE_FILES = [
    pytest.param(fifo, "is a FIFO, not a regular file", id="fifo"),
    pytest.param(dev_zero, "is a character device, not a regular file", id="dev-zero"),
    pytest.param(sparse, "is larger than {limit}, more than offpath reads", id="sparse-1gib"),
    pytest.param(directory, "is a directory, not a regular file", id="directory"),
]

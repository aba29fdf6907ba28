"""The one way offpath reads a file: a regular file only, at most a limit, text decoded strictly.

A sysfs tree may be a copy, a config file or profile is named by a user:
any path may turn out to be a FIFO (an open or read that never returns), a
device such as /dev/zero (a read that never ends) or a sparse file of
gigabytes. Symlinks are followed, since sysfs is made of them; what they
lead to must be a regular file. The OS's own failures (no such file,
permission denied, I/O error) stay OSError, so that each caller keeps its
own answer to them; what offpath refuses to read is an InputFileError.
"""

# Raw os calls on str paths: discovery reads thousands of sysfs files through here.
# ruff: noqa: PTH116

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from typing import Final

from offpath.errors import InputFileError

KIB: Final = 1024
MIB: Final = 1024 * KIB

# O_NONBLOCK: a FIFO swapped in after the stat() cannot hang the open.
_OPEN_FLAGS: Final = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY
_KINDS: Final[tuple[tuple[Callable[[int], bool], str], ...]] = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def read_bytes(path: str | os.PathLike[str], *, limit: int, truncate: bool = False) -> bytes:
    """The bytes of the regular file at `path`, at most `limit` of them.

    A longer file is refused, or cut at `limit` when `truncate` is set (for
    formats whose end is defined by their content, such as VPD).
    """
    # stat() before open(): opening a device can have effects of its own
    # (a watchdog arms, a tape rewinds), refusing it must not open it.
    _refuse_unless_regular(path, os.stat(path).st_mode)
    fd = os.open(path, _OPEN_FLAGS)
    try:
        _refuse_unless_regular(path, os.fstat(fd).st_mode)
        return _read_at_most(fd, path, limit=limit, truncate=truncate)
    finally:
        os.close(fd)


def read_text(path: str | os.PathLike[str], *, limit: int, encoding: str = "utf-8") -> str:
    """The text of the regular file at `path` (see `read_bytes`); undecodable text is refused."""
    data = read_bytes(path, limit=limit)
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputFileError(
            f"{os.fspath(path)}:{line}",
            f"not {_encoding_name(encoding)} text (byte 0x{data[exc.start]:02x})",
        ) from exc


def describe_size(size: int) -> str:
    """`4 KiB`, `1 MiB` or `1000 bytes`: a limit as messages show it."""
    for unit, name in ((MIB, "MiB"), (KIB, "KiB")):
        if size >= unit and size % unit == 0:
            return f"{size // unit} {name}"
    return f"{size} bytes"


def _refuse_unless_regular(path: str | os.PathLike[str], mode: int) -> None:
    if stat.S_ISREG(mode):
        return
    kind = next((name for test, name in _KINDS if test(mode)), "a special file")
    raise InputFileError(os.fspath(path), f"is {kind}, not a regular file")


def _read_at_most(fd: int, path: str | os.PathLike[str], *, limit: int, truncate: bool) -> bytes:
    # One byte more than the limit tells a file of exactly `limit` bytes from a longer one.
    wanted = limit if truncate else limit + 1
    chunks: list[bytes] = []
    size = 0
    # Loop: sysfs hands a binary attribute (vpd) out a page per read.
    while size < wanted:
        chunk = os.read(fd, wanted - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > limit:
        raise InputFileError(
            os.fspath(path), f"is larger than {describe_size(limit)}, more than offpath reads"
        )
    return b"".join(chunks)


def _encoding_name(encoding: str) -> str:
    return {"utf-8": "UTF-8", "ascii": "ASCII"}.get(encoding.lower(), encoding)

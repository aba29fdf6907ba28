"""The bounded reader all of offpath reads files with: regular files, a size limit, strict text."""

from __future__ import annotations

import os
import socket
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from offpath.errors import InputFileError
from offpath.pci import regular_file
from offpath.pci.regular_file import describe_size, read_bytes, read_text
from tests.hostile_files import HOSTILE_FILES, sparse


@pytest.fixture
def unix_socket(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    yield path
    server.close()


@contextmanager
def temp_file(data: bytes) -> Iterator[Path]:
    """A temporary file holding `data`, removed on exit."""
    handle, name = tempfile.mkstemp()
    os.write(handle, data)
    os.close(handle)
    try:
        yield Path(name)
    finally:
        Path(name).unlink()


def read_with_deadline(action: Callable[[], object]) -> BaseException | None:
    """Run `action` in a thread; fail the test if it is still running after 10 s."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            action()
        except BaseException as exc:  # the outcome is what the test checks
            outcome.append(exc)
        else:
            outcome.append(None)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(10)
    if worker.is_alive():
        pytest.fail("the read did not return within 10 s")
    return outcome[0]


@pytest.mark.parametrize(("make", "problem"), HOSTILE_FILES)
def test_a_hostile_file_is_refused_saying_what_it_is(
    tmp_path: Path, make: Callable[[Path], None], problem: str
) -> None:
    path = tmp_path / "attr"
    make(path)
    problem = problem.format(limit="4 KiB")
    error = read_with_deadline(lambda: read_text(path, limit=4096))
    assert isinstance(error, InputFileError)
    assert (error.path, error.problem) == (str(path), problem)
    assert error.message == f"{path}: {problem}"


def test_a_socket_is_refused(unix_socket: Path) -> None:
    with pytest.raises(InputFileError, match="is a socket, not a regular file"):
        read_bytes(unix_socket, limit=10)


def test_a_symlink_to_a_regular_file_is_followed(tmp_path: Path) -> None:
    (tmp_path / "real").write_bytes(b"0x15b3\n")
    (tmp_path / "link").symlink_to("real")
    assert read_text(tmp_path / "link", limit=4096, encoding="ascii") == "0x15b3\n"


def test_a_file_of_exactly_the_limit_is_read(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"a" * 4096)
    assert read_bytes(tmp_path / "f", limit=4096) == b"a" * 4096


def test_one_byte_over_the_limit_is_refused(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"a" * 4097)
    with pytest.raises(InputFileError, match="is larger than 4 KiB"):
        read_bytes(tmp_path / "f", limit=4096)


def test_truncate_cuts_at_the_limit_instead_of_refusing(tmp_path: Path) -> None:
    path = tmp_path / "vpd"
    sparse(path)
    assert read_bytes(path, limit=0x8000, truncate=True) == bytes(0x8000)


def test_a_missing_file_stays_the_oses_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_bytes(tmp_path / "absent", limit=10)


def test_a_symlink_loop_stays_the_oses_error(tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("a")
    with pytest.raises(OSError, match="symbolic links"):
        read_bytes(tmp_path / "a", limit=10)


def test_text_that_is_not_in_the_encoding_names_line_and_byte(tmp_path: Path) -> None:
    path = tmp_path / "nova.conf"
    path.write_bytes(b"[pci]\ndevice_spec = \xe9\n")
    with pytest.raises(InputFileError) as raised:
        read_text(path, limit=4096)
    assert (raised.value.path, raised.value.problem) == (f"{path}:2", "not UTF-8 text (byte 0xe9)")


def test_ascii_is_strict_too(tmp_path: Path) -> None:
    path = tmp_path / "vendor"
    path.write_bytes(b"0x15\xb3\n")
    with pytest.raises(InputFileError, match=r":1: not ASCII text \(byte 0xb3\)$"):
        read_text(path, limit=4096, encoding="ascii")


@given(st.binary(max_size=64), st.integers(min_value=0, max_value=80))
def test_any_content_is_returned_whole_or_refused_as_too_large(data: bytes, limit: int) -> None:
    # One directory per example: hypothesis reruns the body many times per tmp_path.
    with temp_file(data) as path:
        try:
            found = read_bytes(path, limit=limit)
        except InputFileError as exc:
            assert len(data) > limit
            assert "is larger than" in exc.problem
        else:
            assert found == data


@pytest.mark.parametrize(
    ("size", "text"),
    [
        pytest.param(4096, "4 KiB", id="kib"),
        pytest.param(regular_file.MIB, "1 MiB", id="mib"),
        pytest.param(1000, "1000 bytes", id="bytes"),
        pytest.param(1536, "1536 bytes", id="not-whole"),
    ],
)
def test_describe_size(size: int, text: str) -> None:
    assert describe_size(size) == text

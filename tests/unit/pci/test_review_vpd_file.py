"""Review: `read_vpd_file` on files that are no VPD file: one InputFileError, never a hang.

Before the review a FIFO without writer blocked forever and /dev/zero was
read until memory ran out.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from offpath.errors import InputFileError
from offpath.pci.vpd import read_vpd_file

FIXTURE = Path(__file__).parents[2] / "data" / "vpd" / "bluefield2-mbf2h332a.bin"
PROC_MEM = Path("/proc/self/mem")


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "vpd"
    os.mkfifo(fifo)
    outcome: list[BaseException | None] = []

    def read() -> None:
        try:
            read_vpd_file(fifo, strict=True)
        except BaseException as exc:  # the outcome is what the test checks
            outcome.append(exc)
        else:
            outcome.append(None)

    worker = threading.Thread(target=read, daemon=True)
    worker.start()
    worker.join(10)
    if worker.is_alive():
        with fifo.open("wb"):
            pass
        pytest.fail("read_vpd_file blocked on a FIFO")
    (error,) = outcome
    assert isinstance(error, InputFileError)
    assert error.message == f"{fifo}: cannot read VPD: is a FIFO, not a regular file"


def test_a_character_device_is_refused() -> None:
    # /dev/null stands for them all; /dev/zero would fill the memory of a broken build.
    with pytest.raises(
        InputFileError,
        match=r"^/dev/null: cannot read VPD: is a character device, not a regular file$",
    ):
        read_vpd_file(Path("/dev/null"), strict=True)


def test_a_symlink_loop_names_the_loop(tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("a")
    with pytest.raises(InputFileError, match="Too many levels of symbolic links"):
        read_vpd_file(tmp_path / "a", strict=True)


def test_a_symlink_to_a_vpd_file_is_read(tmp_path: Path) -> None:
    # sysfs paths are symlinks (bus/pci/devices/ADDR): following them is the normal case.
    (tmp_path / "vpd").symlink_to(FIXTURE)
    assert read_vpd_file(tmp_path / "vpd", strict=True).serial_number == "MT2113X00000"


@pytest.mark.skipif(not os.access(PROC_MEM, os.R_OK), reason="/proc/self/mem is not readable")
def test_a_read_error_is_an_input_file_error() -> None:
    with pytest.raises(InputFileError, match="cannot read VPD: Input/output error"):
        read_vpd_file(PROC_MEM, strict=True)

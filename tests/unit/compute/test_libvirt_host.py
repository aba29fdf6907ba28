"""The libvirt driver's remote-managed capability, from the version of the host's libvirt."""

from __future__ import annotations

import logging
from pathlib import Path

import libvirt
import pytest

from offpath.compute.libvirt_host import (
    driver_supports_remote_managed,
    libvirt_version,
    supports_remote_managed_ports,
)
from offpath.errors import LibvirtUnavailable


@pytest.mark.parametrize(
    ("version", "supported"),
    [
        pytest.param(7_008_000, False, id="7.8.0"),
        pytest.param(7_009_000, True, id="7.9.0-first-with-nodedev-vpd"),
        pytest.param(9_000_000, True, id="9.0.0"),
    ],
)
def test_remote_managed_ports_need_libvirt_7_9(version: int, supported: bool) -> None:
    assert supports_remote_managed_ports(version) is supported


def test_the_test_driver_reports_the_library_version() -> None:
    assert libvirt_version("test:///default") == libvirt.getVersion()
    assert driver_supports_remote_managed("test:///default")


def test_an_unreachable_libvirt_offers_no_remote_managed_ports(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    uri = f"test://{tmp_path / 'missing.xml'}"
    with pytest.raises(LibvirtUnavailable):
        libvirt_version(uri)
    with caplog.at_level(logging.WARNING):
        assert not driver_supports_remote_managed(uri)
    assert "remote-managed ports not offered" in caplog.text

"""Each simulator fault changes exactly what it says, and nothing else."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from offpath.errors import SimFaultInvalid, VpdError
from offpath.pci.address import PciAddress
from offpath.pci.vpd import ChecksumStatus, decode_vpd
from offpath.sim.faults import Fault, FaultKind, parse_fault
from offpath.sim.model import SimHost, VpdState

WriteHost = Callable[..., SimHost]
Snapshot = Callable[[Path], dict[str, tuple[str, bytes | str]]]

PF0 = PciAddress.parse("0000:03:00.0")
PF1 = PciAddress.parse("0000:03:00.1")
VF0 = PciAddress.parse("0000:03:00.2")
VF1 = PciAddress.parse("0000:03:00.3")


def rel(host: SimHost, address: PciAddress, *parts: str) -> str:
    return str(host.device_dir(address).relative_to(host.root).joinpath(*parts))


def changes(
    write: WriteHost, snapshot: Snapshot, *faults: str
) -> tuple[SimHost, set[str], set[str], set[str]]:
    """(faulted host, paths removed, paths added, paths changed) against the same host unfaulted."""
    clean = snapshot(write("bluefield2", vfs=2).root)
    host = write("bluefield2", vfs=2, faults=[parse_fault(f) for f in faults])
    faulted = snapshot(host.root)
    changed = {path for path in clean.keys() & faulted.keys() if clean[path] != faulted[path]}
    return host, clean.keys() - faulted.keys(), faulted.keys() - clean.keys(), changed


def test_no_vpd_removes_only_the_first_pf_vpd(write: WriteHost, snapshot: Snapshot) -> None:
    host, removed, added, changed = changes(write, snapshot, "no-vpd")
    assert (removed, added, changed) == ({rel(host, PF0, "vpd")}, set(), set())


def test_no_vpd_leaves_the_pf_and_its_vfs_without_serial(write: WriteHost) -> None:
    host = write("bluefield2", vfs=2, faults=[parse_fault("no-vpd")])
    first, second = host.pfs
    assert (first.vpd, first.card_serial) == (VpdState.ABSENT, None)
    assert [vf.card_serial for vf in first.vfs] == [None, None]
    assert second.card_serial == host.cards[0].serial
    assert [vf.card_serial for vf in second.vfs] == [second.card_serial] * 2


def test_a_fault_at_an_address_hits_that_function(write: WriteHost, snapshot: Snapshot) -> None:
    host, removed, _, _ = changes(write, snapshot, f"no-vpd@{PF1}")
    assert removed == {rel(host, PF1, "vpd")}
    assert host.faults == (Fault(FaultKind.NO_VPD, PF1),)


def test_bad_vpd_checksum_changes_only_the_vpd(write: WriteHost, snapshot: Snapshot) -> None:
    host, removed, added, changed = changes(write, snapshot, "bad-vpd-checksum")
    assert (removed, added, changed) == (set(), set(), {rel(host, PF0, "vpd")})


def test_bad_vpd_checksum_is_detected_and_the_serial_untrusted(write: WriteHost) -> None:
    host = write("bluefield2", vfs=1, faults=[parse_fault("bad-vpd-checksum")])
    record = decode_vpd((host.device_dir(PF0) / "vpd").read_bytes(), strict=False)
    assert record.checksum is ChecksumStatus.INVALID
    assert record.serial_number == host.cards[0].serial
    assert record.card_serial_number is None
    assert host.pfs[0].card_serial is None


def test_truncated_vpd_is_shorter_and_does_not_decode(write: WriteHost) -> None:
    clean = write("bluefield2", vfs=0)
    host = write("bluefield2", vfs=0, faults=[parse_fault("truncated-vpd")])
    whole = (clean.device_dir(PF0) / "vpd").read_bytes()
    cut = (host.device_dir(PF0) / "vpd").read_bytes()
    assert whole.startswith(cut)
    assert len(cut) < len(whole)
    assert str(host.cards[0].serial).encode() not in cut
    with pytest.raises(VpdError):
        decode_vpd(cut, strict=False)


def test_truncated_vpd_changes_only_the_vpd(write: WriteHost, snapshot: Snapshot) -> None:
    host, removed, added, changed = changes(write, snapshot, "truncated-vpd")
    assert (removed, added, changed) == (set(), set(), {rel(host, PF0, "vpd")})


def test_vf_no_netdev_binds_vfio_pci_and_drops_the_netdev(
    write: WriteHost, snapshot: Snapshot
) -> None:
    host, removed, added, changed = changes(write, snapshot, "vf-no-netdev")
    ifname = "ens1f0v0"
    net = rel(host, VF0, "net")
    assert removed == {
        net,
        f"{net}/{ifname}",
        *(f"{net}/{ifname}/{name}" for name in ("address", "phys_port_name", "dev_id", "dev_port")),
        f"{net}/{ifname}/device",
        f"class/net/{ifname}",
        f"bus/pci/drivers/mlx5_core/{VF0}",
    }
    assert added == {"bus/pci/drivers/vfio-pci", f"bus/pci/drivers/vfio-pci/{VF0}"}
    assert changed == {rel(host, VF0, "driver")}
    assert str((host.root / rel(host, VF0, "driver")).readlink()).endswith("/drivers/vfio-pci")


def test_vf_no_netdev_record(write: WriteHost) -> None:
    host = write("bluefield2", vfs=2, faults=[parse_fault(f"vf-no-netdev@{VF1}")])
    vf = host.pfs[0].vfs[1]
    assert (vf.driver, vf.ifname, vf.mac) == ("vfio-pci", None, None)
    assert host.pfs[0].vfs[0].driver == "mlx5_core"


def test_numa_unknown_on_a_pf_covers_its_vfs(write: WriteHost, snapshot: Snapshot) -> None:
    host, removed, added, changed = changes(write, snapshot, "numa-unknown")
    numa = {rel(host, address, "numa_node") for address in (PF0, VF0, VF1)}
    assert (removed, added, changed) == (set(), set(), numa)
    assert all((host.root / path).read_text() == "-1\n" for path in numa)
    assert [host.pfs[0].numa_node, *(vf.numa_node for vf in host.pfs[0].vfs)] == [None] * 3


def test_numa_unknown_on_a_vf_covers_only_it(write: WriteHost, snapshot: Snapshot) -> None:
    host, _, _, changed = changes(write, snapshot, f"numa-unknown@{VF1}")
    assert changed == {rel(host, VF1, "numa_node")}


def test_pf_mac_unreadable_removes_the_address_file(write: WriteHost, snapshot: Snapshot) -> None:
    host, removed, added, changed = changes(write, snapshot, "pf-mac-unreadable")
    assert (removed, added, changed) == ({rel(host, PF0, "net/ens1f0np0/address")}, set(), set())
    assert host.pfs[0].mac_readable is False


def test_vf_vpd_own_serial_adds_a_vpd_to_the_vf(write: WriteHost, snapshot: Snapshot) -> None:
    host, removed, added, changed = changes(write, snapshot, "vf-vpd-own-serial")
    assert (removed, added, changed) == (set(), {rel(host, VF0, "vpd")}, set())


def test_vf_vpd_own_serial_differs_from_the_card_serial(write: WriteHost) -> None:
    host = write("bluefield2", vfs=2, faults=[parse_fault("vf-vpd-own-serial")])
    record = decode_vpd((host.device_dir(VF0) / "vpd").read_bytes())
    vf, other = host.pfs[0].vfs
    assert record.checksum is ChecksumStatus.VALID
    assert record.card_serial_number == vf.vpd_serial == vf.card_serial
    assert vf.card_serial not in (None, host.cards[0].serial)
    assert other.card_serial == host.cards[0].serial


def test_vf_vpd_own_serial_works_on_a_card_without_serial(write: WriteHost) -> None:
    host = write("e810", vfs=1, faults=[parse_fault("vf-vpd-own-serial")])
    vf = host.vfs[0]
    record = decode_vpd((host.device_dir(vf.address) / "vpd").read_bytes())
    assert record.card_serial_number == vf.card_serial is not None
    assert host.pfs[0].card_serial is None


def test_vpd_faults_on_a_vf_own_vpd_fall_back_to_the_pf_serial(write: WriteHost) -> None:
    host = write(
        "bluefield2",
        vfs=1,
        faults=[parse_fault("vf-vpd-own-serial"), parse_fault(f"bad-vpd-checksum@{VF0}")],
    )
    vf = host.vfs[0]
    assert vf.vpd is VpdState.BAD_CHECKSUM
    assert vf.card_serial == host.cards[0].serial


def test_faults_are_deterministic(write: WriteHost, snapshot: Snapshot) -> None:
    faults = [parse_fault("vf-vpd-own-serial"), parse_fault("numa-unknown@0000:03:00.1")]
    first = write("bluefield2", vfs=2, seed=5, faults=faults)
    second = write("bluefield2", vfs=2, seed=5, faults=faults)
    assert snapshot(first.root) == snapshot(second.root)


def test_the_manifest_lists_the_resolved_faults(write: WriteHost) -> None:
    host = write("bluefield2", vfs=1, faults=[parse_fault("no-vpd"), parse_fault("vf-no-netdev")])
    assert host.manifest()["faults"] == [f"no-vpd@{PF0}", f"vf-no-netdev@{VF0}"]


@pytest.mark.parametrize(
    ("fault", "vfs", "problem"),
    [
        pytest.param("no-vpd@0000:09:00.0", 2, "no PF or VF at 0000:09:00.0", id="absent"),
        pytest.param(f"pf-mac-unreadable@{VF0}", 2, "is a VF; this fault applies to a PF", id="vf"),
        pytest.param(f"vf-no-netdev@{PF0}", 2, "is a PF; this fault applies to a VF", id="pf"),
        pytest.param(f"no-vpd@{VF0}", 2, "has no VPD to damage", id="no-vpd-on-vf"),
        pytest.param("vf-no-netdev", 0, "the host has no VF", id="no-vfs"),
    ],
)
def test_a_fault_that_cannot_apply_is_a_typed_error(
    write: WriteHost, fault: str, vfs: int, problem: str
) -> None:
    with pytest.raises(SimFaultInvalid, match=problem) as raised:
        write("bluefield2", vfs=vfs, faults=[parse_fault(fault)])
    assert raised.value.code == "sim.fault.invalid"


def test_a_rejected_fault_writes_nothing(write: WriteHost, tmp_path: Path) -> None:
    with pytest.raises(SimFaultInvalid):
        write("bluefield2", vfs=1, faults=[parse_fault("no-vpd@0000:09:00.0")])
    assert list(tmp_path.iterdir()) == []

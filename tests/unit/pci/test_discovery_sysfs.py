"""Discovery from sysfs: every record field against the simulator's ground truth (§6.2-6.3, D8)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from offpath.errors import SysfsRootInvalid
from offpath.pci.device import DevType, PciDevice
from offpath.pci.discovery.sysfs_reader import discover_sysfs
from offpath.pci.vpd import ChecksumStatus
from offpath.sim.faults import FaultKind, parse_fault
from offpath.sim.host import SimHost, write_host
from offpath.sim.model import SimPf, SimVf
from offpath.sim.profile import HostProfile, load_profile

PROFILES = ("bluefield2", "bluefield3", "cx6dx", "e810")
VFS = 3

# Per profile (or fault): the simulated host and what discovery read from it.
Read = dict[str, tuple[SimHost, tuple[PciDevice, ...]]]

VF_FIELDS = (
    "vendor_id",
    "product_id",
    "dev_type",
    "device_class",
    "parent_addr",
    "numa_node",
    "driver",
    "iommu_group",
    "netdev",
    "mac_address",
    "parent_ifname",
    "vf_num",
    "pf_mac_address",
    "card_serial_number",
    "serial_source",
    "exclusion",
)
PF_FIELDS = (
    "vendor_id",
    "product_id",
    "dev_type",
    "device_class",
    "parent_addr",
    "numa_node",
    "driver",
    "iommu_group",
    "netdev",
    "mac_address",
    "card_serial_number",
    "eswitch_mode",
    "sriov_totalvfs",
    "sriov_numvfs",
    "exclusion",
)


def expected_vf(profile: HostProfile, pf: SimPf, vf: SimVf) -> dict[str, object]:
    """What a reader must find for one simulated VF."""
    source = None
    if vf.card_serial:
        source = str(vf.address) if vf.card_serial == vf.vpd_serial else str(pf.address)
    return {
        "vendor_id": profile.vf.vendor_id,
        "product_id": profile.vf.device_id,
        "dev_type": DevType.VF,
        "device_class": f"{profile.vf.device_class:06x}",
        "parent_addr": str(pf.address),
        "numa_node": vf.numa_node,
        "driver": vf.driver,
        "iommu_group": vf.iommu_group,
        "netdev": vf.ifname,
        "mac_address": vf.mac,
        "parent_ifname": pf.ifname if vf.ifname else None,
        "vf_num": vf.vf_num,
        "pf_mac_address": pf.mac if pf.mac_readable else None,
        "card_serial_number": vf.card_serial,
        "serial_source": source,
        "exclusion": None,
    }


def expected_pf(profile: HostProfile, pf: SimPf) -> dict[str, object]:
    """What a reader must find for one simulated PF."""
    return {
        "vendor_id": profile.pf.vendor_id,
        "product_id": profile.pf.device_id,
        "dev_type": DevType.PF,
        "device_class": f"{profile.pf.device_class:06x}",
        "parent_addr": None,
        "numa_node": pf.numa_node,
        "driver": pf.driver,
        "iommu_group": pf.iommu_group,
        "netdev": pf.ifname,
        "mac_address": pf.mac if pf.mac_readable else None,
        "card_serial_number": pf.card_serial,
        "eswitch_mode": profile.netdev.eswitch_mode,
        "sriov_totalvfs": pf.sriov_totalvfs,
        "sriov_numvfs": len(pf.vfs),
        "exclusion": None,
    }


def by_address(devices: tuple[PciDevice, ...]) -> dict[str, PciDevice]:
    """Devices keyed by address."""
    return {dev.address: dev for dev in devices}


@pytest.fixture(scope="module")
def hosts(tmp_path_factory: pytest.TempPathFactory) -> Read:
    """One simulated host per profile, and what discovery reads from it."""
    found: Read = {}
    for name in PROFILES:
        host = write_host(load_profile(name), tmp_path_factory.mktemp(name) / "sys", vfs=VFS)
        found[name] = (host, discover_sysfs(host.root))
    return found


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> Read:
    """One bluefield2 host per fault kind (default target), and what discovery reads."""
    found: Read = {}
    for kind in FaultKind:
        host = write_host(
            load_profile("bluefield2"),
            tmp_path_factory.mktemp(kind.value) / "sys",
            vfs=VFS,
            faults=[parse_fault(kind.value)],
        )
        found[kind.value] = (host, discover_sysfs(host.root))
    return found


def _cases(fields: tuple[str, ...]) -> list[object]:
    return [pytest.param(p, f, id=f"{p}-{f}") for p in PROFILES for f in fields]


@pytest.mark.parametrize(("profile", "field"), _cases(VF_FIELDS))
def test_vf_field_matches_the_simulator(hosts: Read, profile: str, field: str) -> None:
    host, devices = hosts[profile]
    found = by_address(devices)
    for pf in host.pfs:
        for vf in pf.vfs:
            expected = expected_vf(load_profile(profile), pf, vf)[field]
            assert getattr(found[str(vf.address)], field) == expected, vf.address


@pytest.mark.parametrize(("profile", "field"), _cases(PF_FIELDS))
def test_pf_field_matches_the_simulator(hosts: Read, profile: str, field: str) -> None:
    host, devices = hosts[profile]
    found = by_address(devices)
    for pf in host.pfs:
        assert (
            getattr(found[str(pf.address)], field) == expected_pf(load_profile(profile), pf)[field]
        )


@pytest.mark.parametrize("profile", PROFILES)
def test_every_function_is_read_once_in_address_order(hosts: Read, profile: str) -> None:
    host, devices = hosts[profile]
    addresses = [dev.address for dev in devices]
    simulated = {str(pf.address) for pf in host.pfs} | {str(vf.address) for vf in host.vfs}
    assert addresses == sorted(set(addresses)) and simulated <= set(addresses)


@pytest.mark.parametrize("profile", PROFILES)
def test_the_root_port_is_a_plain_pci_device(hosts: Read, profile: str) -> None:
    host, devices = hosts[profile]
    port = by_address(devices)[str(host.cards[0].root_port)]
    assert (port.dev_type, port.device_class, port.is_network) == (DevType.PCI, "060400", False)


@pytest.mark.parametrize("profile", PROFILES)
def test_sysfs_cannot_know_network_features(hosts: Read, profile: str) -> None:
    _, devices = hosts[profile]
    assert {(d.network_caps, d.network_caps_known) for d in devices} == {((), False)}


def test_the_pf_vpd_record_is_decoded_in_full(
    hosts: Read,
) -> None:
    host, devices = hosts["bluefield2"]
    vpd = by_address(devices)[str(host.pfs[0].address)].vpd
    assert vpd is not None
    assert (vpd.part_number, vpd.checksum, vpd.damage) == (
        "MBF2H332A-AEEOT",
        ChecksumStatus.VALID,
        (),
    )


def test_a_vf_without_vpd_has_no_record_of_its_own(
    hosts: Read,
) -> None:
    host, devices = hosts["bluefield2"]
    assert by_address(devices)[str(host.vfs[0].address)].vpd is None


def test_a_card_without_serial_gives_its_vfs_none(
    hosts: Read,
) -> None:
    host, devices = hosts["e810"]
    assert {by_address(devices)[str(vf.address)].card_serial_number for vf in host.vfs} == {None}


@pytest.mark.parametrize("fault", [kind.value for kind in FaultKind])
def test_every_record_matches_the_simulator_under_a_fault(faulty: Read, fault: str) -> None:
    host, devices = faulty[fault]
    found = by_address(devices)
    profile = load_profile("bluefield2")
    for pf in host.pfs:
        dev = found[str(pf.address)]
        assert {f: getattr(dev, f) for f in PF_FIELDS} == expected_pf(profile, pf)
        for vf in pf.vfs:
            dev = found[str(vf.address)]
            assert {f: getattr(dev, f) for f in VF_FIELDS} == expected_vf(profile, pf, vf)


def _first_pf(faulty: Read, fault: str) -> PciDevice:
    host, devices = faulty[fault]
    return by_address(devices)[str(host.pfs[0].address)]


def _first_vf(faulty: Read, fault: str) -> PciDevice:
    host, devices = faulty[fault]
    return by_address(devices)[str(host.pfs[0].vfs[0].address)]


def test_no_vpd_leaves_the_pf_and_its_vfs_without_serial(
    faulty: Read,
) -> None:
    pf, vf = _first_pf(faulty, "no-vpd"), _first_vf(faulty, "no-vpd")
    assert (pf.vpd, pf.card_serial_number, vf.card_serial_number) == (None, None, None)


def test_a_bad_checksum_keeps_the_record_but_not_the_serial(
    faulty: Read,
) -> None:
    pf = _first_pf(faulty, "bad-vpd-checksum")
    assert pf.vpd is not None and pf.vpd.serial_number and pf.card_serial_number is None


def test_a_bad_checksum_is_noted_not_fatal(
    faulty: Read,
) -> None:
    pf = _first_pf(faulty, "bad-vpd-checksum")
    assert pf.exclusion is None
    assert any("is not trusted: the read-only section's checksum is invalid" in n for n in pf.notes)


def test_a_truncated_vpd_is_noted_and_gives_no_serial(
    faulty: Read,
) -> None:
    pf = _first_pf(faulty, "truncated-vpd")
    assert (pf.vpd, pf.exclusion) == (None, None)
    assert pf.notes and pf.notes[0].startswith("its VPD is unusable: malformed VPD at byte")


def test_a_vf_without_netdev_is_still_usable_data(
    faulty: Read,
) -> None:
    vf = _first_vf(faulty, "vf-no-netdev")
    assert (vf.netdev, vf.parent_ifname, vf.driver, vf.exclusion) == (
        None,
        None,
        "vfio-pci",
        None,
    )
    assert vf.pf_mac_address is not None


def test_unknown_numa_reads_as_none(
    faulty: Read,
) -> None:
    pf, vf = _first_pf(faulty, "numa-unknown"), _first_vf(faulty, "numa-unknown")
    assert (pf.numa_node, vf.numa_node) == (None, None)


def test_an_unreadable_pf_mac_is_noted_on_its_vfs(
    faulty: Read,
) -> None:
    vf = _first_vf(faulty, "pf-mac-unreadable")
    assert vf.pf_mac_address is None and vf.exclusion is None
    assert any("the MAC address of its PF" in note for note in vf.notes)


def test_a_vf_with_its_own_vpd_uses_its_own_serial(
    faulty: Read,
) -> None:
    host, _ = faulty["vf-vpd-own-serial"]
    vf = _first_vf(faulty, "vf-vpd-own-serial")
    assert (vf.card_serial_number, vf.serial_source) == (
        host.pfs[0].vfs[0].vpd_serial,
        vf.address,
    )
    assert vf.card_serial_number != host.pfs[0].card_serial


# --- Decision D8: one damaged device never aborts the scan -------------------------------


@pytest.fixture
def host(tmp_path: Path) -> SimHost:
    """A fresh bluefield2 host that a test may damage."""
    return write_host(load_profile("bluefield2"), tmp_path / "sys", vfs=VFS)


def _device_dir(host: SimHost, address: object) -> Path:
    return (host.root / "bus" / "pci" / "devices" / str(address)).resolve()


def test_a_vf_missing_from_its_pf_virtfn_links_is_excluded(host: SimHost) -> None:
    pf = host.pfs[0]
    (_device_dir(host, pf.address) / "virtfn1").unlink()
    vf = by_address(discover_sysfs(host.root))[str(pf.vfs[1].address)]
    assert vf.exclusion == (
        f"its VF number is unknown: no virtfnN link of its PF {pf.address} points to it"
    )


def test_the_other_vfs_survive_an_excluded_one(host: SimHost) -> None:
    pf = host.pfs[0]
    (_device_dir(host, pf.address) / "virtfn1").unlink()
    found = by_address(discover_sysfs(host.root))
    assert [found[str(vf.address)].vf_num for vf in pf.vfs] == [0, None, 2]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        pytest.param("0xzz\n", "cannot read its vendor/device ids: vendor is 'zz'", id="not-hex"),
        pytest.param("", "cannot read its vendor/device ids: vendor is ''", id="empty"),
        pytest.param(None, "cannot read its vendor/device ids: No such file", id="missing"),
    ],
)
def test_unreadable_ids_exclude_the_device(host: SimHost, content: str | None, reason: str) -> None:
    target = host.pfs[1].vfs[0].address
    vendor = _device_dir(host, target) / "vendor"
    if content is None:
        vendor.unlink()
    else:
        vendor.write_text(content)
    dev = by_address(discover_sysfs(host.root))[str(target)]
    assert dev.exclusion is not None and dev.exclusion.startswith(reason)


def test_a_dangling_device_link_excludes_only_that_device(host: SimHost) -> None:
    link = host.root / "bus" / "pci" / "devices" / "0000:ff:1f.7"
    link.symlink_to("../../../devices/nowhere")
    found = by_address(discover_sysfs(host.root))
    assert found["0000:ff:1f.7"].exclusion is not None
    assert sum(1 for dev in found.values() if dev.exclusion is None) == len(found) - 1


def test_a_pf_listed_after_its_vfs_is_read_through_physfn(tmp_path: Path) -> None:
    # Addresses sort VFs of bus 03 before a PF on bus 04 would be read: the
    # VF must still get its number and the PF's MAC without the PF's turn.
    host = write_host(load_profile("bluefield2"), tmp_path / "sys", vfs=2)
    pf1 = host.pfs[1]
    vf = by_address(discover_sysfs(host.root))[str(pf1.vfs[0].address)]
    assert (vf.vf_num, vf.pf_mac_address) == (0, pf1.mac)


def test_a_missing_root_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SysfsRootInvalid, match="no such directory"):
        discover_sysfs(tmp_path / "absent")


def test_a_root_without_pci_devices_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SysfsRootInvalid, match="cannot list bus/pci/devices"):
        discover_sysfs(tmp_path)


# --- layouts the simulator does not write -----------------------------------------------


def test_a_vf_under_a_vdpa_device_is_vdpa(host: SimHost) -> None:
    vf = host.pfs[0].vfs[1]
    vf_dir = _device_dir(host, vf.address)
    (vf_dir / "vdpa0").mkdir()
    bus = host.root / "bus" / "vdpa" / "devices"
    bus.mkdir(parents=True)
    (bus / "vdpa0").symlink_to(os.path.relpath(vf_dir / "vdpa0", bus))
    dev = by_address(discover_sysfs(host.root))[str(vf.address)]
    assert (dev.dev_type, dev.vdpa_device, dev.vf_num) == (DevType.VDPA, "vdpa0", 1)


def test_representors_do_not_hide_the_uplink(host: SimHost) -> None:
    pf = host.pfs[0]
    rep = _device_dir(host, pf.address) / "net" / "aaa_pf0vf0"
    rep.mkdir()
    (rep / "address").write_text("02:00:00:00:00:01\n")
    (rep / "phys_port_name").write_text("pf0vf0\n")
    dev = by_address(discover_sysfs(host.root))[str(pf.address)]
    assert (dev.netdev, dev.mac_address) == (pf.ifname, pf.mac)


def test_the_switchdev_eswitch_mode_is_read(host: SimHost) -> None:
    pf = host.pfs[0]
    devlink = _device_dir(host, pf.address) / "net" / pf.ifname / "compat" / "devlink"
    devlink.mkdir(parents=True)
    (devlink / "mode").write_text("switchdev\n")
    assert by_address(discover_sysfs(host.root))[str(pf.address)].eswitch_mode == "switchdev"


def test_a_hand_built_tree_reads_vfs_without_netdev(sysfs_root: Path) -> None:
    found = by_address(discover_sysfs(sysfs_root))
    vf = found["0000:81:10.2"]
    assert (vf.dev_type, vf.parent_addr, vf.vf_num, vf.netdev, vf.pf_mac_address) == (
        DevType.VF,
        "0000:81:00.0",
        1,
        None,
        "3c:fd:fe:00:81:00",
    )


@pytest.mark.parametrize(
    ("address", "dev_type"),
    [
        pytest.param("0000:03:00.1", DevType.PF, id="pf-without-vfs"),
        pytest.param("0000:05:00.0", DevType.PCI, id="totalvfs-0"),
        pytest.param("0000:06:00.0", DevType.PCI, id="totalvfs-garbage"),
        pytest.param("0000:00:1f.6", DevType.PCI, id="no-sriov"),
    ],
)
def test_pf_detection_follows_sriov_totalvfs(
    sysfs_root: Path, address: str, dev_type: DevType
) -> None:
    assert by_address(discover_sysfs(sysfs_root))[address].dev_type is dev_type


def test_a_garbage_totalvfs_is_noted(sysfs_root: Path) -> None:
    dev = by_address(discover_sysfs(sysfs_root))["0000:06:00.0"]
    assert dev.notes == ("sriov_totalvfs is 'garbage', not a number",)


@pytest.fixture(scope="module")
def fuzz_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small host whose PF files the hypothesis test overwrites and restores."""
    return write_host(
        load_profile("bluefield2"), tmp_path_factory.mktemp("fuzz") / "sys", vfs=1
    ).root


@settings(max_examples=150, deadline=None)
@given(
    name=st.sampled_from(
        ["vendor", "device", "class", "numa_node", "sriov_totalvfs", "sriov_numvfs", "vpd"]
    ),
    content=st.binary(max_size=300),
)
def test_any_file_content_never_aborts_discovery(
    fuzz_root: Path, name: str, content: bytes
) -> None:
    path = (fuzz_root / "bus" / "pci" / "devices" / "0000:03:00.0").resolve() / name
    original = path.read_bytes()
    try:
        path.write_bytes(content)
        found = by_address(discover_sysfs(fuzz_root))
    finally:
        path.write_bytes(original)
    assert "0000:03:00.0" in found and len(found) == 5

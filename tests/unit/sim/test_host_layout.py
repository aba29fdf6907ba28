"""The host simulator writes the kernel's sysfs layout, for every built-in profile."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from offpath.pci.address import PciAddress
from offpath.pci.vpd import ChecksumStatus, decode_vpd
from offpath.sim.host import MANIFEST, SimHost, write_host
from offpath.sim.model import SimPf
from offpath.sim.profile import builtin_profiles, load_profile

PROFILES = builtin_profiles()
WriteHost = Callable[..., SimHost]
Snapshot = Callable[[Path], dict[str, tuple[str, bytes | str]]]

# profile -> (PF vendor:device, VF vendor:device, PF driver, VF driver)
IDS = {
    "bluefield2": ("15b3:a2d6", "15b3:101e", "mlx5_core", "mlx5_core"),
    "bluefield3": ("15b3:a2dc", "15b3:101e", "mlx5_core", "mlx5_core"),
    "cx6dx": ("15b3:101d", "15b3:101e", "mlx5_core", "mlx5_core"),
    "e810": ("8086:1592", "8086:1889", "ice", "iavf"),
}


def read(root: Path, rel: str) -> str:
    return (root / rel).read_text(encoding="ascii")


def target(link: Path) -> str:
    return str(link.readlink())


def rel(host: SimHost, address: PciAddress) -> str:
    """A function's real directory relative to the root."""
    return str(host.device_dir(address).relative_to(host.root))


def test_the_built_in_profiles_are_the_four_cards() -> None:
    assert PROFILES == ("bluefield2", "bluefield3", "cx6dx", "e810")


@pytest.mark.parametrize("profile", PROFILES)
def test_every_link_is_relative_and_resolves(write: WriteHost, profile: str) -> None:
    host = write(profile, vfs=3)
    links = [Path(d, n) for d, ds, fs in os.walk(host.root) for n in ds + fs]
    links = [path for path in links if path.is_symlink()]
    assert links
    assert all(not target(path).startswith("/") for path in links)
    assert [path for path in links if not path.exists()] == []


@pytest.mark.parametrize("profile", PROFILES)
def test_bus_pci_devices_point_into_devices(write: WriteHost, profile: str) -> None:
    host = write(profile, vfs=2)
    for function in host.functions:
        link = host.root / "bus/pci/devices" / str(function.address)
        assert target(link) == f"../../../{rel(host, function.address)}"


@pytest.mark.parametrize("profile", PROFILES)
def test_pf_and_vf_ids_and_classes(write: WriteHost, profile: str) -> None:
    host = write(profile, vfs=1)
    pf_ids, vf_ids, _, _ = IDS[profile]
    for function, ids in ((host.pfs[0], pf_ids), (host.vfs[0], vf_ids)):
        directory = rel(host, function.address)
        vendor, device = ids.split(":")
        assert read(host.root, f"{directory}/vendor") == f"0x{vendor}\n"
        assert read(host.root, f"{directory}/device") == f"0x{device}\n"
        assert read(host.root, f"{directory}/class") == "0x020000\n"
        assert re.fullmatch(r"0x[0-9a-f]{4}\n", read(host.root, f"{directory}/subsystem_vendor"))
        assert re.fullmatch(r"0x[0-9a-f]{4}\n", read(host.root, f"{directory}/subsystem_device"))


@pytest.mark.parametrize("profile", PROFILES)
def test_drivers_are_links_into_bus_pci_drivers(write: WriteHost, profile: str) -> None:
    host = write(profile, vfs=1)
    _, _, pf_driver, vf_driver = IDS[profile]
    for function, driver in ((host.pfs[0], pf_driver), (host.vfs[0], vf_driver)):
        link = host.root / rel(host, function.address) / "driver"
        assert target(link) == f"../../../../bus/pci/drivers/{driver}"
        bound = host.root / "bus/pci/drivers" / driver / str(function.address)
        assert target(bound) == f"../../../../{rel(host, function.address)}"


def test_sriov_vf_device_is_printed_without_0x(write: WriteHost) -> None:
    host = write("e810", vfs=1)
    assert read(host.root, f"{rel(host, host.pfs[0].address)}/sriov_vf_device") == "1889\n"


@pytest.mark.parametrize("profile", PROFILES)
def test_sriov_files_of_a_pf(write: WriteHost, profile: str) -> None:
    host = write(profile, vfs=5)
    pf = host.pfs[1]
    directory = rel(host, pf.address)
    totalvfs = load_profile(profile).sriov_totalvfs
    assert read(host.root, f"{directory}/sriov_totalvfs") == f"{totalvfs}\n"
    assert read(host.root, f"{directory}/sriov_numvfs") == "5\n"
    assert read(host.root, f"{directory}/sriov_stride") == "1\n"
    assert read(host.root, f"{directory}/sriov_offset") == f"{pf.sriov_offset}\n"


def rid(address: PciAddress) -> int:
    return address.bus << 8 | address.slot << 3 | address.function


@pytest.mark.parametrize("profile", PROFILES)
def test_vfs_sit_at_offset_plus_stride_of_their_pf(write: WriteHost, profile: str) -> None:
    host = write(profile, vfs=9)
    for pf in host.pfs:
        assert [rid(vf.address) - rid(pf.address) for vf in pf.vfs] == [
            pf.sriov_offset + n for n in range(9)
        ]


@pytest.mark.parametrize("profile", PROFILES)
def test_virtfn_and_physfn_links(write: WriteHost, profile: str) -> None:
    host = write(profile, vfs=3)
    for pf in host.pfs:
        pf_dir = host.root / rel(host, pf.address)
        assert sorted(p.name for p in pf_dir.glob("virtfn*")) == ["virtfn0", "virtfn1", "virtfn2"]
        for vf in pf.vfs:
            assert target(pf_dir / f"virtfn{vf.vf_num}") == f"../{vf.address}"
            vf_dir = host.root / rel(host, vf.address)
            assert target(vf_dir / "physfn") == f"../{pf.address}"


def test_mlx5_vfs_start_at_function_2_and_continue_on_the_next_slots(write: WriteHost) -> None:
    host = write("bluefield2", vfs=8)
    assert [str(vf.address) for vf in host.pfs[0].vfs] == [
        "0000:03:00.2",
        "0000:03:00.3",
        "0000:03:00.4",
        "0000:03:00.5",
        "0000:03:00.6",
        "0000:03:00.7",
        "0000:03:01.0",
        "0000:03:01.1",
    ]


def test_e810_vfs_start_after_the_eight_pf_functions(write: WriteHost) -> None:
    host = write("e810", vfs=2)
    assert [str(vf.address) for vf in host.pfs[0].vfs] == ["0000:03:01.0", "0000:03:01.1"]


def test_the_second_pf_vfs_follow_the_first_pf_whole_vf_range(write: WriteHost) -> None:
    host = write("bluefield2", vfs=1)
    # 2 PFs + 256 VFs of PF 0 come first: PF 1's VF 0 is routing id 0x0302 + 256.
    assert str(host.pfs[1].vfs[0].address) == "0000:04:00.2"
    assert host.pfs[1].sriov_offset == 257


def test_eight_pfs_of_256_vfs_have_unique_valid_addresses(write: WriteHost) -> None:
    host = write("bluefield2", vfs=256, pfs=8)
    addresses = [function.address for function in host.functions]
    assert len(addresses) == 8 + 8 * 256
    assert len(set(addresses)) == len(addresses)
    assert all(PciAddress.parse(str(address)) == address for address in addresses)
    assert len(list((host.root / "bus/pci/devices").iterdir())) == len(addresses) + 1  # + root port


@pytest.mark.parametrize("profile", PROFILES)
def test_every_function_has_its_own_iommu_group(write: WriteHost, profile: str) -> None:
    host = write(profile, vfs=2)
    groups = set()
    for function in host.functions:
        link = host.root / rel(host, function.address) / "iommu_group"
        assert target(link) == f"../../../../kernel/iommu_groups/{function.iommu_group}"
        members = [entry.name for entry in (link / "devices").iterdir()]
        assert members == [str(function.address)]
        groups.add(function.iommu_group)
    assert len(groups) == len(host.pfs) + len(host.vfs)


@pytest.mark.parametrize("profile", PROFILES)
def test_pf_netdev_files(write: WriteHost, profile: str) -> None:
    host = write(profile, vfs=0)
    for pf in host.pfs:
        net = f"{rel(host, pf.address)}/net/{pf.ifname}"
        assert read(host.root, f"{net}/address") == f"{pf.mac}\n"
        assert read(host.root, f"{net}/phys_port_name") == f"p{pf.index}\n"
        assert read(host.root, f"{net}/dev_id") == "0x0\n"
        assert read(host.root, f"{net}/dev_port") == "0\n"
        assert target(host.root / net / "device") == f"../../../{pf.address}"


@pytest.mark.parametrize("profile", PROFILES)
def test_class_net_links_to_the_netdev_directory(write: WriteHost, profile: str) -> None:
    host = write(profile, vfs=2)
    functions = host.functions
    for function in functions:
        link = host.root / "class/net" / str(function.ifname)
        expected = f"../../{rel(host, function.address)}/net/{function.ifname}"
        assert target(link) == expected
    assert len(list((host.root / "class/net").iterdir())) == len(functions)


def test_vf_netdev_has_mac_and_representor_style_port_name(write: WriteHost) -> None:
    host = write("bluefield2", vfs=4)
    vf = host.pfs[1].vfs[3]
    net = f"{rel(host, vf.address)}/net/{vf.ifname}"
    assert read(host.root, f"{net}/address") == f"{vf.mac}\n"
    assert read(host.root, f"{net}/phys_port_name") == "pf1vf3\n"


def test_iavf_vf_netdev_has_no_phys_port_name(write: WriteHost) -> None:
    host = write("e810", vfs=1)
    vf = host.vfs[0]
    assert (
        not (host.root / rel(host, vf.address) / "net" / str(vf.ifname))
        .joinpath("phys_port_name")
        .exists()
    )


@pytest.mark.parametrize(
    ("profile", "pf_name", "vf_name"),
    [
        pytest.param("bluefield2", "ens1f1np1", "ens1f1v2", id="bluefield2"),
        pytest.param("e810", "ens1f1np1", "ens1f1v2", id="e810"),
    ],
)
def test_interface_names(write: WriteHost, profile: str, pf_name: str, vf_name: str) -> None:
    host = write(profile, vfs=3)
    assert (host.pfs[1].ifname, host.pfs[1].vfs[2].ifname) == (pf_name, vf_name)


def test_interface_names_fit_ifnamsiz(write: WriteHost) -> None:
    host = write("bluefield2", vfs=256, pfs=8)
    assert max(len(str(function.ifname)) for function in host.functions) <= 15


@pytest.mark.parametrize(
    ("profile", "mode"),
    [
        pytest.param("bluefield2", None, id="bluefield2"),
        pytest.param("bluefield3", None, id="bluefield3"),
        pytest.param("cx6dx", "legacy\n", id="cx6dx"),
        pytest.param("e810", None, id="e810"),
    ],
)
def test_eswitch_mode_file(write: WriteHost, profile: str, mode: str | None) -> None:
    host = write(profile, vfs=0)
    path = host.root / "class/net" / host.pfs[0].ifname / "compat/devlink/mode"
    assert (path.read_text() if path.exists() else None) == mode


def test_pf_macs_carry_the_vendor_oui_and_are_consecutive(write: WriteHost) -> None:
    host = write("bluefield2", vfs=0)
    macs = [pf.mac for pf in host.pfs]
    assert all(mac.startswith("b8:ce:f6:") for mac in macs)
    assert int(macs[1].replace(":", ""), 16) - int(macs[0].replace(":", ""), 16) == 1


def test_vf_macs_are_locally_administered_unicast_and_unique(write: WriteHost) -> None:
    host = write("bluefield2", vfs=256, pfs=4)
    macs = [str(vf.mac) for vf in host.vfs]
    assert len(set(macs)) == len(macs)
    assert all(int(mac[:2], 16) & 0x03 == 0x02 for mac in macs)


@pytest.mark.parametrize(
    ("pfs", "numa_nodes", "expected"),
    [
        pytest.param(2, 1, [0, 0], id="one-node"),
        pytest.param(2, 2, [0, 1], id="two-pfs-two-nodes"),
        pytest.param(4, 2, [0, 0, 1, 1], id="blocks"),
        pytest.param(2, 4, [0, 2], id="more-nodes-than-pfs"),
    ],
)
def test_pfs_are_spread_over_numa_nodes(
    write: WriteHost, pfs: int, numa_nodes: int, expected: list[int]
) -> None:
    host = write("bluefield2", vfs=1, pfs=pfs, numa_nodes=numa_nodes)
    written = [int(read(host.root, f"{rel(host, pf.address)}/numa_node")) for pf in host.pfs]
    assert written == expected == [pf.numa_node for pf in host.pfs]


def test_vfs_are_on_their_pf_numa_node(write: WriteHost) -> None:
    host = write("bluefield2", vfs=2, numa_nodes=2)
    for vf in host.pfs[1].vfs:
        assert read(host.root, f"{rel(host, vf.address)}/numa_node") == "1\n"


@pytest.mark.parametrize("profile", ["bluefield2", "bluefield3", "cx6dx"])
def test_pf_vpd_decodes_with_the_card_serial(write: WriteHost, profile: str) -> None:
    host = write(profile, vfs=0)
    card = host.cards[0]
    for pf in card.pfs:
        record = decode_vpd((host.root / rel(host, pf.address) / "vpd").read_bytes())
        assert record.checksum is ChecksumStatus.VALID
        assert record.card_serial_number == card.serial == pf.card_serial
        assert record.part_number == card.part_number


@pytest.mark.parametrize("profile", ["bluefield2", "bluefield3", "cx6dx"])
def test_nvidia_vpd_has_the_vendor_fields_of_real_cards(write: WriteHost, profile: str) -> None:
    host = write(profile, vfs=0)
    record = decode_vpd((host.root / rel(host, host.pfs[0].address) / "vpd").read_bytes())
    assert record.ro_vendor_fields["2"] == record.part_number
    assert re.fullmatch(r"[0-9a-f]{32}", record.ro_vendor_fields["3"])
    assert record.ro_vendor_fields["A"].startswith("MLX:MN=MLNX:CSKU=V2:UUID=V3:PCI=V0:MODL=")
    assert re.fullmatch(r"MT\d{4}X[0-9A-Z]{5}", str(record.serial_number))


def test_e810_vpd_has_no_serial(write: WriteHost) -> None:
    host = write("e810", vfs=1)
    record = decode_vpd((host.root / rel(host, host.pfs[0].address) / "vpd").read_bytes())
    assert record.checksum is ChecksumStatus.VALID
    assert (record.card_name, record.serial_number) == (
        "Intel(R) Ethernet Network Adapter E810-CQDA2",
        None,
    )
    assert [vf.card_serial for vf in host.vfs] == [None, None]


@pytest.mark.parametrize("profile", PROFILES)
def test_vfs_have_no_vpd_by_default_and_inherit_the_pf_serial(
    write: WriteHost, profile: str
) -> None:
    host = write(profile, vfs=2)
    for pf in host.pfs:
        for vf in pf.vfs:
            assert not (host.root / rel(host, vf.address) / "vpd").exists()
            assert vf.card_serial == pf.card_serial


def test_pfs_have_no_physfn_and_vfs_no_sriov_files(write: WriteHost) -> None:
    host = write("bluefield2", vfs=1)
    pf_dir = host.root / rel(host, host.pfs[0].address)
    vf_dir = host.root / rel(host, host.vfs[0].address)
    assert not (pf_dir / "physfn").exists()
    assert not list(vf_dir.glob("sriov_*"))


def test_the_root_port_records_the_card_bus_range(write: WriteHost) -> None:
    host = write("bluefield2", vfs=256, pfs=8)
    card = host.cards[0]
    port = host.root / "devices/pci0000:00" / str(card.root_port)
    assert read(port, "secondary_bus_number") == "3\n"
    last_vf = host.vfs[-1].address
    assert read(port, "subordinate_bus_number") == f"{last_vf.bus}\n"
    assert read(port, "class") == "0x060400\n"


def test_the_root_port_is_a_bound_bridge_with_its_own_group(write: WriteHost) -> None:
    host = write("bluefield2", vfs=1)
    card = host.cards[0]
    port = host.root / "devices/pci0000:00" / str(card.root_port)
    assert target(port / "driver") == "../../../bus/pci/drivers/pcieport"
    assert target(port / "iommu_group") == f"../../../kernel/iommu_groups/{card.root_port_group}"
    assert card.root_port_group not in {function.iommu_group for function in host.functions}


def test_same_seed_same_tree(write: WriteHost, snapshot: Snapshot) -> None:
    first = write("bluefield2", vfs=4, seed=7, numa_nodes=2)
    second = write("bluefield2", vfs=4, seed=7, numa_nodes=2)
    assert snapshot(first.root) == snapshot(second.root)
    assert first.manifest() == second.manifest()


def test_another_seed_gives_other_serials_and_macs(write: WriteHost) -> None:
    first = write("bluefield2", vfs=4, seed=1)
    second = write("bluefield2", vfs=4, seed=2)
    assert first.cards[0].serial != second.cards[0].serial
    assert {vf.mac for vf in first.vfs}.isdisjoint({vf.mac for vf in second.vfs})
    assert [pf.address for pf in first.pfs] == [pf.address for pf in second.pfs]


def test_another_host_name_gives_other_serials_and_macs(write: WriteHost) -> None:
    first = write("bluefield2", vfs=4, hostname="compute-1")
    second = write("bluefield2", vfs=4, hostname="compute-2")
    assert first.cards[0].serial != second.cards[0].serial
    assert {f.mac for f in first.functions}.isdisjoint({f.mac for f in second.functions})


def test_the_manifest_is_the_returned_record(write: WriteHost) -> None:
    host = write("bluefield2", vfs=2, hostname="compute-7", seed=3)
    manifest = json.loads((host.root / MANIFEST).read_text())
    assert manifest == host.manifest()
    card = manifest["cards"][0]
    assert (manifest["hostname"], manifest["profile"], card["serial"]) == (
        "compute-7",
        "bluefield2",
        host.cards[0].serial,
    )
    assert [vf["vf_num"] for vf in card["pfs"][0]["vfs"]] == [0, 1]


def test_the_record_finds_functions_by_address(write: WriteHost) -> None:
    host = write("bluefield2", vfs=2)
    vf = host.pfs[1].vfs[1]
    assert host.function(vf.address) == vf
    assert isinstance(host.function(host.pfs[0].address), SimPf)
    assert host.function(PciAddress(0, 0x99, 0, 0)) is None


USER_PROFILE = """
name: twocards
description: two single-port cards, VPD on the VFs too
cards: 2
pfs_per_card: 1
pf: {vendor_id: "15b3", device_id: "101d", driver: mlx5_core}
vf: {vendor_id: "15b3", device_id: "101e", driver: mlx5_core}
sriov: {totalvfs: 16, default_vfs: 2}
netdev:
  pf_ifname: "enp{slot}s0f{pf}"
  vf_ifname: "enp{slot}s0f{pf}v{vf}"
  pf_mac_oui: "0c:42:a1"
vpd:
  on_vfs: true
  card_name: "Card {card}"
  serial_prefix: SIM
  read_only: {PN: P-1, SN: "{serial}"}
"""


def test_a_user_profile_with_two_cards(tmp_path: Path) -> None:
    path = tmp_path / "twocards.yaml"
    path.write_text(USER_PROFILE)
    host = write_host(load_profile(path), tmp_path / "sys")
    first, second = host.cards
    assert first.serial != second.serial
    assert (first.root_port, second.root_port) == (PciAddress(0, 0, 2, 0), PciAddress(0, 0, 3, 0))
    assert second.buses[0] == first.buses[1] + 1
    assert [pf.ifname for pf in host.pfs] == ["enp1s0f0", "enp2s0f0"]
    vf = second.pfs[0].vfs[1]
    record = decode_vpd((host.root / "bus/pci/devices" / str(vf.address) / "vpd").read_bytes())
    assert (record.card_name, record.card_serial_number) == ("Card 1", second.serial)
    assert vf.vpd_serial == vf.card_serial == second.serial

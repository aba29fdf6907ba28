"""Pool keys, identity, order, inventory changes (§3.1); pool presence (§3.5)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import pytest

from offpath.errors import PciDeviceAlreadyTracked, PciDeviceInvalidStatus, PciDevicePoolEmpty
from offpath.jsonvalue import JsonValue
from offpath.pci.device import DevType, PciDevice
from offpath.pci.pool_key import PoolKey, pool_key
from offpath.pci.pools import PciPools
from offpath.pci.request import PciRequest
from offpath.pci.selection import select_devices
from offpath.pci.spec import DeviceSpec
from offpath.pci.spec_list import DeviceSpecList
from tests.unit.pci.selections import pools_of, selected

# The specs below select by vendor and product only, so no sysfs is read.
NO_SYSFS = Path("/nonexistent-sysfs-root")
HOST = "compute-1"
PF0, PF1 = "0000:03:00.0", "0000:03:00.1"
SERIAL = "MT2113X00000"


def specs(*entries: Mapping[str, JsonValue]) -> DeviceSpecList:
    return DeviceSpecList.from_values([json.dumps(e) for e in entries], sysfs_root=NO_SYSFS)


RM_VF = {"vendor_id": "15b3", "product_id": "101e", "remote_managed": "true"}
VF_SPEC = {"vendor_id": "15b3", "product_id": "101e", "physical_network": "physnet1"}
PF_SPEC = {"vendor_id": "15b3", "product_id": "a2d6", "physical_network": "physnet1"}
VDPA_SPEC = {"vendor_id": "15b3", "product_id": "101f"}
PCI_SPEC = {"vendor_id": "8086", "product_id": "1572"}
SPECS = specs(RM_VF, VF_SPEC, PF_SPEC, VDPA_SPEC, PCI_SPEC)


def pf(address: str = PF0, *, numa: int | None = 0) -> PciDevice:
    return PciDevice(address, "15b3", "a2d6", DevType.PF, numa_node=numa)


def vf(
    address: str,
    parent: str = PF0,
    *,
    numa: int | None = 0,
    serial: str | None = None,
    parent_ifname: str | None = None,
) -> PciDevice:
    return PciDevice(
        address,
        "15b3",
        "101e",
        DevType.VF,
        parent_addr=parent,
        numa_node=numa,
        card_serial_number=serial,
        parent_ifname=parent_ifname,
    )


def vdpa(address: str, parent: str = PF0) -> PciDevice:
    return PciDevice(address, "15b3", "101f", DevType.VDPA, parent_addr=parent, numa_node=0)


def pci(address: str = "0000:05:00.0", *, serial: str | None = None) -> PciDevice:
    return PciDevice(address, "8086", "1572", DevType.PCI, numa_node=1, card_serial_number=serial)


def key_of(device: PciDevice, spec_list: DeviceSpecList = SPECS) -> dict[str, JsonValue]:
    spec = spec_list.first_match(device)
    assert spec is not None
    return dict(pool_key(device, spec.pool_tags()).props)


def counts(pools: PciPools) -> list[tuple[str | None, str | None, int]]:
    return [(p.key.dev_type, p.key.address, p.count) for p in pools]


# -- keys ---------------------------------------------------------------------


def test_a_vf_key_holds_device_facts_spec_tags_and_its_pf_address() -> None:
    assert key_of(vf("0000:03:00.2")) == {
        "product_id": "101e",
        "vendor_id": "15b3",
        "numa_node": 0,
        "dev_type": "type-VF",
        "physical_network": "physnet1",
        "address": PF0,
        "remote_managed": "false",
    }


@pytest.mark.parametrize(
    ("device", "address"),
    [
        pytest.param(vf("0000:03:00.2"), PF0, id="vf-pools-under-its-pf"),
        pytest.param(vdpa("0000:03:00.6"), PF0, id="vdpa-pools-under-its-pf"),
        pytest.param(pf(PF1), PF1, id="pf-own-address"),
        pytest.param(pci("0000:05:00.0"), "0000:05:00.0", id="pci-own-address"),
    ],
)
def test_the_address_key_is_the_parent_or_own_address(device: PciDevice, address: str) -> None:
    assert key_of(device)["address"] == address


@pytest.mark.parametrize(
    ("device", "spec", "value"),
    [
        pytest.param(vf("0000:03:00.2"), VF_SPEC, "false", id="vf-default-false"),
        pytest.param(pf(), PF_SPEC, "false", id="pf-default-false"),
        pytest.param(vdpa("0000:03:00.6"), VDPA_SPEC, "false", id="vdpa-default-false"),
        pytest.param(pci(), PCI_SPEC, None, id="type-pci-never-defaulted"),
        pytest.param(vf("0000:03:00.2", serial=SERIAL), RM_VF, "true", id="explicit-true-kept"),
        pytest.param(
            pci(serial=SERIAL), {**PCI_SPEC, "remote_managed": "true"}, "true", id="pci-explicit"
        ),
    ],
)
def test_remote_managed_default(
    device: PciDevice, spec: Mapping[str, JsonValue], value: str | None
) -> None:
    assert key_of(device, specs(spec)).get("remote_managed") == value


def test_a_null_remote_managed_tag_is_defaulted_too() -> None:
    # Config parsing refuses null (D3); a spec built in code may still carry it.
    spec = DeviceSpec(0, "15b3", "101e", None, None, {"remote_managed": None}, source="")
    assert pool_key(vf("0000:03:00.2"), spec.pool_tags()).props["remote_managed"] == "false"


def test_placement_only_tags_are_not_pool_keys() -> None:
    spec = {**PCI_SPEC, "resource_class": "CUSTOM_NIC", "traits": "CUSTOM_FAST", "color": "red"}
    key = key_of(pci(), specs(spec))
    assert ("resource_class" in key, "traits" in key, key["color"]) == (False, False, "red")


def test_parent_ifname_is_a_key_when_known() -> None:
    assert key_of(vf("0000:03:00.2", parent_ifname="p0"))["parent_ifname"] == "p0"


def test_parent_ifname_is_absent_when_unknown() -> None:
    assert "parent_ifname" not in key_of(vf("0000:03:00.2"))


def test_device_facts_win_over_a_spec_tag_of_the_same_name() -> None:
    key = key_of(vf("0000:03:00.2"), specs({**VF_SPEC, "numa_node": 7, "dev_type": "type-PCI"}))
    assert (key["numa_node"], key["dev_type"]) == (0, "type-VF")


def test_pool_keys_with_equal_properties_are_equal_whatever_their_order() -> None:
    a = PoolKey.of({"vendor_id": "15b3", "tags": ["x", "y"], "numa_node": 0})
    b = PoolKey.of({"numa_node": 0, "tags": ["x", "y"], "vendor_id": "15b3"})
    assert (a == b, hash(a) == hash(b)) == (True, True)


def test_pool_keys_with_one_more_property_differ() -> None:
    assert PoolKey.of({"a": "1"}) != PoolKey.of({"a": "1", "b": None})


# -- identity and order -------------------------------------------------------


def test_vfs_of_one_pf_with_the_same_tags_share_a_pool() -> None:
    pools = pools_of(SPECS, [vf("0000:03:00.2"), vf("0000:03:00.3")], host=HOST)
    assert counts(pools) == [("type-VF", PF0, 2)]


def test_vfs_of_two_pfs_get_two_pools() -> None:
    pools = pools_of(SPECS, [vf("0000:03:00.2"), vf("0000:03:08.2", PF1)], host=HOST)
    assert counts(pools) == [("type-VF", PF0, 1), ("type-VF", PF1, 1)]


def test_remote_managed_and_plain_vfs_of_one_pf_get_two_pools() -> None:
    devices = [vf("0000:03:00.2", serial=SERIAL), vf("0000:03:00.3")]
    pools = pools_of(SPECS, devices, host=HOST)
    assert [p.key.props["remote_managed"] for p in pools] == ["true", "false"]


def test_a_vf_without_serial_falls_to_the_next_spec() -> None:
    pools = pools_of(SPECS, [vf("0000:03:00.2", serial=None)], host=HOST)
    assert pools.pools[0].key.props["physical_network"] == "physnet1"


def test_pools_are_ordered_by_number_of_keys_then_creation() -> None:
    plain_pci = pci("0000:05:00.0")  # 5 keys: no remote_managed
    devices = [vf("0000:03:00.2"), pf(PF1), plain_pci, vf("0000:03:08.2", PF1)]
    pools = pools_of(SPECS, devices, host=HOST)
    assert counts(pools) == [
        ("type-PCI", "0000:05:00.0", 1),
        ("type-VF", PF0, 1),
        ("type-PF", PF1, 1),
        ("type-VF", PF1, 1),
    ]


def test_devices_without_a_matching_spec_are_ignored() -> None:
    stranger = PciDevice("0000:07:00.0", "1af4", "1000", DevType.PCI)
    pools = pools_of(SPECS, [stranger], host=HOST)
    assert len(pools) == 0


def test_a_device_without_a_matching_spec_has_no_selection_to_add_or_remove() -> None:
    # Pools only ever see selected devices: what no spec selects is left out at discovery.
    assert select_devices([PciDevice("0000:07:00.0", "1af4", "1000", DevType.PCI)], SPECS) == ()


# -- inventory changes ----------------------------------------------------------


def test_add_device_appends_to_its_pool() -> None:
    pools = pools_of(SPECS, [vf("0000:03:00.2")], host=HOST)
    pools.add_device(selected(vf("0000:03:00.3"), SPECS))
    assert [d.address for d in pools.pools[0].devices] == ["0000:03:00.2", "0000:03:00.3"]


def test_adding_a_tracked_address_again_is_refused() -> None:
    pools = pools_of(SPECS, [vf("0000:03:00.2")], host=HOST)
    with pytest.raises(PciDeviceAlreadyTracked) as caught:
        pools.add_device(selected(vf("0000:03:00.2"), SPECS))
    assert caught.value.message == "PCI device compute-1:0000:03:00.2 is already in the pools"


def test_remove_device_decrements_its_pool() -> None:
    pools = pools_of(SPECS, [vf("0000:03:00.2"), vf("0000:03:00.3")], host=HOST)
    pools.remove_device(selected(vf("0000:03:00.2"), SPECS))
    assert counts(pools) == [("type-VF", PF0, 1)]


def test_removing_the_last_device_drops_the_pool() -> None:
    pools = pools_of(SPECS, [vf("0000:03:00.2"), pci()], host=HOST)
    pools.remove_device(selected(vf("0000:03:00.2"), SPECS))
    assert counts(pools) == [("type-PCI", "0000:05:00.0", 1)]


def test_removing_an_unknown_device_is_nova_s_empty_pool_error() -> None:
    pools = pools_of(SPECS, [], host=HOST)
    with pytest.raises(PciDevicePoolEmpty) as caught:
        pools.remove_device(selected(vf("0000:03:00.2"), SPECS))
    assert caught.value.message == (
        "Attempt to consume PCI device compute-1:0000:03:00.2 from empty pool"
    )


def test_a_device_in_use_cannot_be_removed() -> None:
    pools = pools_of(SPECS, [], taken=[pci()], host=HOST)
    with pytest.raises(PciDeviceInvalidStatus, match="is claimed instead of available"):
        pools.remove_device(selected(pci(), SPECS))


def test_a_vf_turned_pf_moves_to_a_pf_pool() -> None:
    pools = pools_of(SPECS, [vf("0000:03:00.2"), vf("0000:03:00.3")], host=HOST)
    turned = PciDevice("0000:03:00.3", "15b3", "101e", DevType.PF, numa_node=0)
    pools.update_device(selected(turned, SPECS))
    assert counts(pools) == [("type-VF", PF0, 1), ("type-PF", "0000:03:00.3", 1)]


def test_update_with_the_same_dev_type_changes_nothing() -> None:
    pools = pools_of(SPECS, [vf("0000:03:00.2")], host=HOST)
    before = pools.snapshot()
    pools.update_device(selected(vf("0000:03:00.2", numa=1), SPECS))
    assert pools.snapshot() == before


def test_free_devices_lists_every_pool_in_order() -> None:
    devices = [vf("0000:03:00.2"), pci(), vf("0000:03:00.3")]
    pools = pools_of(SPECS, devices, host=HOST)
    assert [d.address for d in pools.free_devices()] == [
        "0000:05:00.0",
        "0000:03:00.2",
        "0000:03:00.3",
    ]


# -- pool presence (§3.5) -------------------------------------------------------


def test_remote_managed_pools_are_present_with_a_remote_managed_vf() -> None:
    pools = pools_of(SPECS, [vf("0000:03:00.2", serial=SERIAL)], host=HOST)
    assert pools.has_remote_managed_pools()


def test_remote_managed_pools_are_absent_with_plain_vfs_only() -> None:
    pools = pools_of(SPECS, [vf("0000:03:00.2"), pf()], host=HOST)
    assert not pools.has_remote_managed_pools()


def test_an_exhausted_remote_managed_pool_still_counts_as_present() -> None:
    pools = pools_of(SPECS, [vf("0000:03:00.2", serial=SERIAL)], host=HOST)
    pools.consume([PciRequest(1, ({"remote_managed": "True"},), "r1")])
    assert (pools.pools[0].count, pools.has_remote_managed_pools()) == (0, True)


def test_remote_managed_pools_count_when_every_such_vf_was_taken_at_start() -> None:
    pools = pools_of(SPECS, [], taken=[vf("0000:03:00.2", serial=SERIAL)], host=HOST)
    assert pools.has_remote_managed_pools()

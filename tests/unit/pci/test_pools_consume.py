"""support / consume / free (§3.5): PF/VF exclusivity, clean failures (D7, §14.10, §14.11)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import pytest

from offpath.errors import (
    PciDeviceInvalidStatus,
    PciDeviceNotFound,
    PciDevicePFInvalidStatus,
    PciDeviceRequestFailed,
    PciDeviceVFInvalidStatus,
)
from offpath.jsonvalue import JsonValue
from offpath.pci.device import DevType, PciDevice
from offpath.pci.numa import NumaCell
from offpath.pci.pools import PciPools
from offpath.pci.request import NumaPolicy, PciRequest
from offpath.pci.spec_list import DeviceSpecList
from tests.unit.pci.selections import pools_of, selected

# The specs below select by vendor and product only, so no sysfs is read.
NO_SYSFS = Path("/nonexistent-sysfs-root")
HOST = "compute-1"
PF0, PF1 = "0000:03:00.0", "0000:81:00.0"
SERIAL = "MT2113X00000"


def specs(*entries: Mapping[str, JsonValue]) -> DeviceSpecList:
    return DeviceSpecList.from_values([json.dumps(e) for e in entries], sysfs_root=NO_SYSFS)


SPECS = specs(
    {"vendor_id": "15b3", "product_id": "101e", "remote_managed": "true"},
    {"vendor_id": "15b3", "product_id": "101e", "physical_network": "physnet1"},
    {"vendor_id": "15b3", "product_id": "a2d6", "physical_network": "physnet1"},
    {"vendor_id": "15b3", "product_id": "101f", "physical_network": "physnet1"},
)


def pf(address: str = PF0, *, numa: int | None = 0) -> PciDevice:
    return PciDevice(address, "15b3", "a2d6", DevType.PF, numa_node=numa)


def vf(
    address: str, parent: str = PF0, *, numa: int | None = 0, serial: str | None = None
) -> PciDevice:
    return PciDevice(
        address,
        "15b3",
        "101e",
        DevType.VF,
        parent_addr=parent,
        numa_node=numa,
        card_serial_number=serial,
    )


def vdpa(address: str, parent: str = PF0) -> PciDevice:
    return PciDevice(address, "15b3", "101f", DevType.VDPA, parent_addr=parent, numa_node=0)


VF_ANY = PciRequest(1, ({"vendor_id": "15b3", "product_id": "101e"},), "vf")
PF_ANY = PciRequest(1, ({"dev_type": "type-PF"},), "pf", alias_name="pf")
RM = PciRequest(1, ({"remote_managed": "True", "physical_network": None},), "rm")
VDPA_ANY = PciRequest(1, ({"dev_type": "vdpa"},), "vdpa")


def one_family(*, vfs: int = 2, rm_vfs: int = 0) -> PciPools:
    """PF0 with `vfs` plain VFs (03:00.2...) and `rm_vfs` remote-managed ones (03:01.x)."""
    devices = [pf()]
    devices += [vf(f"0000:03:00.{2 + i}") for i in range(vfs)]
    devices += [vf(f"0000:03:01.{i}", serial=SERIAL) for i in range(rm_vfs)]
    return pools_of(SPECS, devices, host=HOST)


def addresses(devices: list[PciDevice]) -> list[str]:
    return [d.address for d in devices]


def free(pools: PciPools) -> list[str]:
    return addresses(pools.free_devices())


# -- consume ----------------------------------------------------------------------------


def test_consume_takes_from_the_end_of_the_pool() -> None:
    pools = one_family(vfs=3)
    assert addresses(pools.consume([VF_ANY])) == ["0000:03:00.4"]


def test_consume_walks_pools_in_order_taking_what_each_has() -> None:
    devices = [vf("0000:03:00.2"), vf("0000:81:00.2", PF1), vf("0000:81:00.3", PF1)]
    pools = pools_of(SPECS, devices, host=HOST)
    taken = pools.consume([PciRequest(3, VF_ANY.spec, "r")])
    assert addresses(taken) == ["0000:03:00.2", "0000:81:00.3", "0000:81:00.2"]


def test_consume_serves_requests_in_order() -> None:
    pools = one_family(vfs=1, rm_vfs=1)
    taken = pools.consume([RM, PciRequest(1, ({"remote_managed": "False"},), "plain")])
    assert addresses(taken) == ["0000:03:01.0", "0000:03:00.2"]


def test_a_consumed_pool_stays_listed_at_zero() -> None:
    pools = pools_of(SPECS, [vf("0000:03:00.2")], host=HOST)
    pools.consume([VF_ANY])
    assert [p.count for p in pools] == [0]


def test_a_failed_request_is_nova_s_request_failed() -> None:
    pools = pools_of(SPECS, [], host=HOST)
    with pytest.raises(PciDeviceRequestFailed) as caught:
        pools.consume([RM])
    assert caught.value.message == (
        "PCI device request [{'count': 1, 'spec': [{'remote_managed': 'True', "
        "'physical_network': None}], 'request_id': 'rm'}] failed"
    )


def test_consume_uses_numa_cells() -> None:
    devices = [vf("0000:03:00.2", numa=0), vf("0000:81:00.2", PF1, numa=1)]
    pools = pools_of(SPECS, devices, host=HOST)
    required = PciRequest(1, VF_ANY.spec, "r", numa_policy=NumaPolicy.REQUIRED)
    assert addresses(pools.consume([required], [NumaCell(1)])) == ["0000:81:00.2"]


def test_consume_follows_placement_per_rp() -> None:
    devices = [vf("0000:03:00.2"), vf("0000:81:00.2", PF1), vf("0000:81:00.3", PF1)]
    pools = pools_of(SPECS, devices, host=HOST)
    pools.assign_rp_uuids({PF0: "rp-0", PF1: "rp-1"})
    req = PciRequest(2, ({"vendor_id": "15b3", "rp_uuids": "rp-1,rp-1"},), "r", alias_name="a")
    assert addresses(pools.consume([req])) == ["0000:81:00.3", "0000:81:00.2"]


def test_two_pools_on_one_rp_fail_a_placement_request() -> None:
    pools = one_family(vfs=1, rm_vfs=1)
    pools.assign_rp_uuids({PF0: "rp-0"})
    both = ({"rp_uuids": "rp-0", "remote_managed": "true"}, {"remote_managed": "false"})
    req = PciRequest(1, both, "r", alias_name="a")
    assert not pools.support([req])


def test_support_reads_the_scheduler_s_provider_mapping() -> None:
    devices = [vf("0000:03:00.2"), vf("0000:81:00.2", PF1)]
    pools = pools_of(SPECS, devices, host=HOST)
    pools.assign_rp_uuids({PF0: "rp-0", PF1: "rp-1"})
    req = PciRequest(2, ({"vendor_id": "15b3"},), "r", alias_name="a")
    verdicts = (
        pools.support([req], provider_mapping={"r-0": ["rp-0"], "r-1": ["rp-1"]}),
        pools.support([req], provider_mapping={"r-0": ["rp-1"], "r-1": ["rp-1"]}),
    )
    assert verdicts == (True, False)


# -- support is side-effect free ----------------------------------------------------------


@pytest.mark.parametrize(
    "requests",
    [
        pytest.param([VF_ANY], id="succeeds"),
        pytest.param([VF_ANY, PF_ANY], id="fails-on-the-second"),
        pytest.param([PciRequest(9, VF_ANY.spec, "r")], id="fails-at-once"),
    ],
)
def test_support_leaves_the_pools_as_they_were(requests: list[PciRequest]) -> None:
    pools = one_family(vfs=2, rm_vfs=1)
    before = pools.snapshot()
    pools.support(requests)
    assert pools.snapshot() == before


# -- D7: PF/VF exclusivity ------------------------------------------------------------------


def test_d7_taking_a_vf_makes_its_pf_unavailable() -> None:
    pools = one_family(vfs=2)
    pools.consume([VF_ANY])
    assert free(pools) == ["0000:03:00.2"]


def test_d7_taking_a_pf_makes_its_vfs_unavailable() -> None:
    pools = one_family(vfs=2)
    pools.consume([PF_ANY])
    assert free(pools) == []


def test_d7_taking_a_vdpa_device_makes_its_pf_unavailable() -> None:
    pools = pools_of(SPECS, [pf(), vdpa("0000:03:00.6")], host=HOST)
    pools.consume([VDPA_ANY])
    assert not pools.support([PF_ANY])


def test_d7_a_pf_with_a_vf_in_use_cannot_be_taken() -> None:
    pools = one_family(vfs=2)
    pools.consume([VF_ANY])
    with pytest.raises(PciDeviceRequestFailed):
        pools.consume([PF_ANY])


def test_d7_a_pf_is_free_again_only_when_its_last_vf_is() -> None:
    pools = one_family(vfs=2)
    first = pools.consume([VF_ANY])
    second = pools.consume([VF_ANY])
    pools.free(first)
    still_blocked = pools.support([PF_ANY])
    pools.free(second)
    assert (still_blocked, pools.support([PF_ANY])) == (False, True)


def test_d7_14_10_support_knows_a_pf_and_its_vf_exclude_each_other() -> None:
    # Nova's scheduler says yes here (§14.10); the claim would then fail.
    pools = one_family(vfs=2)
    assert not pools.support([PF_ANY, VF_ANY])


def test_d7_14_10_support_agrees_with_consume_when_another_pf_can_serve() -> None:
    devices = [pf(), vf("0000:03:00.2"), pf(PF1)]
    pools = pools_of(SPECS, devices, host=HOST)
    assert (pools.support([VF_ANY, PF_ANY]), addresses(pools.consume([VF_ANY, PF_ANY]))) == (
        True,
        ["0000:03:00.2", PF1],
    )


def test_d7_a_request_for_pfs_or_vfs_never_takes_a_pf_with_its_vf() -> None:
    either = PciRequest(2, ({"dev_type": "type-PF"}, {"dev_type": "type-VF"}), "r", alias_name="a")
    pools = pools_of(SPECS, [pf(), vf("0000:03:00.2")], host=HOST)
    assert not pools.support([either])


def test_d7_devices_taken_at_start_block_their_dependents() -> None:
    pools = pools_of(SPECS, [pf(), vf("0000:03:00.2")], taken=[vf("0000:03:00.3")])
    assert free(pools) == ["0000:03:00.2"]


def test_d7_a_vf_added_under_a_pf_in_use_is_unavailable() -> None:
    pools = pools_of(SPECS, [vf("0000:03:00.2")], taken=[pf()])
    pools.add_device(selected(vf("0000:03:00.3"), SPECS))
    assert free(pools) == []


@pytest.mark.parametrize(
    ("taken", "error"),
    [
        pytest.param([pf(), vf("0000:03:00.2")], PciDevicePFInvalidStatus, id="pf-then-vf"),
        pytest.param([vf("0000:03:00.2"), pf()], PciDeviceVFInvalidStatus, id="vf-then-pf"),
    ],
)
def test_d7_a_pf_and_its_vf_cannot_both_be_taken_at_start(
    taken: list[PciDevice], error: type[Exception]
) -> None:
    with pytest.raises(error):
        pools_of(SPECS, [], taken=taken, host=HOST)


# -- D7 / §14.11: a failed consume changes nothing -------------------------------------------


def test_d7_14_11_a_failed_consume_restores_the_dependents_it_blocked() -> None:
    pools = one_family(vfs=2)
    before = pools.snapshot()
    with pytest.raises(PciDeviceRequestFailed):
        pools.consume([VF_ANY, PF_ANY])
    assert pools.snapshot() == before


def test_d7_14_11_a_walk_that_runs_short_fails_and_changes_nothing() -> None:
    either = PciRequest(2, ({"dev_type": "type-PF"}, {"dev_type": "type-VF"}), "r", alias_name="a")
    pools = pools_of(SPECS, [pf(), vf("0000:03:00.2")], host=HOST)
    before = pools.snapshot()
    with pytest.raises(PciDeviceRequestFailed):
        pools.consume([either])
    assert pools.snapshot() == before


# -- free -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "requests",
    [
        pytest.param([VF_ANY], id="vf"),
        pytest.param([PF_ANY], id="pf"),
        pytest.param([PciRequest(3, VF_ANY.spec, "r"), RM], id="several"),
    ],
)
def test_consume_then_free_restores_the_pools_exactly(requests: list[PciRequest]) -> None:
    pools = one_family(vfs=3, rm_vfs=2)
    before = pools.snapshot()
    pools.free(pools.consume(requests))
    assert pools.snapshot() == before


def test_free_in_any_order_restores_the_device_order() -> None:
    pools = one_family(vfs=4)
    taken = pools.consume([PciRequest(3, VF_ANY.spec, "r")])
    pools.free(sorted(taken, key=lambda d: d.address))
    assert free(pools) == [
        "0000:03:00.0",
        "0000:03:00.2",
        "0000:03:00.3",
        "0000:03:00.4",
        "0000:03:00.5",
    ]


def test_freeing_a_free_device_is_refused() -> None:
    pools = one_family(vfs=1)
    with pytest.raises(PciDeviceInvalidStatus, match="is available instead of claimed"):
        pools.free([vf("0000:03:00.2")])


def test_freeing_an_unknown_device_is_refused() -> None:
    pools = one_family(vfs=1)
    with pytest.raises(PciDeviceNotFound):
        pools.free([vf("0000:09:00.2", "0000:09:00.0")])


def test_a_refused_free_frees_nothing() -> None:
    pools = one_family(vfs=2)
    taken = pools.consume([VF_ANY])
    before = pools.snapshot()
    with pytest.raises(PciDeviceInvalidStatus):
        pools.free([*taken, vf("0000:03:00.2")])
    assert pools.snapshot() == before

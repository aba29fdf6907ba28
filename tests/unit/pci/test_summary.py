"""Compact scheduler-side summaries: shared shapes, in-place refresh, the pools' answers (D7)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import pytest

from offpath.jsonvalue import JsonValue
from offpath.pci.device import DevType, PciDevice
from offpath.pci.numa import NumaCell
from offpath.pci.pools import PciPools
from offpath.pci.request import NumaPolicy, PciRequest
from offpath.pci.spec_list import DeviceSpecList
from offpath.pci.summary import SummaryCatalog
from tests.unit.pci.selections import pools_of, selected

# The specs below select by vendor and product only, so no sysfs is read.
NO_SYSFS = Path("/nonexistent-sysfs-root")
SERIAL = "MT2113X00000"
PF0, PF1 = "0000:03:00.0", "0000:81:00.0"
CELLS = (NumaCell(0, socket=0), NumaCell(1, socket=1))


def specs(*entries: Mapping[str, JsonValue]) -> DeviceSpecList:
    return DeviceSpecList.from_values([json.dumps(e) for e in entries], sysfs_root=NO_SYSFS)


SPECS = specs(
    {"vendor_id": "15b3", "product_id": "101e", "remote_managed": "true"},
    {"vendor_id": "15b3", "product_id": "101e", "physical_network": "physnet1"},
    {"vendor_id": "15b3", "product_id": "a2d6", "physical_network": "physnet1"},
)

RM = PciRequest(1, ({"remote_managed": "True", "physical_network": None},), "rm")
VF_ANY = PciRequest(1, ({"dev_type": "type-VF"},), "vf", alias_name="a")
PF_ANY = PciRequest(1, ({"dev_type": "type-PF"},), "pf", alias_name="a")
PF_OR_VF = PciRequest(2, ({"dev_type": "type-PF"}, {"dev_type": "type-VF"}), "r", alias_name="a")


def host(*, rm_vfs: int = 2, plain_vfs: int = 2, pf1: bool = True, taken: int = 0) -> PciPools:
    """PF0 (NUMA 0) with remote-managed and plain VFs; PF1 (NUMA 1) with one plain VF.

    Pools: PF0's remote-managed VFs (fewest keys), PF0, its plain VFs, PF1, its VF.
    """
    devices = [PciDevice(PF0, "15b3", "a2d6", DevType.PF, numa_node=0)]
    for function in range(rm_vfs + plain_vfs):
        devices.append(
            PciDevice(
                f"0000:03:00.{function + 1}",
                "15b3",
                "101e",
                DevType.VF,
                parent_addr=PF0,
                numa_node=0,
                card_serial_number=SERIAL if function < rm_vfs else None,
            )
        )
    if pf1:
        devices.append(PciDevice(PF1, "15b3", "a2d6", DevType.PF, numa_node=1))
        devices.append(
            PciDevice("0000:81:00.1", "15b3", "101e", DevType.VF, parent_addr=PF1, numa_node=1)
        )
    return pools_of(SPECS, devices, taken=devices[:taken], host_cells=CELLS)


def test_hosts_with_the_same_pools_share_one_shape() -> None:
    catalog = SummaryCatalog()
    a, b = catalog.summarize(host()), catalog.summarize(host(taken=1))
    assert (a.shape is b.shape, len(catalog), len(catalog.keys)) == (True, 1, 5)


def test_a_summary_holds_the_free_counts_in_pool_order() -> None:
    pools = host()
    summary = SummaryCatalog().summarize(pools)
    assert list(summary.counts) == [p.count for p in pools] == [2, 1, 2, 1, 1]


def test_counts_are_small_unsigned_ints() -> None:
    assert SummaryCatalog().summarize(host()).counts.typecode == "H"


@pytest.mark.parametrize(
    ("pools", "requests", "answer"),
    [
        pytest.param(host(), [RM], True, id="remote-managed-vf"),
        pytest.param(host(rm_vfs=0), [RM], False, id="no-remote-managed-vf"),
        pytest.param(host(), [PciRequest(3, RM.spec, "r")], False, id="too-few"),
        pytest.param(host(), [RM, RM], True, id="two-requests"),
        pytest.param(host(), [VF_ANY, PF_ANY], True, id="vf-here-pf-there"),
        pytest.param(host(pf1=False), [VF_ANY, PF_ANY], False, id="d7-pf-and-its-vf"),
        pytest.param(host(pf1=False), [PF_ANY, VF_ANY], False, id="d7-vf-under-taken-pf"),
        pytest.param(host(pf1=False, rm_vfs=0, plain_vfs=1), [PF_OR_VF], False, id="d7-one-walk"),
        pytest.param(host(rm_vfs=0, plain_vfs=1), [PF_OR_VF], True, id="d7-walk-two-pfs"),
    ],
)
def test_support_answers_as_the_pools(
    pools: PciPools, requests: list[PciRequest], answer: bool
) -> None:
    catalog = SummaryCatalog()
    summary = catalog.summarize(pools)
    compiled = catalog.compile(requests)
    verdicts = (
        catalog.support(summary, compiled),
        catalog.hosts_supporting({"h": summary}, compiled) == ["h"],
        pools.support(requests),
    )
    assert verdicts == (answer, answer, answer)


def test_d7_a_pf_with_a_vf_in_use_counts_zero() -> None:
    pools = host(pf1=False)
    pools.consume([VF_ANY])
    summary = SummaryCatalog().summarize(pools)
    assert (pools.pools[1].key.address, summary.counts[1]) == (PF0, 0)


@pytest.mark.parametrize(
    ("policy", "cells", "answer"),
    [
        pytest.param(NumaPolicy.REQUIRED, [NumaCell(1)], False, id="required-remote"),
        pytest.param(NumaPolicy.REQUIRED, [NumaCell(0)], True, id="required-local"),
        pytest.param(NumaPolicy.PREFERRED, [NumaCell(1)], True, id="preferred-remote"),
        pytest.param(NumaPolicy.SOCKET, [NumaCell(1)], False, id="socket-other-socket"),
    ],
)
def test_support_with_numa_cells(policy: NumaPolicy, cells: list[NumaCell], answer: bool) -> None:
    pools = host()
    catalog = SummaryCatalog()
    compiled = catalog.compile([PciRequest(1, RM.spec, "r", numa_policy=policy)])
    verdicts = (
        catalog.support(catalog.summarize(pools), compiled, cells),
        pools.support([PciRequest(1, RM.spec, "r", numa_policy=policy)], cells),
    )
    assert verdicts == (answer, answer)


def test_support_follows_placement_rps() -> None:
    pools = host()
    pools.assign_rp_uuids({PF0: "rp-0", PF1: "rp-1"})
    catalog = SummaryCatalog()
    summary = catalog.summarize(pools)
    req = PciRequest(
        1, ({"dev_type": "type-VF", "physical_network": "physnet1"},), "r", alias_name="a"
    )
    answers = [
        catalog.support(summary, catalog.compile([req], provider_mapping={"r-0": [rp]}))
        for rp in ("rp-0", "rp-1", "rp-2")
    ]
    assert answers == [True, True, False]


def test_hosts_supporting_lists_hosts_in_order() -> None:
    catalog = SummaryCatalog()
    summaries = {
        "a": catalog.summarize(host()),
        "b": catalog.summarize(host(rm_vfs=0)),
        "c": catalog.summarize(host(rm_vfs=1)),
    }
    assert catalog.hosts_supporting(summaries, catalog.compile([RM])) == ["a", "c"]


def test_refresh_updates_counts_in_place_when_the_pools_keep_their_keys() -> None:
    pools = host()
    catalog = SummaryCatalog()
    summary = catalog.summarize(pools)
    shape, counts = summary.shape, summary.counts
    pools.consume([RM])
    catalog.refresh(summary, pools)
    assert (summary.shape is shape, summary.counts is counts, list(counts)) == (
        True,
        True,
        [1, 0, 2, 1, 1],
    )


def test_refresh_moves_to_a_new_shape_when_a_pool_appears() -> None:
    pools = host(pf1=False)
    catalog = SummaryCatalog()
    summary = catalog.summarize(pools)
    before = summary.shape
    pools.add_device(selected(PciDevice(PF1, "15b3", "a2d6", DevType.PF, numa_node=1), SPECS))
    catalog.refresh(summary, pools)
    assert (summary.shape is before, list(summary.counts)) == (False, [2, 1, 2, 1])


def test_apply_takes_from_the_counts_as_consume_takes_devices() -> None:
    pools = host()
    catalog = SummaryCatalog()
    summary = catalog.summarize(pools)
    applied = catalog.apply(summary, catalog.compile([RM, VF_ANY]))
    pools.consume([RM, VF_ANY])
    assert (applied, list(summary.counts)) == (True, [p.count for p in pools])


def test_a_failed_apply_changes_no_count() -> None:
    catalog = SummaryCatalog()
    summary = catalog.summarize(host())
    applied = catalog.apply(summary, catalog.compile([PciRequest(5, RM.spec, "r")]))
    assert (applied, list(summary.counts)) == (False, [2, 1, 2, 1, 1])


def test_free_count_is_what_the_weigher_reads() -> None:
    pools = host()
    assert SummaryCatalog().summarize(pools).free_count == pools.free_count == 7

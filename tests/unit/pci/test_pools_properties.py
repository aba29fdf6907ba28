"""Properties of pools and summaries over random inventories and request sequences (D7).

Never a device twice, never a PF with one of its VFs, support <=> consume,
consume-then-free restores everything, and a summary answers as its pools.
"""

from __future__ import annotations

import contextlib
import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from offpath.errors import PciDeviceRequestFailed
from offpath.jsonvalue import JsonValue
from offpath.pci.device import DevType, PciDevice
from offpath.pci.numa import NumaCell
from offpath.pci.pools import PciPools
from offpath.pci.request import NumaPolicy, PciRequest
from offpath.pci.spec_list import DeviceSpecList
from offpath.pci.summary import HostSummary, SummaryCatalog
from tests.unit.pci.selections import pools_of

# The specs below select by vendor and product only, so no sysfs is read.
NO_SYSFS = Path("/nonexistent-sysfs-root")
SERIAL = "MT2113X00000"


def specs(*entries: Mapping[str, JsonValue]) -> DeviceSpecList:
    return DeviceSpecList.from_values([json.dumps(e) for e in entries], sysfs_root=NO_SYSFS)


SPECS = specs(
    {"vendor_id": "15b3", "product_id": "101e", "remote_managed": "true"},
    {"vendor_id": "15b3", "product_id": "101e", "physical_network": "physnet1"},
    {"vendor_id": "15b3", "product_id": "a2d6", "physical_network": "physnet1"},
    {"vendor_id": "15b3", "product_id": "101f", "physical_network": "physnet1"},
    {"vendor_id": "8086", "product_id": "1572"},
    {"vendor_id": "8086", "product_id": "1574", "remote_managed": "true"},
)

SPEC_PALETTE: list[dict[str, JsonValue]] = [
    {"remote_managed": "True", "physical_network": None},
    {"remote_managed": "False", "physical_network": "physnet1"},
    {"dev_type": "type-PF"},
    {"dev_type": "type-VF"},
    {"dev_type": "vdpa"},
    {"vendor_id": "15b3"},
    {"vendor_id": "8086"},
    {},
]


@dataclass(frozen=True)
class Inventory:
    devices: tuple[PciDevice, ...]
    taken: tuple[PciDevice, ...]
    rps: Mapping[str, str]
    host_cells: tuple[NumaCell, ...]

    def build(self) -> PciPools:
        pools = pools_of(
            SPECS, self.devices, taken=self.taken, host="h", host_cells=self.host_cells
        )
        pools.assign_rp_uuids(self.rps)
        return pools


numa_nodes = st.sampled_from([0, 1, None])


@st.composite
def inventories(draw: st.DrawFn) -> Inventory:
    devices: list[PciDevice] = []
    for bus in range(3, 3 + draw(st.integers(0, 3))):
        address = f"0000:{bus:02x}:00.0"
        numa = draw(numa_nodes)
        # An untracked PF (no spec for a2dc) leaves its VFs without a parent pool.
        product = draw(st.sampled_from(["a2d6", "a2d6", "a2dc"]))
        devices.append(PciDevice(address, "15b3", product, DevType.PF, numa_node=numa))
        for function in range(1, 1 + draw(st.integers(0, 4))):
            kind = draw(st.sampled_from(["rm", "plain", "vdpa"]))
            devices.append(
                PciDevice(
                    f"0000:{bus:02x}:00.{function}",
                    "15b3",
                    "101f" if kind == "vdpa" else "101e",
                    DevType.VDPA if kind == "vdpa" else DevType.VF,
                    parent_addr=address,
                    numa_node=draw(st.sampled_from([numa, numa, 1])),
                    card_serial_number=SERIAL if kind == "rm" else None,
                )
            )
    for slot in range(draw(st.integers(0, 2))):
        product = draw(st.sampled_from(["1572", "1574"]))
        devices.append(
            PciDevice(
                f"0000:10:{slot:02x}.0",
                "8086",
                product,
                DevType.PCI,
                numa_node=draw(numa_nodes),
                card_serial_number=SERIAL if product == "1574" else None,
            )
        )
    held: dict[str, PciDevice] = {}
    for device in devices:
        if draw(st.integers(0, 4)) != 0:  # about one device in five is in use
            continue
        parent_held = device.parent_addr in held
        child_held = any(d.parent_addr == device.address for d in held.values())
        if not parent_held and not child_held:
            held[device.address] = device
    rps: dict[str, str] = {}
    if draw(st.booleans()):
        rps = {d.address: f"rp-{d.address}" for d in devices if d.parent_addr is None}
    second_socket = draw(st.sampled_from([0, 1, None]))
    return Inventory(
        tuple(d for d in devices if d.address not in held),
        tuple(held.values()),
        rps,
        (NumaCell(0, socket=0), NumaCell(1, socket=second_socket)),
    )


@st.composite
def requests(draw: st.DrawFn, index: int = 0) -> PciRequest:
    count = draw(st.integers(0, 3))
    chosen = draw(st.lists(st.sampled_from(SPEC_PALETTE), min_size=1, max_size=2))
    alias = draw(st.sampled_from([None, "alias"]))
    if alias and draw(st.booleans()):
        rp_list = draw(
            st.lists(st.sampled_from([f"rp-0000:0{b}:00.0" for b in (3, 4, 5)]), min_size=count)
        )
        chosen = [{**chosen[0], "rp_uuids": ",".join(rp_list)}, *chosen[1:]]
    policy = draw(st.sampled_from([None, *NumaPolicy]))
    return PciRequest(count, tuple(chosen), f"req-{index}", alias_name=alias, numa_policy=policy)


request_lists = st.lists(requests(), min_size=1, max_size=3)
cell_choices = st.sampled_from([None, [NumaCell(0)], [NumaCell(1)], [NumaCell(0), NumaCell(1)]])


def check_exclusivity(pools: PciPools, devices: Sequence[PciDevice]) -> None:
    free = {d.address for d in pools.free_devices()}
    taken = {d.address for d in pools.taken_devices()}
    assert not free & taken
    tracked_pfs = {
        d.address for d in devices if d.dev_type is DevType.PF and d.product_id == "a2d6"
    }
    for device in devices:
        parent = device.parent_addr
        if parent in tracked_pfs and (parent in taken):
            assert device.address not in free
            assert device.address not in taken
        if parent in tracked_pfs and device.address in taken:
            assert parent not in free


@settings(max_examples=300, deadline=None)
@given(inventories(), request_lists, cell_choices)
def test_support_agrees_with_consume(
    inventory: Inventory, reqs: list[PciRequest], cells: list[NumaCell] | None
) -> None:
    pools = inventory.build()
    before = pools.snapshot()
    supported = pools.support(reqs, cells)
    assert pools.snapshot() == before
    try:
        taken = pools.consume(reqs, cells)
    except PciDeviceRequestFailed:
        assert not supported
        assert pools.snapshot() == before
        return
    assert supported
    assert len({d.address for d in taken}) == len(taken)
    pools.free(taken)
    assert pools.snapshot() == before


@settings(max_examples=200, deadline=None)
@given(inventories(), st.lists(request_lists, min_size=1, max_size=6), st.randoms())
def test_request_sequences_keep_devices_single_and_families_exclusive(
    inventory: Inventory, sequence: list[list[PciRequest]], rng: random.Random
) -> None:
    pools = inventory.build()
    everything = [*inventory.devices, *inventory.taken]
    before = pools.snapshot()
    handed_out: list[PciDevice] = []
    for reqs in sequence:
        with contextlib.suppress(PciDeviceRequestFailed):
            handed_out += pools.consume(reqs)
        addresses = [d.address for d in handed_out]
        assert len(set(addresses)) == len(addresses)
        assert not set(addresses) & {d.address for d in inventory.taken}
        check_exclusivity(pools, everything)
    rng.shuffle(handed_out)
    pools.free(handed_out)
    assert pools.snapshot() == before


@settings(max_examples=300, deadline=None)
@given(inventories(), st.lists(request_lists, min_size=1, max_size=4), cell_choices)
def test_a_summary_answers_as_its_pools(
    inventory: Inventory, sequence: list[list[PciRequest]], cells: list[NumaCell] | None
) -> None:
    pools = inventory.build()
    catalog = SummaryCatalog()
    summary = catalog.summarize(pools)
    for reqs in sequence:
        compiled = catalog.compile(reqs)
        expected = pools.support(reqs, cells)
        assert catalog.support(summary, compiled, cells) is expected
        assert (catalog.hosts_supporting({"h": summary}, compiled) == ["h"]) is (
            expected if not cells else pools.support(reqs)
        )
        trial = HostSummary(summary.shape, summary.counts[:], summary.rp_uuids, summary.host_cells)
        assert catalog.apply(trial, compiled, cells) is expected
        if expected:
            pools.consume(reqs, cells)
            catalog.refresh(summary, pools)
            assert list(trial.counts) == list(summary.counts)

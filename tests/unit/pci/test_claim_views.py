"""The three views of a host's claims never disagree: pools, summaries and claim states.

Random PF/VF families (several PFs, VFs, vDPA devices, type-PCI devices, a
VF whose PF no spec selects) go through random take/free histories; after
every step the pools' free devices, the summary's counts and the claim
states' available devices say the same, and PF/VF exclusivity holds in each.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from offpath.errors import PciDeviceRequestFailed
from offpath.jsonvalue import JsonValue
from offpath.pci.claims import DeviceState, DeviceStates, DeviceStatus
from offpath.pci.device import CHILD_TYPES, DevType, PciDevice
from offpath.pci.pool_key import PoolKey, pool_key
from offpath.pci.pools import PciPools
from offpath.pci.request import PciRequest
from offpath.pci.selection import SelectedDevice, select_devices
from offpath.pci.spec_list import DeviceSpecList
from offpath.pci.summary import HostSummary, SummaryCatalog

NO_SYSFS = Path("/nonexistent-sysfs-root")
SERIAL = "MT2113X00000"
BLOCKED = frozenset({DeviceStatus.UNCLAIMABLE, DeviceStatus.UNAVAILABLE})

SPECS = DeviceSpecList.from_values(
    [
        json.dumps(e)
        for e in (
            {"vendor_id": "15b3", "product_id": "101e", "remote_managed": "true"},
            {"vendor_id": "15b3", "product_id": "101e", "physical_network": "physnet1"},
            {"vendor_id": "15b3", "product_id": "a2d6", "physical_network": "physnet1"},
            {"vendor_id": "15b3", "product_id": "101f", "physical_network": "physnet1"},
            {"vendor_id": "8086", "product_id": "1572"},
        )
    ],
    sysfs_root=NO_SYSFS,
)
PALETTE: list[dict[str, JsonValue]] = [
    {"remote_managed": "True"},
    {"remote_managed": "False", "dev_type": "type-VF"},
    {"dev_type": "type-PF"},
    {"dev_type": "type-VF"},
    {"dev_type": "vdpa"},
    {"vendor_id": "8086"},
    {"vendor_id": "15b3"},
]


@st.composite
def families(draw: st.DrawFn) -> tuple[PciDevice, ...]:
    devices: list[PciDevice] = []
    for bus in range(3, 3 + draw(st.integers(1, 3))):
        pf = f"0000:{bus:02x}:00.0"
        # An a2dc PF is selected by no spec: its VFs have no tracked PF.
        product = draw(st.sampled_from(["a2d6", "a2d6", "a2d6", "a2dc"]))
        devices.append(PciDevice(pf, "15b3", product, DevType.PF, numa_node=0))
        for function in range(1, 1 + draw(st.integers(0, 4))):
            kind = draw(st.sampled_from(["rm", "plain", "plain", "vdpa"]))
            devices.append(
                PciDevice(
                    f"0000:{bus:02x}:00.{function}",
                    "15b3",
                    "101f" if kind == "vdpa" else "101e",
                    DevType.VDPA if kind == "vdpa" else DevType.VF,
                    parent_addr=pf,
                    numa_node=0,
                    card_serial_number=SERIAL if kind == "rm" else None,
                )
            )
    for slot in range(draw(st.integers(0, 2))):
        devices.append(PciDevice(f"0000:10:{slot:02x}.0", "8086", "1572", DevType.PCI))
    return tuple(devices)


@st.composite
def steps(draw: st.DrawFn) -> PciRequest | int:
    """A request to take devices for, or which held device to free."""
    if draw(st.booleans()):
        spec = draw(st.sampled_from(PALETTE))
        return PciRequest(draw(st.integers(1, 2)), (spec,), "r")
    return draw(st.integers(0, 50))


@dataclass
class Host:
    """One host seen three ways, driven by the same history."""

    selected: tuple[SelectedDevice, ...]
    pools: PciPools
    states: DeviceStates
    catalog: SummaryCatalog
    summary: HostSummary

    def pools_from_states(self) -> PciPools:
        """The pools as a conductor builds them from the stored claim states."""
        in_use = [s for s in self.selected if self.states.get(s.device.address).in_use]
        return PciPools.build(self.selected, taken=in_use, host="h")


def key_of(selected: SelectedDevice) -> PoolKey:
    return pool_key(selected.device, selected.tags)


def check_views_agree(host: Host) -> None:
    pools, states = host.pools, host.states
    free = {d.address for d in pools.free_devices()}
    available = {s.address for s in states if s.status is DeviceStatus.AVAILABLE}
    assert free == available
    taken = {d.address for d in pools.taken_devices()}
    assert taken == {s.address for s in states if s.in_use}
    # Pool by pool, the free devices are the available states of that pool.
    by_pool: dict[PoolKey, set[str]] = {}
    for one in host.selected:
        if one.device.address in available:
            by_pool.setdefault(key_of(one), set()).add(one.device.address)
    assert {p.key: {d.address for d in p.devices} for p in pools if p.count} == by_pool
    assert list(host.summary.counts) == [p.count for p in pools]
    assert host.pools_from_states().snapshot() == pools.snapshot()


def check_exclusive(host: Host) -> None:
    states = host.states
    for state in states:
        parent = states.parent(state)
        if parent is None:
            continue
        if parent.in_use:
            assert state.status in BLOCKED
        if state.in_use:
            assert parent.status in BLOCKED
    in_use = {s.address for s in states if s.in_use}
    free = {d.address for d in host.pools.free_devices()}
    tracked = {s.device.address: s.device for s in host.selected}
    for address in in_use:
        device = tracked[address]
        related = [d for d in tracked.values() if d.parent_addr == address]
        if device.dev_type in CHILD_TYPES and device.parent_addr in tracked:
            related.append(tracked[device.parent_addr])
        assert not {d.address for d in related} & (free | (in_use - {address}))
    # The summary offers no pool beside an excluded pool with a device in use.
    members: dict[PoolKey, set[str]] = {}
    for one in host.selected:
        members.setdefault(key_of(one), set()).add(one.device.address)
    keys = [p.key for p in host.pools]
    for position, count in enumerate(host.summary.counts):
        if count:
            for other in host.summary.shape.excludes[position]:
                assert not members[keys[other]] & in_use


def new_host(devices: Sequence[PciDevice]) -> Host:
    selected = select_devices(devices, SPECS)
    pools = PciPools.build(selected, host="h")
    states = DeviceStates.of("h", (DeviceState.of(s.device) for s in selected))
    catalog = SummaryCatalog()
    return Host(selected, pools, states, catalog, catalog.summarize(pools))


def take(host: Host, request: PciRequest, instance: str) -> list[PciDevice]:
    compiled = host.catalog.compile([request])
    trial = HostSummary(
        host.summary.shape, host.summary.counts[:], host.summary.rp_uuids, host.summary.host_cells
    )
    applied = host.catalog.apply(trial, compiled)
    try:
        taken = host.pools.consume([request])
    except PciDeviceRequestFailed:
        assert not applied
        return []
    assert applied
    for device in taken:
        changes = host.states.claim_changes(device.address, instance_uuid=instance)
        assert changes[-1].status is DeviceStatus.CLAIMED
        host.states = host.states.apply(changes)
    host.summary = trial
    return taken


def free(host: Host, device: PciDevice) -> None:
    host.pools.free([device])
    host.states = host.states.apply(host.states.free_changes(device.address))
    # The scheduler learns a free from the stored states, not from the pools.
    host.summary = host.catalog.summarize(host.pools_from_states())


@settings(max_examples=300, deadline=None)
@given(families(), st.lists(steps(), min_size=1, max_size=20))
def test_pools_summaries_and_claim_states_never_disagree(
    devices: tuple[PciDevice, ...], history: list[PciRequest | int]
) -> None:
    host = new_host(devices)
    held: list[PciDevice] = []
    check_views_agree(host)
    for number, step in enumerate(history):
        if isinstance(step, PciRequest):
            held += take(host, step, f"instance-{number}")
        elif held:
            free(host, held.pop(step % len(held)))
        check_views_agree(host)
        check_exclusive(host)
    while held:
        free(host, held.pop())
        check_views_agree(host)
    assert all(s.status is DeviceStatus.AVAILABLE for s in host.states)


def test_claim_changes_name_only_the_states_that_change() -> None:
    pf = PciDevice("0000:03:00.0", "15b3", "a2d6", DevType.PF)
    vfs = [
        PciDevice(f"0000:03:00.{n}", "15b3", "101e", DevType.VF, parent_addr=pf.address)
        for n in (1, 2)
    ]
    states = DeviceStates.of("h", (DeviceState.of(d) for d in (pf, *vfs)))
    first = states.claim_changes(vfs[0].address, instance_uuid="a")
    assert [(s.address, s.status) for s in first] == [
        (pf.address, DeviceStatus.UNCLAIMABLE),
        (vfs[0].address, DeviceStatus.CLAIMED),
    ]
    states = states.apply(first)
    # The PF is already blocked: the second claim changes the VF alone.
    second = states.claim_changes(vfs[1].address, instance_uuid="b")
    assert [s.address for s in second] == [vfs[1].address]
    states = states.apply(second)
    assert [s.address for s in states.free_changes(vfs[0].address)] == [vfs[0].address]
    states = states.free(vfs[0].address)
    assert [(s.address, s.status) for s in states.free_changes(vfs[1].address)] == [
        (pf.address, DeviceStatus.AVAILABLE),
        (vfs[1].address, DeviceStatus.AVAILABLE),
    ]

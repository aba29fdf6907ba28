"""A host's PCI pools: equivalent free devices grouped and consumed as Nova's PciDeviceStats does.

Keys live in `pool_key`, the request filtering pipeline in `pool_filter`.

Unlike Nova, whose capacity check ignores PF/VF dependencies and whose
failed claim does not restore them, PF/VF exclusivity holds in `support` and
`consume` alike. Taking a VF makes its parent PF unavailable, taking a PF
makes its VFs unavailable, and a PF with a VF in use is never free. A failed `consume` and every
`support` leave the pools exactly as they were; `free` puts devices and the
dependents they had blocked back in place. Which members of a PF's family a
take blocks or a free gives back is the rule of `family`, which the claim
states and the summaries apply too; devices are held with the claim statuses.

Where Nova is silent or inconsistent, offpath chooses:

* pools exist for every tracked device, free or not, and `consume`/`free`
  only change counts: a pool leaves the list only when `remove_device` takes
  its last device away, so consume-then-free restores the list, order included;
* a walk that runs short because a device it took blocked others fails
  instead of returning fewer devices.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import count as counter
from types import MappingProxyType
from typing import Final

from offpath.errors import (
    PciDeviceAlreadyTracked,
    PciDeviceInvalidStatus,
    PciDeviceNotFound,
    PciDevicePFInvalidStatus,
    PciDevicePoolEmpty,
    PciDeviceRequestFailed,
    PciDeviceVFInvalidStatus,
)
from offpath.jsonvalue import JsonValue
from offpath.pci.claims import DeviceStatus
from offpath.pci.device import CHILD_TYPES, DevType, PciDevice
from offpath.pci.family import excluded_by, hangs_from, kept_from_use, released_by
from offpath.pci.numa import NumaCell
from offpath.pci.pool_filter import filter_pools, one_pool_per_rp, request_rp_uuids
from offpath.pci.pool_key import PoolKey, pool_key
from offpath.pci.prop_match import spec_matches
from offpath.pci.request import PciRequest
from offpath.pci.selection import SelectedDevice

REMOTE_MANAGED_PROBE: Final[Mapping[str, JsonValue]] = MappingProxyType({"remote_managed": "True"})


# The claim model's statuses; a consume holds a device CLAIMED and its family
# UNAVAILABLE (Nova's word for a PF with a VF in use, or a VF under a PF in use).
FREE: Final = DeviceStatus.AVAILABLE
TAKEN: Final = DeviceStatus.CLAIMED
BLOCKED: Final = DeviceStatus.UNAVAILABLE


@dataclass(slots=True, eq=False)
class _Entry:
    device: PciDevice
    seq: int
    pool: Pool
    hold: DeviceStatus = FREE


def _is_free(entry: _Entry) -> bool:
    return entry.hold is FREE


def _is_taken(entry: _Entry) -> bool:
    return entry.hold is TAKEN


class _EntryFamily:
    """The PF/VF links of tracked entries, as the exclusivity rule (`family`) reads them."""

    __slots__ = ("_children", "_entries")

    def __init__(self, entries: dict[str, _Entry], children: dict[str, list[_Entry]]) -> None:
        self._entries = entries
        self._children = children

    def pf_of(self, entry: _Entry, /) -> _Entry | None:
        device = entry.device
        if not device.parent_addr:
            return None
        parent = self._entries.get(device.parent_addr)
        if parent is None or not hangs_from(device.dev_type, parent.device.dev_type):
            return None
        return parent

    def children_of(self, entry: _Entry, /) -> Sequence[_Entry]:
        if entry.device.dev_type is not DevType.PF:
            return ()
        return self._children.get(entry.device.address, ())


def _seq(entry: _Entry) -> int:
    return entry.seq


class Pool:
    """Equivalent devices under one key: the free ones, oldest first, and a placement RP."""

    __slots__ = ("_free", "_members", "key", "rp_uuid")

    def __init__(self, key: PoolKey) -> None:
        self.key = key
        self.rp_uuid: str | None = None
        self._free: list[_Entry] = []
        self._members = 0

    @property
    def count(self) -> int:
        """How many of its devices are free."""
        return len(self._free)

    @property
    def devices(self) -> tuple[PciDevice, ...]:
        """Its free devices; `consume` takes from the end."""
        return tuple(entry.device for entry in self._free)

    def __repr__(self) -> str:
        return f"Pool({dict(self.key.props)!r}, count={self.count}, rp_uuid={self.rp_uuid!r})"

    def _attach(self, entry: _Entry) -> None:
        # Devices go back where they were, so consume-then-free restores the order.
        insort(self._free, entry, key=_seq)

    def _detach(self, entry: _Entry) -> None:
        index = bisect_left(self._free, entry.seq, key=_seq)
        del self._free[index]


# Pools compared by value: (key, free device addresses, rp) per pool, then the
# held devices and the blocked ones.
PoolsSnapshot = tuple[
    tuple[tuple[PoolKey, tuple[str, ...], str | None], ...],
    frozenset[str],
    frozenset[str],
]


def describe_requests(requests: Sequence[PciRequest]) -> str:
    """The requests as Nova's failure message shows them."""
    return repr(
        [
            {
                "count": r.count,
                "spec": [dict(spec) for spec in r.spec],
                "request_id": r.request_id,
                **({"alias_name": r.alias_name} if r.alias_name else {}),
                **({"numa_policy": r.numa_policy.value} if r.numa_policy else {}),
            }
            for r in requests
        ]
    )


class PciPools:
    """The pools of one host, built from the devices its `[pci] device_spec` selected.

    Not thread-safe: `support` tries the requests on the pools and undoes them.
    """

    def __init__(self, *, host: str = "", host_cells: Sequence[NumaCell] = ()) -> None:
        self.host = host
        self.host_cells = tuple(host_cells)
        self._pools: list[Pool] = []
        self._by_key: dict[PoolKey, Pool] = {}
        self._entries: dict[str, _Entry] = {}
        self._children: dict[str, list[_Entry]] = {}
        self._family = _EntryFamily(self._entries, self._children)
        self._next_seq = counter()

    @classmethod
    def build(
        cls,
        selected: Iterable[SelectedDevice],
        *,
        taken: Iterable[SelectedDevice] = (),
        host: str = "",
        host_cells: Sequence[NumaCell] = (),
    ) -> PciPools:
        """Pools of a host's `selected` devices; those in `taken` (by address) are in use.

        Pools are created in `selected` order whatever is in use, so hosts with
        the same hardware share a pool order; a taken device missing from
        `selected` is tracked after them.
        """
        pools = cls(host=host, host_cells=host_cells)
        held = list(taken)
        for one in selected:
            pools.add_device(one)
        for one in held:
            if one.device.address not in pools._entries:
                pools.add_device(one)
        for one in held:
            pools._hold(pools._entries[one.device.address])
        return pools

    # -- views ---------------------------------------------------------

    @property
    def pools(self) -> tuple[Pool, ...]:
        """The pools in taking order: fewer keys first, then creation order."""
        return tuple(self._pools)

    def __iter__(self) -> Iterator[Pool]:
        return iter(tuple(self._pools))

    def __len__(self) -> int:
        return len(self._pools)

    @property
    def free_count(self) -> int:
        """Free devices over all pools (what the PCIWeigher reads)."""
        return sum(pool.count for pool in self._pools)

    def free_devices(self) -> list[PciDevice]:
        """Every free device, pool after pool."""
        return [entry.device for pool in self._pools for entry in pool._free]

    def taken_devices(self) -> list[PciDevice]:
        """Every device held by a consume (or given as taken), in address order."""
        held = [e.device for e in self._entries.values() if e.hold is TAKEN]
        return sorted(held, key=lambda device: device.address)

    def snapshot(self) -> PoolsSnapshot:
        """The whole state by value, to compare two moments or two pools."""
        pools = tuple(
            (pool.key, tuple(e.device.address for e in pool._free), pool.rp_uuid)
            for pool in self._pools
        )
        held = frozenset(a for a, e in self._entries.items() if e.hold is TAKEN)
        blocked = frozenset(a for a, e in self._entries.items() if e.hold is BLOCKED)
        return pools, held, blocked

    def has_remote_managed_pools(self) -> bool:
        """True when a pool, even an exhausted one, is tagged remote_managed true (as Nova asks)."""
        return any(spec_matches(pool.key.props, REMOTE_MANAGED_PROBE) for pool in self._pools)

    def assign_rp_uuids(self, rp_by_address: Mapping[str, str]) -> None:
        """Give each pool the placement RP of its `address` (a PF or a PCI device)."""
        for pool in self._pools:
            address = pool.key.address
            pool.rp_uuid = rp_by_address.get(address) if address is not None else None

    # -- inventory changes ----------------------------------------------

    def add_device(self, selected: SelectedDevice) -> None:
        """Track a device as free, or as blocked when its PF or a VF of it is in use."""
        device = selected.device
        if device.address in self._entries:
            raise PciDeviceAlreadyTracked(self.host, device.address)
        key = pool_key(device, selected.tags)
        pool = self._by_key.get(key)
        if pool is None:
            pool = Pool(key)
            self._by_key[key] = pool
            self._pools.append(pool)
            self._pools.sort(key=lambda p: len(p.key))
        pool._members += 1
        entry = _Entry(device, next(self._next_seq), pool)
        self._entries[device.address] = entry
        if device.dev_type in CHILD_TYPES and device.parent_addr:
            self._children.setdefault(device.parent_addr, []).append(entry)
        if kept_from_use(self._family, entry, in_use=_is_taken):
            entry.hold = BLOCKED
        else:
            pool._attach(entry)

    def remove_device(self, selected: SelectedDevice) -> None:
        """Stop tracking a device that left the host; its pool goes with its last device."""
        device = selected.device
        entry = self._entries.get(device.address)
        if entry is None:
            raise PciDevicePoolEmpty(self.host, device.address)
        if entry.hold is TAKEN:
            raise PciDeviceInvalidStatus(
                self.host,
                device.address,
                status=entry.hold.value,
                expected=(FREE.value, BLOCKED.value),
            )
        self._untrack(entry)

    def update_device(self, selected: SelectedDevice) -> None:
        """Move a free device whose dev_type changed (a VF turned PF) to its new pool."""
        device = selected.device
        entry = self._entries.get(device.address)
        if entry is None or entry.hold is not FREE:
            return
        if entry.pool.key.dev_type == device.dev_type.value:
            return
        self._untrack(entry)
        self.add_device(selected)

    def _untrack(self, entry: _Entry) -> None:
        address = entry.device.address
        pool = entry.pool
        if entry.hold is FREE:
            pool._detach(entry)
        del self._entries[address]
        parent = entry.device.parent_addr
        if parent is not None and parent in self._children:
            siblings = self._children[parent]
            siblings.remove(entry)
            if not siblings:
                del self._children[parent]
        pool._members -= 1
        if pool._members == 0:
            self._pools.remove(pool)
            del self._by_key[pool.key]

    # -- requests -------------------------------------------------------

    def support(
        self,
        requests: Sequence[PciRequest],
        numa_cells: Sequence[NumaCell] | None = None,
        *,
        provider_mapping: Mapping[str, Sequence[str]] | None = None,
    ) -> bool:
        """True when `consume` would succeed; the pools are left exactly as they were."""
        journal: list[_Entry] = []
        try:
            return self._take_all(requests, numa_cells, provider_mapping, journal) is not None
        finally:
            self._undo(journal)

    def consume(
        self, requests: Sequence[PciRequest], numa_cells: Sequence[NumaCell] | None = None
    ) -> list[PciDevice]:
        """Take devices for `requests`, or raise PciDeviceRequestFailed and change nothing."""
        journal: list[_Entry] = []
        try:
            taken = self._take_all(requests, numa_cells, None, journal)
        except BaseException:
            self._undo(journal)
            raise
        if taken is None:
            self._undo(journal)
            raise PciDeviceRequestFailed(describe_requests(requests), host=self.host)
        return taken

    def free(self, devices: Iterable[PciDevice]) -> None:
        """Put devices taken by `consume` back, with the dependents they had blocked."""
        entries: dict[str, _Entry] = {}
        for device in devices:
            entry = self._entries.get(device.address)
            if entry is None:
                raise PciDeviceNotFound(self.host, device.address)
            if entry.hold is not TAKEN:
                raise PciDeviceInvalidStatus(
                    self.host, device.address, status=entry.hold.value, expected=("claimed",)
                )
            entries[device.address] = entry
        for entry in entries.values():
            self._release(entry)

    # -- the walk -------------------------------------------------------

    def _take_all(
        self,
        requests: Sequence[PciRequest],
        numa_cells: Sequence[NumaCell] | None,
        provider_mapping: Mapping[str, Sequence[str]] | None,
        journal: list[_Entry],
    ) -> list[PciDevice] | None:
        taken: list[PciDevice] = []
        for request in requests:
            rp_uuids = request_rp_uuids(request, provider_mapping)
            pools = filter_pools(
                self._pools,
                request,
                numa_cells=numa_cells,
                host_cells=self.host_cells,
                rp_uuids=rp_uuids,
            )
            if not pools:
                return None
            if rp_uuids:
                if not one_pool_per_rp(pool.rp_uuid for pool in pools):
                    return None
                demand = Counter(rp_uuids)
                for pool in pools:
                    wanted = demand.pop(pool.rp_uuid or "", 0)
                    if pool.count < wanted:
                        return None
                    taken.extend(self._take_from(pool, wanted, journal))
                if demand:
                    return None
            else:
                remaining = request.count
                for pool in pools:
                    if remaining == 0:
                        break
                    got = min(pool.count, remaining)
                    taken.extend(self._take_from(pool, got, journal))
                    remaining -= got
                if remaining:
                    return None
        return taken

    def _take_from(self, pool: Pool, how_many: int, journal: list[_Entry]) -> list[PciDevice]:
        taken = []
        for _ in range(how_many):
            entry = pool._free[-1]
            self._hold(entry, journal)
            taken.append(entry.device)
        return taken

    def _hold(self, entry: _Entry, journal: list[_Entry] | None = None) -> None:
        """Take one free device and block the family members it excludes."""
        device = entry.device
        if entry.hold is not FREE:
            parent = self._family.pf_of(entry)
            if device.dev_type is DevType.PF and entry.hold is BLOCKED:
                raise PciDeviceVFInvalidStatus(self.host, device.address)
            if parent is not None and entry.hold is BLOCKED:
                raise PciDevicePFInvalidStatus(
                    self.host,
                    parent.device.address,
                    vf_address=device.address,
                    status=parent.hold.value,
                    expected=(FREE.value,),
                )
            raise PciDeviceInvalidStatus(
                self.host, device.address, status=entry.hold.value, expected=(FREE.value,)
            )
        self._set(entry, TAKEN, journal)
        for other in excluded_by(self._family, entry):
            if other.hold is FREE:
                self._set(other, BLOCKED, journal)

    @staticmethod
    def _set(entry: _Entry, hold: DeviceStatus, journal: list[_Entry] | None) -> None:
        entry.pool._detach(entry)
        entry.hold = hold
        if journal is not None:
            journal.append(entry)

    def _release(self, entry: _Entry) -> None:
        entry.hold = FREE
        entry.pool._attach(entry)
        for other in released_by(self._family, entry, free=_is_free):
            if other.hold is BLOCKED:
                other.hold = FREE
                other.pool._attach(other)

    @staticmethod
    def _undo(journal: list[_Entry]) -> None:
        # Every journalled entry was free before the walk took or blocked it.
        while journal:
            entry = journal.pop()
            entry.hold = FREE
            entry.pool._attach(entry)

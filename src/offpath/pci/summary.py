"""Compact scheduler-side summaries of many hosts' PCI pools, and requests tested against them.

A summary is what the scheduler keeps per host: a shared *shape* (the host's
pool keys, interned to small ints shared by every host with the same pools)
and an array of free counts. A request compiles once; per shape it becomes
the positions that may serve it, so testing a host is a sum over a few ints.
Answers are the full pools' (`PciPools.support`), PF/VF exclusivity
included: a PF pool counts 1 only while the PF and all its VFs are free, and
a trial that takes from a pool zeroes the pools it excludes (`family`): a
VF's PF pool, a PF's VF pools.
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from offpath.pci.device import DevType
from offpath.pci.family import excluded_by, hangs_from
from offpath.pci.numa import NumaCell, fit_numa
from offpath.pci.pool_filter import PoolFilter, one_pool_per_rp, request_rp_uuids
from offpath.pci.pool_key import PoolKey
from offpath.pci.pools import PciPools
from offpath.pci.request import PciRequest

_SMALL = 0xFFFF
_SPEC_OK = 1
_KIND_OK = 2


@dataclass(frozen=True, slots=True, eq=False)
class Shape:
    """The pools of a host without their counts, shared by every host that has the same."""

    key_ids: tuple[int, ...]
    numa: tuple[object, ...]
    # Per position, the pools that taking from it empties (`family.excluded_by`):
    # a child pool's PF pool, a PF pool's child pools.
    excludes: tuple[tuple[int, ...], ...]


class HostSummary:
    """One host's free counts over its shape; `rp_uuids` only when placement maps its pools."""

    __slots__ = ("counts", "host_cells", "rp_uuids", "shape")

    def __init__(
        self,
        shape: Shape,
        counts: array[int],
        rp_uuids: tuple[str | None, ...] | None,
        host_cells: tuple[NumaCell, ...],
    ) -> None:
        self.shape = shape
        self.counts = counts
        self.rp_uuids = rp_uuids
        self.host_cells = host_cells

    @property
    def free_count(self) -> int:
        """Free devices over all pools (what the PCIWeigher reads)."""
        return sum(self.counts)

    def __repr__(self) -> str:
        return f"HostSummary(keys={self.shape.key_ids}, counts={list(self.counts)})"


@dataclass(frozen=True, slots=True)
class _Plan:
    """A compiled request set on one shape."""

    spec_positions: tuple[tuple[int, ...], ...]
    kind_ok: tuple[tuple[bool, ...], ...]
    # When one request without placement nor PF/VF overlap: the positions to sum.
    fast: tuple[int, ...] | None


class CompiledRequests:
    """PCI requests prepared once to be tested against many host summaries."""

    __slots__ = ("_keys", "_plans", "_verdicts", "filters", "requests", "rp_uuids")

    def __init__(
        self,
        requests: Sequence[PciRequest],
        rp_uuids: Sequence[Sequence[str]],
        keys: Sequence[PoolKey],
    ) -> None:
        self.requests = tuple(requests)
        self.filters = tuple(PoolFilter.of(request) for request in self.requests)
        self.rp_uuids = tuple(tuple(rps) for rps in rp_uuids)
        self._keys = keys
        self._verdicts: list[dict[int, int]] = [{} for _ in self.requests]
        self._plans: dict[Shape, _Plan] = {}

    def _verdict(self, index: int, key_id: int) -> int:
        known = self._verdicts[index]
        bits = known.get(key_id)
        if bits is None:
            key = self._keys[key_id]
            checks = self.filters[index]
            bits = (_SPEC_OK if checks.spec_match(key) else 0) | (
                _KIND_OK if checks.kind_match(key) else 0
            )
            known[key_id] = bits
        return bits

    def plan(self, shape: Shape) -> _Plan:
        """The positions of `shape` each request may use (computed once per shape)."""
        found = self._plans.get(shape)
        if found is not None:
            return found
        spec_positions = []
        kind_ok = []
        for index in range(len(self.requests)):
            bits = [self._verdict(index, key_id) for key_id in shape.key_ids]
            spec_positions.append(tuple(p for p, b in enumerate(bits) if b & _SPEC_OK))
            kind_ok.append(tuple(bool(b & _KIND_OK) for b in bits))
        fast: tuple[int, ...] | None = None
        if len(self.requests) == 1 and not self.rp_uuids[0]:
            usable = tuple(p for p in spec_positions[0] if kind_ok[0][p])
            chosen = set(usable)
            # A PF and one of its VFs both usable: taking one blocks the other.
            if not any(chosen.intersection(shape.excludes[p]) for p in usable):
                fast = usable
        found = _Plan(tuple(spec_positions), tuple(kind_ok), fast)
        self._plans[shape] = found
        return found


class SummaryCatalog:
    """The interned pool keys, shapes and NUMA layouts that every host summary points into."""

    def __init__(self) -> None:
        self._key_ids: dict[PoolKey, int] = {}
        self._keys: list[PoolKey] = []
        self._shapes: dict[tuple[int, ...], Shape] = {}
        self._layouts: dict[tuple[NumaCell, ...], tuple[NumaCell, ...]] = {}

    @property
    def keys(self) -> tuple[PoolKey, ...]:
        """Every pool key seen, by id."""
        return tuple(self._keys)

    def __len__(self) -> int:
        return len(self._shapes)

    # -- summaries ------------------------------------------------------

    def summarize(self, pools: PciPools) -> HostSummary:
        """The summary of one host's pools."""
        shape = self._shape(self._key_ids_of(pools))
        return HostSummary(shape, _counts(pools), _rp_uuids(pools), self._layout(pools.host_cells))

    def refresh(self, summary: HostSummary, pools: PciPools) -> None:
        """Bring `summary` up to date; only the counts change while the pools keep their keys."""
        key_ids = self._key_ids_of(pools)
        if key_ids != summary.shape.key_ids:
            summary.shape = self._shape(key_ids)
            summary.counts = _counts(pools)
        else:
            counts = summary.counts
            try:
                for position, pool in enumerate(pools.pools):
                    counts[position] = pool.count
            except OverflowError:
                summary.counts = _counts(pools)
        summary.rp_uuids = _rp_uuids(pools)
        summary.host_cells = self._layout(pools.host_cells)

    def compile(
        self,
        requests: Sequence[PciRequest],
        *,
        provider_mapping: Mapping[str, Sequence[str]] | None = None,
    ) -> CompiledRequests:
        """Prepare `requests` for testing against the summaries of this catalog."""
        rps = [request_rp_uuids(request, provider_mapping) for request in requests]
        return CompiledRequests(requests, rps, self._keys)

    # -- questions ------------------------------------------------------

    def matches_any(self, summary: HostSummary, compiled: CompiledRequests) -> bool:
        """True when every request has a pool of the right kind on the host, free or not."""
        plan = compiled.plan(summary.shape)
        return all(
            any(plan.kind_ok[index][p] for p in plan.spec_positions[index])
            for index in range(len(compiled.requests))
        )

    def support(
        self,
        summary: HostSummary,
        compiled: CompiledRequests,
        numa_cells: Sequence[NumaCell] | None = None,
    ) -> bool:
        """True when the host's pools would serve `compiled` (as `PciPools.support` says)."""
        plan = compiled.plan(summary.shape)
        if plan.fast is not None and not numa_cells:
            return _fast(plan.fast, summary.counts, compiled.requests[0].count)
        return _trial(summary, compiled, plan, numa_cells) is not None

    def apply(
        self,
        summary: HostSummary,
        compiled: CompiledRequests,
        numa_cells: Sequence[NumaCell] | None = None,
    ) -> bool:
        """Take `compiled` from the summary's counts (the scheduler's bookkeeping); False if not."""
        counts = _trial(summary, compiled, compiled.plan(summary.shape), numa_cells)
        if counts is None:
            return False
        for position, value in enumerate(counts):
            summary.counts[position] = value
        return True

    def hosts_supporting(
        self, summaries: Mapping[str, HostSummary], compiled: CompiledRequests
    ) -> list[str]:
        """The hosts whose pools would serve `compiled`, in the mapping's order."""
        found: list[str] = []
        if len(compiled.requests) != 1:
            return [host for host, s in summaries.items() if self.support(s, compiled)]
        wanted = compiled.requests[0].count
        plan_of = compiled.plan
        plans: dict[Shape, _Plan] = {}
        for host, summary in summaries.items():
            shape = summary.shape
            plan = plans.get(shape)
            if plan is None:
                plan = plans[shape] = plan_of(shape)
            fast = plan.fast
            if fast is None:
                if _trial(summary, compiled, plan, None) is not None:
                    found.append(host)
                continue
            counts = summary.counts
            total = 0
            for position in fast:
                total += counts[position]
            if fast and total >= wanted:
                found.append(host)
        return found

    # -- interning ------------------------------------------------------

    def _key_ids_of(self, pools: PciPools) -> tuple[int, ...]:
        ids = []
        for pool in pools.pools:
            key_id = self._key_ids.get(pool.key)
            if key_id is None:
                key_id = len(self._keys)
                self._key_ids[pool.key] = key_id
                self._keys.append(pool.key)
            ids.append(key_id)
        return tuple(ids)

    def _shape(self, key_ids: tuple[int, ...]) -> Shape:
        shape = self._shapes.get(key_ids)
        if shape is None:
            shape = self._shapes[key_ids] = _new_shape(key_ids, self._keys)
        return shape

    def _layout(self, cells: tuple[NumaCell, ...]) -> tuple[NumaCell, ...]:
        return self._layouts.setdefault(cells, cells)


def _new_shape(key_ids: tuple[int, ...], keys: Sequence[PoolKey]) -> Shape:
    family = _PoolFamily([keys[key_id] for key_id in key_ids])
    excludes = tuple(tuple(excluded_by(family, p)) for p in range(len(key_ids)))
    return Shape(key_ids, tuple(key.numa_node for key in family.keys), excludes)


class _PoolFamily:
    """PF/VF links between the pool positions of one shape: a child pool hangs from the PF
    pool of its address (a PF pool holds that one PF)."""

    __slots__ = ("_children", "_pf", "keys")

    def __init__(self, keys: Sequence[PoolKey]) -> None:
        self.keys = keys
        pf_at = {
            key.address: position
            for position, key in enumerate(keys)
            if key.dev_type == DevType.PF.value
        }
        self._pf = [
            pf_at.get(key.address) if hangs_from(key.dev_type or "", DevType.PF) else None
            for key in keys
        ]
        self._children: list[list[int]] = [[] for _ in keys]
        for position, pf in enumerate(self._pf):
            if pf is not None:
                self._children[pf].append(position)

    def pf_of(self, position: int, /) -> int | None:
        return self._pf[position]

    def children_of(self, position: int, /) -> Sequence[int]:
        return self._children[position]


def _counts(pools: PciPools) -> array[int]:
    values = [pool.count for pool in pools.pools]
    return array("H" if max(values, default=0) <= _SMALL else "I", values)


def _rp_uuids(pools: PciPools) -> tuple[str | None, ...] | None:
    rps = tuple(pool.rp_uuid for pool in pools.pools)
    return rps if any(rp is not None for rp in rps) else None


def _fast(positions: tuple[int, ...], counts: array[int], wanted: int) -> bool:
    return bool(positions) and sum(counts[p] for p in positions) >= wanted


def _trial(
    summary: HostSummary,
    compiled: CompiledRequests,
    plan: _Plan,
    numa_cells: Sequence[NumaCell] | None,
) -> list[int] | None:
    """Walk the requests on a copy of the counts as `consume` walks the devices."""
    shape = summary.shape
    counts = list(summary.counts)
    rp_of = summary.rp_uuids or (None,) * len(counts)
    for index, request in enumerate(compiled.requests):
        wanted = request.count
        positions: Sequence[int] = plan.spec_positions[index]
        if _sum(counts, positions) < wanted:
            return None
        if numa_cells:
            positions = fit_numa(
                positions,
                node_of=shape.numa.__getitem__,
                count_of=counts.__getitem__,
                requested=wanted,
                policy=request.effective_numa_policy,
                cells=numa_cells,
                host_cells=summary.host_cells,
            )
        kind_ok = plan.kind_ok[index]
        usable = [p for p in positions if kind_ok[p]]
        rps = compiled.rp_uuids[index]
        demand = Counter(rps)
        if rps:
            usable = [
                p
                for p in usable
                if (rp := rp_of[p]) is not None and rp in demand and counts[p] >= demand[rp]
            ]
        if not usable or _sum(counts, usable) < wanted:
            return None
        if rps:
            if not one_pool_per_rp(rp_of[p] for p in usable):
                return None
            for p in usable:
                take = demand.pop(rp_of[p] or "", 0)
                if counts[p] < take:
                    return None
                _take(shape, counts, p, take)
            if demand:
                return None
        else:
            remaining = wanted
            for p in usable:
                if remaining == 0:
                    break
                take = min(counts[p], remaining)
                _take(shape, counts, p, take)
                remaining -= take
            if remaining:
                return None
    return counts


def _sum(counts: Sequence[int], positions: Iterable[int]) -> int:
    return sum(counts[p] for p in positions)


def _take(shape: Shape, counts: list[int], position: int, how_many: int) -> None:
    if how_many == 0:
        return
    counts[position] -= how_many
    for other in shape.excludes[position]:
        counts[other] = 0

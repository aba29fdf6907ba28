"""Which pools may serve a PCI request: Nova's filtering pipeline (PciDeviceStats).

The pipeline keeps the pools whose key a request spec matches, fits them to
the NUMA cells, drops the kinds the request did not ask for, and,
when placement allocated, keeps only the pools of the RPs it chose.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, Protocol, TypeVar

from offpath.jsonvalue import JsonValue
from offpath.pci.booleans import lenient_bool
from offpath.pci.device import DevType
from offpath.pci.numa import NumaCell, fit_numa
from offpath.pci.pool_key import PoolKey
from offpath.pci.prop_match import any_spec_matches
from offpath.pci.request import PciRequest

# Keys of a request spec that only placement reads.
REQUEST_IGNORED_KEYS: Final = frozenset({"resource_class", "traits", "rp_uuids"})


class PoolView(Protocol):
    """What the pipeline reads of a pool."""

    @property
    def key(self) -> PoolKey:
        """What every device of the pool shares."""
        ...

    @property
    def count(self) -> int:
        """How many of its devices are free."""
        ...

    @property
    def rp_uuid(self) -> str | None:
        """Its placement RP, if placement knows it."""
        ...


PoolT = TypeVar("PoolT", bound=PoolView)


@dataclass(frozen=True, slots=True)
class PoolFilter:
    """The steps of Nova's pipeline that read only a pool's key, prepared once per request."""

    specs: tuple[Mapping[str, JsonValue], ...]
    wants_pf: bool
    wants_vdpa: bool
    wants_remote_managed: bool
    live_migratable: str | None

    @classmethod
    def of(cls, request: PciRequest) -> PoolFilter:
        """Prepare the key checks of `request`."""
        specs = tuple(
            MappingProxyType({k: v for k, v in spec.items() if k not in REQUEST_IGNORED_KEYS})
            for spec in request.spec
        )
        migratable: str | None = None
        for word in ("true", "false"):
            if all(spec.get("live_migratable") == word for spec in request.spec):
                migratable = word
                break
        return cls(
            specs=specs,
            wants_pf=any(spec.get("dev_type") == DevType.PF.value for spec in request.spec),
            wants_vdpa=any(spec.get("dev_type") == DevType.VDPA.value for spec in request.spec),
            wants_remote_managed=any(
                lenient_bool(spec.get("remote_managed")) for spec in request.spec
            ),
            live_migratable=migratable,
        )

    def spec_match(self, key: PoolKey) -> bool:
        """Step 1: some request spec matches the pool's properties."""
        return any_spec_matches(key.props, self.specs)

    def kind_match(self, key: PoolKey) -> bool:
        """Steps 3, 4, 5 and 7: PFs, vDPA and remote-managed only when asked for; live migration."""
        dev_type = key.props.get("dev_type")
        if dev_type == DevType.PF.value and not self.wants_pf:
            return False
        if dev_type == DevType.VDPA.value and not self.wants_vdpa:
            return False
        if not self.wants_remote_managed and lenient_bool(key.props.get("remote_managed")):
            return False
        return self.live_migratable is None or (
            key.props.get("live_migratable") == self.live_migratable
        )


def request_rp_uuids(
    request: PciRequest, provider_mapping: Mapping[str, Sequence[str]] | None
) -> list[str]:
    """The placement RPs serving `request`, one per device; port requests ignore them."""
    if request.from_port:
        return []
    if not provider_mapping:
        value = request.spec[0].get("rp_uuids") if request.spec else None
        return str(value).split(",") if value else []
    # Request groups are named "<request_id>-<index>", each served by one RP.
    return [
        rps[0]
        for group, rps in provider_mapping.items()
        if group.startswith(request.request_id) and rps
    ]


def one_pool_per_rp(rp_uuids: Iterable[str | None]) -> bool:
    """True unless two pools claim the same placement RP."""
    seen: set[str] = set()
    for rp in rp_uuids:
        if rp is None:
            continue
        if rp in seen:
            return False
        seen.add(rp)
    return True


def filter_pools(
    pools: Sequence[PoolT],
    request: PciRequest,
    *,
    numa_cells: Sequence[NumaCell] | None = None,
    host_cells: Sequence[NumaCell] = (),
    rp_uuids: Sequence[str] = (),
    pool_filter: PoolFilter | None = None,
) -> list[PoolT] | None:
    """The pools that may serve `request`, in taking order; None when they hold too few."""
    checks = pool_filter or PoolFilter.of(request)
    wanted = request.count
    kept = [pool for pool in pools if checks.spec_match(pool.key)]
    if _total(kept) < wanted:
        return None
    if numa_cells:
        kept = fit_numa(
            kept,
            node_of=_node_of,
            count_of=_count_of,
            requested=wanted,
            policy=request.effective_numa_policy,
            cells=numa_cells,
            host_cells=host_cells,
        )
        if _total(kept) < wanted:
            return None
    kept = [pool for pool in kept if checks.kind_match(pool.key)]
    if rp_uuids:
        demand = Counter(rp_uuids)
        # Pools unknown to placement hold devices it never allocates.
        kept = [
            pool
            for pool in kept
            if pool.rp_uuid is not None
            and pool.rp_uuid in demand
            and pool.count >= demand[pool.rp_uuid]
        ]
    if _total(kept) < wanted:
        return None
    return kept


def _total(pools: Iterable[PoolView]) -> int:
    return sum(pool.count for pool in pools)


def _node_of(pool: PoolView) -> object:
    return pool.key.numa_node


def _count_of(pool: PoolView) -> int:
    return pool.count

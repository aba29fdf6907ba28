"""Placing an instance that exists already: a move's destination, or an offloaded unshelve.

The instance's own PCI requests (or a resize's new ones) are scheduled
with the scheduler of a boot, leaving out the source host or keeping only
the host asked for, and claimed on the chosen host in one transaction
with whatever the caller records beside the claim (the migration). No
destination is the API's 400 with the "why not" summary.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from offpath.conductor.instance_requests import load_requests
from offpath.db.device_claims import Claim, ClaimedDevice
from offpath.db.engine import reading
from offpath.errors import MoveNoValidHost, NoValidHost
from offpath.pci.flavor import Flavor
from offpath.pci.request import PciRequest
from offpath.scheduler.host_state import HostState
from offpath.scheduler.request import PlacementRequest
from offpath.scheduler.scheduler import Target

if TYPE_CHECKING:
    from offpath.conductor.operation_base import Operation, OperationBase


@dataclass(frozen=True, slots=True)
class Placed:
    """Where the instance landed, what it claimed there, and which port asked for each request."""

    host: str
    claim: Claim
    requests: tuple[PciRequest, ...]

    @property
    def devices(self) -> tuple[ClaimedDevice, ...]:
        """The devices claimed."""
        return self.claim.devices

    @property
    def requesters(self) -> Mapping[str, str | None]:
        """Request id -> the port that asked (None for a flavor alias)."""
        return {r.request_id: r.requester_id for r in self.requests}


def place(
    base: OperationBase,
    op: Operation,
    target: Target,
    *,
    requests: Sequence[PciRequest] | None = None,
    flavor: Mapping[str, object] | None = None,
    record: Callable[[Session, str, Claim], None] | None = None,
) -> Placed:
    """Schedule and claim for the instance; MoveNoValidHost when no host fits."""
    if requests is None:
        with reading(op.engine) as session:
            requests = load_requests(session, op.uuid)
    spec = base.request_spec(op.uuid)
    size = Flavor.from_primitive(flavor if flavor is not None else op.started.flavor)
    placement = PlacementRequest(
        tuple(requests),
        remote_managed=bool(spec.get("remote_managed")) or _remote_managed(requests),
        numa_nodes=size.numa_nodes,
    )

    def claimed(session: Session, host: HostState, claim: Claim) -> None:
        if record is not None:
            record(session, host.host, claim)

    try:
        placed, _ = base.instances.scheduler.schedule_and_claim(
            placement, instance_uuid=op.uuid, on_claimed=claimed, target=target
        )
    except NoValidHost as exc:
        raise MoveNoValidHost(exc.summary) from None
    return Placed(placed.host.host, placed.claim, tuple(requests))


def _remote_managed(requests: Sequence[PciRequest]) -> bool:
    return any(
        str(spec.get("remote_managed", "")).lower() == "true"
        for request in requests
        for spec in request.spec
    )

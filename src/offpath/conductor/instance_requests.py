"""An instance's PCI requests as its cell database keeps them: written at boot, read by every move.

A move claims on the destination for the requests the instance has (a
resize swaps the flavor's alias requests for the new flavor's); an
attach adds the port's request, a detach drops it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from offpath.db.cell_schema import InstancePciRequestRow
from offpath.jsonvalue import JsonValue
from offpath.pci.request import NumaPolicy, PciRequest


def request_row(instance_uuid: str, request: PciRequest) -> InstancePciRequestRow:
    """The row that keeps `request` of the instance."""
    return InstancePciRequestRow(
        instance_uuid=instance_uuid,
        request_id=request.request_id,
        count=request.count,
        spec=[dict(spec) for spec in request.spec],
        requester_id=request.requester_id,
        alias_name=request.alias_name,
        numa_policy=request.numa_policy.value if request.numa_policy else None,
    )


def request_primitive(request: PciRequest) -> dict[str, object]:
    """A request's JSON form (kept in a migration record while a resize is undecided)."""
    return {
        "request_id": request.request_id,
        "count": request.count,
        "spec": [dict(spec) for spec in request.spec],
        "requester_id": request.requester_id,
        "alias_name": request.alias_name,
        "numa_policy": request.numa_policy.value if request.numa_policy else None,
    }


def request_of(data: Mapping[str, object]) -> PciRequest:
    """The request `request_primitive` (or a row's columns) describes."""
    specs = data.get("spec")
    policy = data.get("numa_policy")
    requester = data.get("requester_id")
    alias = data.get("alias_name")
    count = data.get("count")
    return PciRequest(
        count=count if isinstance(count, int) else 1,
        spec=tuple(_spec(s) for s in specs) if isinstance(specs, list) else (),
        request_id=str(data.get("request_id")),
        requester_id=requester if isinstance(requester, str) else None,
        alias_name=alias if isinstance(alias, str) else None,
        numa_policy=NumaPolicy(policy) if isinstance(policy, str) else None,
    )


def _spec(value: object) -> dict[str, JsonValue]:
    return {str(k): v for k, v in value.items()} if isinstance(value, dict) else {}


def load_requests(session: Session, instance_uuid: str) -> list[PciRequest]:
    """The instance's PCI requests, in the order they were made."""
    rows = session.scalars(
        select(InstancePciRequestRow)
        .where(InstancePciRequestRow.instance_uuid == instance_uuid)
        .order_by(InstancePciRequestRow.id)
    )
    return [
        request_of(
            {
                "request_id": row.request_id,
                "count": row.count,
                "spec": row.spec,
                "requester_id": row.requester_id,
                "alias_name": row.alias_name,
                "numa_policy": row.numa_policy,
            }
        )
        for row in rows
    ]


def replace_requests(session: Session, instance_uuid: str, requests: Iterable[PciRequest]) -> None:
    """Make `requests` the instance's PCI requests (a confirmed resize)."""
    session.execute(
        delete(InstancePciRequestRow).where(InstancePciRequestRow.instance_uuid == instance_uuid)
    )
    for request in requests:
        session.add(request_row(instance_uuid, request))


def drop_request(session: Session, instance_uuid: str, request_id: str) -> None:
    """Forget one request (a detached port's)."""
    session.execute(
        delete(InstancePciRequestRow).where(
            InstancePciRequestRow.instance_uuid == instance_uuid,
            InstancePciRequestRow.request_id == request_id,
        )
    )

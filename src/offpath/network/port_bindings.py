"""A port's bindings on several hosts (Neutron's `binding-extended`), as rows of the API database.

The port row holds the ACTIVE binding, as it always did; `port_bindings`
holds the INACTIVE ones, at most one per host. An inactive binding keeps
what its driver decided when it was created (vif type, details, the
Logical_Switch_Port options), so activating it commits that decision, as
ML2 does; the binding it replaces is kept with its vif type cleared, as
ML2 clears it.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from offpath.db.network_schema import PortBindingRow, PortRow
from offpath.errors import NetworkRequestInvalid
from offpath.jsonvalue import JsonValue
from offpath.network.binding_driver import BindOutcome
from offpath.network.records import VifType
from offpath.ports.host_binding import BindingStatus, HostBinding
from offpath.ports.vnic import VnicType

# Neutron's bindings API serves only the ports of servers.
COMPUTE_OWNER_PREFIX: Final = "compute:"


def check_compute_port(row: PortRow) -> None:
    """Refuse a port no server owns, as Neutron does (HTTP 400)."""
    if not row.device_owner.startswith(COMPUTE_OWNER_PREFIX):
        raise NetworkRequestInvalid(
            f"Bad port request: Invalid port {row.id}. Operation only valid on compute ports.",
            hint=f"only a port whose device_owner starts with {COMPUTE_OWNER_PREFIX!r} "
            "(a server's) has bindings on several hosts",
        )


def active_binding(row: PortRow) -> HostBinding:
    """The binding the port row holds (host "" while the port is unbound)."""
    return HostBinding(
        host=row.host_id,
        vnic_type=VnicType.parse(row.vnic_type),
        profile=dict(row.profile),
        vif_type=row.vif_type,
        vif_details=dict(row.vif_details),
        status=BindingStatus.ACTIVE,
    )


def inactive_bindings(session: Session, port_id: str) -> list[HostBinding]:
    """The port's inactive bindings, oldest first."""
    query = (
        select(PortBindingRow)
        .where(PortBindingRow.port_id == port_id)
        .order_by(PortBindingRow.created_at, PortBindingRow.id)
    )
    return [_record(row) for row in session.scalars(query)]


def inactive_binding(session: Session, port_id: str, host: str) -> PortBindingRow | None:
    """The port's inactive binding to `host`, if it has one."""
    return session.scalar(
        select(PortBindingRow).where(PortBindingRow.port_id == port_id, PortBindingRow.host == host)
    )


def add_inactive(
    session: Session,
    port_id: str,
    *,
    host: str,
    vnic_type: str,
    profile: dict[str, JsonValue],
    outcome: BindOutcome,
) -> HostBinding:
    """Store an inactive binding as its driver decided it."""
    row = PortBindingRow(
        port_id=port_id,
        host=host,
        vnic_type=vnic_type,
        profile=profile,
        vif_type=outcome.vif_type.value,
        vif_details=dict(outcome.vif_details),
        lsp_options=dict(outcome.lsp_options),
        status=BindingStatus.INACTIVE.value,
    )
    session.add(row)
    session.flush()
    return _record(row)


def keep_inactive(session: Session, port: PortRow) -> None:
    """Keep the port's active binding as an inactive one, its vif type cleared (as ML2 does)."""
    session.add(
        PortBindingRow(
            port_id=port.id,
            host=port.host_id,
            vnic_type=port.vnic_type,
            profile=dict(port.profile),
            vif_type=VifType.UNBOUND.value,
            vif_details={},
            lsp_options={},
            status=BindingStatus.INACTIVE.value,
        )
    )


def drop_inactive(session: Session, port_id: str, host: str) -> None:
    """Forget the port's inactive binding to `host`: the port is now bound there."""
    session.execute(
        delete(PortBindingRow).where(PortBindingRow.port_id == port_id, PortBindingRow.host == host)
    )


def decided_outcome(row: PortBindingRow) -> BindOutcome | None:
    """What the driver decided for an inactive binding; None when it must decide again."""
    if row.vif_type in (VifType.UNBOUND.value, VifType.BINDING_FAILED.value):
        return None
    try:
        vif_type = VifType(row.vif_type)
    except ValueError:
        return None
    return BindOutcome(vif_type, dict(row.vif_details), dict(row.lsp_options))


def _record(row: PortBindingRow) -> HostBinding:
    return HostBinding(
        host=row.host,
        vnic_type=VnicType.parse(row.vnic_type),
        profile=dict(row.profile),
        vif_type=row.vif_type,
        vif_details=dict(row.vif_details),
        status=BindingStatus(row.status),
    )

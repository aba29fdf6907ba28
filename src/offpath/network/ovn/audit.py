"""The OVN drift audit and its repair, as Neutron's OVN maintenance task runs them.

`OvnAudit.run` reads OVN first and the database second: a port created in
between is then seen missing (and a repair writes it again, harmlessly),
never stale. `fix` repairs only what the database alone decides: it writes
switches, ports and security groups (Port_Groups with their ACLs and
members, and `neutron_pg_drop`) again through the network service's mirror, deletes
stale rows once the database confirms they are gone, and sets a port's
status from OVN's `up` as read at that moment. `repair` is both, for
`OvnBackend.keep_up(repair=...)`; `offpath network audit [--fix]` is the
same by hand.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from offpath.errors import NotFound, OffpathError
from offpath.network.caller import ADMIN
from offpath.network.mirror import NetworkMirror, PortWrite
from offpath.network.ovn.acls import DROP_GROUP
from offpath.network.ovn.connection import OvnDatabase
from offpath.network.ovn.drift import (
    DatabaseView,
    Drift,
    DriftKind,
    compare,
    order_of_repair,
)
from offpath.network.ovn.port_status import lsp_is_up
from offpath.network.ovn.snapshot import take_snapshot
from offpath.network.ovn.southbound import OvnChassis
from offpath.network.records import PortStatus
from offpath.network.service import NetworkService

LOG = logging.getLogger(__name__)

# OVN's daemons catch up with a repair within milliseconds; a DPU may take longer.
SETTLE_TIMEOUT: Final = 5.0
SETTLE_PAUSE: Final = 0.2


@dataclass(frozen=True, slots=True)
class AuditReport:
    """What one audit checked and found."""

    networks: int
    ports: int
    drifts: tuple[Drift, ...]

    @property
    def clean(self) -> bool:
        """True when OVN matches the database."""
        return not self.drifts


def read_database(service: NetworkService) -> DatabaseView:
    """Every network, port (with its network and subnets) and security group."""
    # Ports first: a network cannot be deleted while it has ports, so each port's is found;
    # a group neither, so each port's group is found too.
    ports = service.list_ports(ADMIN)
    groups = service.security_groups.list_groups(ADMIN)
    networks = {record.network.id: record for record in service.list_networks(ADMIN)}
    subnets = {subnet.id: subnet for subnet in service.list_subnets(ADMIN)}
    writes = []
    for record in ports:
        network = networks.get(record.port.network_id)
        if network is None:
            continue  # created after the ports were read: the next audit sees it
        used = {fixed.subnet_id for fixed in record.port.fixed_ips}
        writes.append(
            PortWrite(record, network, tuple(subnets[i] for i in sorted(used) if i in subnets))
        )
    return DatabaseView(tuple(networks.values()), tuple(writes), tuple(groups))


# Drifts of a Port_Group or its ACLs that writing the group whole repairs.
_GROUP_WRITES: Final = frozenset(
    {
        DriftKind.PORT_GROUP_MISSING,
        DriftKind.PORT_GROUP_DIFFERS,
        DriftKind.ACL_MISSING,
        DriftKind.ACL_DIFFERS,
        DriftKind.ACL_STALE,
    }
)


class OvnAudit:
    """The network service's networks and ports against one OVN's Northbound and Southbound."""

    def __init__(
        self, service: NetworkService, *, nb: OvnDatabase, sb: OvnDatabase, chassis: OvnChassis
    ) -> None:
        if service.mirror is None:
            raise ValueError("the audited network service writes to no OVN (it has no mirror)")
        self.service = service
        self.mirror: NetworkMirror = service.mirror
        self.nb = nb
        self.sb = sb
        self.chassis = chassis

    def run(self) -> AuditReport:
        """Compare OVN's rows with the database; every drift found, networks first."""
        snapshot = take_snapshot(self.nb, self.sb, self.chassis)
        database = read_database(self.service)
        drifts = compare(database, snapshot)
        return AuditReport(len(database.networks), len(database.ports), tuple(drifts))

    def settle(self, *, timeout: float = SETTLE_TIMEOUT) -> AuditReport:
        """Audit until two audits in a row find the same drifts (OVN caught up), bounded."""
        report = self.run()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            time.sleep(SETTLE_PAUSE)
            again = self.run()
            if [d.key for d in again.drifts] == [d.key for d in report.drifts]:
                return again
            report = again
        return report

    def fix(self, drifts: Sequence[Drift]) -> list[Drift]:
        """Repair the fixable drifts, stale rows first; those repaired, in that order."""
        fixed = []
        for drift in order_of_repair([d for d in drifts if d.fixable]):
            try:
                done = self._fix(drift)
            except OffpathError as exc:
                LOG.warning(
                    "could not repair %s of %s: [%s] %s",
                    drift.kind,
                    drift.resource,
                    exc.code,
                    exc.message,
                )
                continue
            if done:
                fixed.append(drift)
        return fixed

    def repair(self) -> list[Drift]:
        """Audit and fix (the periodic repair); logs what it repaired and what it could not."""
        report = self.run()
        fixed = self.fix(report.drifts)
        for drift in fixed:
            LOG.warning("OVN drift repaired: %s %s: %s", drift.kind, drift.resource, drift.message)
        left = [drift for drift in report.drifts if not drift.fixable]
        if left:
            kinds = ", ".join(sorted({str(drift.kind) for drift in left}))
            LOG.info(
                "OVN audit: %d drift(s) need more than a repair (%s); "
                "`offpath network audit` lists them",
                len(left),
                kinds,
            )
        return fixed

    def _fix(self, drift: Drift) -> bool:
        """Repair one drift; False when the database says there is nothing to do after all."""
        kind, resource = drift.kind, drift.resource
        if kind is DriftKind.PORT_STALE:
            if self._exists(lambda: self.service.get_port(ADMIN, resource)):
                return False
            self.mirror.port_deleted(resource)
        elif kind is DriftKind.SWITCH_STALE:
            if self._exists(lambda: self.service.get_network(ADMIN, resource)):
                return False
            self.mirror.network_deleted(resource)
        elif kind in (DriftKind.SWITCH_MISSING, DriftKind.SWITCH_DIFFERS):
            if not self._exists(lambda: self.service.get_network(ADMIN, resource)):
                return False
            self.service.write_network_to_backend(resource)
        elif kind in (DriftKind.PORT_MISSING, DriftKind.PORT_DIFFERS):
            if not self._exists(lambda: self.service.get_port(ADMIN, resource)):
                return False
            self.service.write_port_to_backend(resource)
        elif kind is DriftKind.STATUS_DIFFERS:
            return self._resync_status(resource)
        elif kind is DriftKind.PORT_GROUP_STALE:
            if self._exists(lambda: self.service.security_groups.get_group(ADMIN, resource)):
                return False
            self.mirror.security_group_deleted(resource)
        elif kind in _GROUP_WRITES and resource == DROP_GROUP:
            self.service.write_filtered_ports_to_backend()
        elif kind in _GROUP_WRITES:
            if not self._exists(lambda: self.service.security_groups.get_group(ADMIN, resource)):
                return False
            self.service.write_security_group_to_backend(resource)
        else:
            return False
        return True

    def _resync_status(self, port_id: str) -> bool:
        """Set the port's status from OVN's `up` as it is now; True if the status changed."""
        row = self.nb.row("Logical_Switch_Port", port_id)
        if row is None:
            return False
        try:
            before = self.service.get_port(ADMIN, port_id).port.status
        except NotFound:
            return False
        up = lsp_is_up(row)
        if up and before != PortStatus.ACTIVE.value:
            self.service.port_up(port_id)
        elif not up and before == PortStatus.ACTIVE.value:
            self.service.port_down(port_id)
        else:
            return False
        return self.service.get_port(ADMIN, port_id).port.status != before

    @staticmethod
    def _exists(read: Callable[[], object]) -> bool:
        try:
            read()
        except NotFound:
            return False
        return True

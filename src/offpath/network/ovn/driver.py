"""`ovn`: remote-managed ports bound through OVN's Northbound and Southbound databases.

The bind decides as ML2/OVN does, against the Southbound `Chassis` rows
(the DPU whose `ovn-cms-options` carry the card serial, alive, mapping the
physnet). The options it records reach OVN with the port's
Logical_Switch_Port, which the mirror writes; ovn-northd turns them into
the `Port_Binding` the DPU's ovn-controller plugs and claims, and the port
goes ACTIVE when northd sets `Logical_Switch_Port.up`, which
`port_status` watches.
"""

from __future__ import annotations

from offpath.network.binding_driver import BindOutcome, BindRequest, PortStatusSink
from offpath.network.ovn.connection import OvnDatabase
from offpath.network.ovn.port_status import claimed_by, lsp_is_up
from offpath.network.ovn.southbound import OvnChassis
from offpath.network.remote_managed_binding import REQUESTED_CHASSIS, bind_remote_managed
from offpath.ports.port import Port
from offpath.ports.vnic import VnicType


class OvnDriver:
    """Binds remote-managed ports to the DPU chassis OVN's Southbound names by card serial."""

    name = "ovn"
    vnic_types = frozenset({VnicType.REMOTE_MANAGED})

    def __init__(self, chassis: OvnChassis, nb: OvnDatabase) -> None:
        self.chassis = chassis
        self.nb = nb

    def bind(self, request: BindRequest) -> BindOutcome:
        """The binding ML2/OVN would give, or why it would refuse it."""
        return bind_remote_managed(request, self.chassis, driver=self.name)

    def bound(self, port: Port, outcome: BindOutcome, status: PortStatusSink) -> None:
        """If OVN already has the row up with these options, no change will come to say so."""
        row = self.nb.row("Logical_Switch_Port", port.id, ("up", "enabled", "options"))
        wanted = {key: str(value) for key, value in outcome.lsp_options.items()}
        if row is None or not lsp_is_up(row) or dict(row.options) != wanted:
            return
        requested = wanted.get(REQUESTED_CHASSIS)
        # Still up from the DPU the port leaves: the one it goes to is heard claiming it.
        if requested and not claimed_by(self.chassis.sb, port.id, requested):
            return
        status.port_up(port.id)

    def unbound(self, port_id: str) -> None:
        """Nothing to do here: the mirror withdraws the plug request with the row."""

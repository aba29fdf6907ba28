"""`sriov-nic`: direct and macvtap ports, bound as Neutron's SR-IOV mechanism driver binds them.

A port binds when the host's SR-IOV NIC agent maps the network's physnet;
the VF is configured by the host, so the port goes up only when that agent
says the VF is up (`device_up`), after the compute agent started waiting.
"""

from __future__ import annotations

from offpath.jsonvalue import JsonValue
from offpath.network.binding_driver import BindOutcome, BindRequest, PortStatusSink
from offpath.network.records import VifType
from offpath.network.segments import describe_physnets, first_bindable, is_tunnelled
from offpath.network.sriov_hosts import SriovHosts
from offpath.ports.port import Port
from offpath.ports.vnic import VnicType


class SriovNicDriver:
    """Binds direct/macvtap ports by the host's SR-IOV physnet mappings (vif_type hw_veb)."""

    name = "sriov-nic"
    vnic_types = frozenset({VnicType.DIRECT, VnicType.MACVTAP})

    def __init__(self, hosts: SriovHosts) -> None:
        self.hosts = hosts

    def bind(self, request: BindRequest) -> BindOutcome:
        """An hw_veb binding on the first segment whose physnet the host maps."""
        physnets = self.hosts.physnets(request.host)
        if physnets is None:
            return BindOutcome.failed(f"no SR-IOV NIC agent reports host {request.host}")
        segment = first_bindable(request.segments, physnets)
        if segment is None or is_tunnelled(segment):
            return BindOutcome.failed(
                f"physnet {describe_physnets(request.segments)} of network "
                f"{request.network.id} is not mapped by the SR-IOV NIC agent of "
                f"{request.host} ({', '.join(physnets) or 'no physnets'})"
            )
        vlan = segment.segmentation_id if segment.network_type == "vlan" else 0
        details: dict[str, JsonValue] = {
            "port_filter": False,
            "vlan": str(vlan or 0),
            "bound_drivers": {"0": self.name},
        }
        return BindOutcome(VifType.HW_VEB, details)

    def bound(self, port: Port, outcome: BindOutcome, status: PortStatusSink) -> None:
        """Nothing to plug: the host's agent reports the VF up through `device_up`."""

    def unbound(self, port_id: str) -> None:
        """Nothing to unplug: the host releases the VF."""

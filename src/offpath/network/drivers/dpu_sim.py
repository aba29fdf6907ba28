"""`dpu-sim`: remote-managed ports bound as ML2/OVN binds them, plugged by simulated DPUs.

The bind finds the DPU's chassis by the card serial of the port's profile
and records the Logical_Switch_Port options OVN would get; once the binding
is stored, the chassis' simulated DPU plugs the VF representor by (PF MAC,
VF number) and the port goes up. What OVN would refuse, this refuses with
`binding_failed` and a reason: no chassis for the serial, several, a dead
one, a VLAN/flat physnet the chassis does not map.
"""

from __future__ import annotations

import logging

from offpath.network.binding_driver import BindOutcome, BindRequest, PortStatusSink
from offpath.network.chassis import ChassisRegistry
from offpath.network.remote_managed_binding import (
    PF_MAC,
    REPRESENTOR,
    REQUESTED_CHASSIS,
    VF_NUM,
    VIF_PLUG_TYPE,
    bind_remote_managed,
)
from offpath.network.representors import RepresentorPlug, RepresentorPlugs
from offpath.ports.port import Port
from offpath.ports.vnic import VnicType
from offpath.sim.dpu import SimDpu, normalise_mac

LOG = logging.getLogger(__name__)


class DpuSimDriver:
    """Binds remote-managed ports to the DPU whose chassis carries the profile's card serial."""

    name = "dpu-sim"
    vnic_types = frozenset({VnicType.REMOTE_MANAGED})

    def __init__(self, chassis: ChassisRegistry, plugs: RepresentorPlugs) -> None:
        self.chassis = chassis
        self.plugs = plugs

    def bind(self, request: BindRequest) -> BindOutcome:
        """The OVN binding of a remote-managed port, or why OVN would refuse it."""
        return bind_remote_managed(request, self.chassis, driver=self.name)

    def bound(self, port: Port, outcome: BindOutcome, status: PortStatusSink) -> None:
        """Have the requested chassis' simulated DPU plug the representor; up when it did."""
        options = outcome.lsp_options
        hostname, pf_mac, vf_text = (
            str(options.get(REQUESTED_CHASSIS, "")),
            str(options.get(PF_MAC, "")),
            str(options.get(VF_NUM, "")),
        )
        if options.get(VIF_PLUG_TYPE) != REPRESENTOR or not vf_text.isdigit():
            return
        chassis = self.chassis.get(hostname)
        dpu = SimDpu(chassis.hostname, chassis.pf_macs, chassis.vfs)
        result = dpu.plug(port.id, pf_mac, int(vf_text))
        if result.representor is None:
            LOG.info("simulated DPU %s did not plug port %s: %s", hostname, port.id, result.reason)
            return
        plug = RepresentorPlug(
            hostname, normalise_mac(pf_mac) or pf_mac, int(vf_text), port.id, result.representor
        )
        holder = self.plugs.record(plug)
        if holder is not None and holder != plug:
            LOG.warning(
                "simulated DPU %s did not plug port %s: representor %s already serves port %s",
                hostname,
                port.id,
                result.representor,
                holder.port_id,
            )
            return
        LOG.info(
            "simulated DPU %s plugged representor %s (pf-mac %s, vf-num %s) for port %s",
            hostname,
            result.representor,
            pf_mac,
            vf_text,
            port.id,
        )
        status.port_up(port.id)

    def unbound(self, port_id: str) -> None:
        """Unplug the port's representor, if one is plugged."""
        plug = self.plugs.remove(port_id)
        if plug is not None:
            LOG.info(
                "simulated DPU %s unplugged representor %s of port %s",
                plug.chassis,
                plug.representor,
                port_id,
            )

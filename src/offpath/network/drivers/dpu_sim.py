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
from typing import Final

from offpath.jsonvalue import JsonValue
from offpath.network.binding_driver import BindOutcome, BindRequest, PortStatusSink
from offpath.network.chassis import DATAPATH_TYPE, ChassisRegistry, serial_item
from offpath.network.profile_validation import remote_managed_profile
from offpath.network.records import VifType
from offpath.network.representors import RepresentorPlug, RepresentorPlugs
from offpath.network.segments import describe_physnets, first_bindable
from offpath.ports.port import Port
from offpath.ports.vnic import VnicType
from offpath.sim.dpu import SimDpu, normalise_mac

LOG = logging.getLogger(__name__)

REQUESTED_CHASSIS: Final = "requested-chassis"
VIF_PLUG_TYPE: Final = "vif-plug-type"
VIF_PLUG_MTU_REQUEST: Final = "vif-plug-mtu-request"
PF_MAC: Final = "vif-plug:representor:pf-mac"
VF_NUM: Final = "vif-plug:representor:vf-num"
REPRESENTOR: Final = "representor"
DEFAULT_MTU: Final = 1500


class DpuSimDriver:
    """Binds remote-managed ports to the DPU whose chassis carries the profile's card serial."""

    name = "dpu-sim"
    vnic_types = frozenset({VnicType.REMOTE_MANAGED})

    def __init__(self, chassis: ChassisRegistry, plugs: RepresentorPlugs) -> None:
        self.chassis = chassis
        self.plugs = plugs

    def bind(self, request: BindRequest) -> BindOutcome:
        """The OVN binding of a remote-managed port, or why OVN would refuse it."""
        port = request.port
        profile = remote_managed_profile(port.binding_profile, port.vnic_type.value)
        if profile is None:
            return BindOutcome.failed(
                f"port {port.id} has no card_serial_number, pf_mac_address and vf_num in its "
                "binding:profile: no DPU chassis can be requested"
            )
        found = self.chassis.by_serial(profile.card_serial_number)
        wanted = f"ovn-cms-options {serial_item(profile.card_serial_number)}"
        if not found:
            return BindOutcome.failed(f"Chassis with {wanted} does not exist")
        if len(found) > 1:
            names = ", ".join(c.hostname for c in found)
            return BindOutcome.failed(f"several chassis have {wanted}: {names}")
        (chassis,) = found
        if not self.chassis.alive(chassis):
            return BindOutcome.failed(
                f"Refusing to bind port {port.id} to dead agent: chassis {chassis.hostname} is down"
            )
        segment = first_bindable(request.segments, chassis.bridge_mappings)
        if segment is None:
            return BindOutcome.failed(
                f"physnet {describe_physnets(request.segments)} of network "
                f"{request.network.id} is not in ovn-bridge-mappings of chassis "
                f"{chassis.hostname}"
            )
        datapath = chassis.other_config.get(DATAPATH_TYPE, "")
        details: dict[str, JsonValue] = {
            "port_filter": True,
            "connectivity": "l2",
            "ovs_create_tap": False,
            "bridge_name": "br-int",
            "datapath_type": datapath if isinstance(datapath, str) else "",
            "bound_drivers": {"0": self.name},
        }
        options: dict[str, JsonValue] = {
            REQUESTED_CHASSIS: chassis.hostname,
            VIF_PLUG_TYPE: REPRESENTOR,
            VIF_PLUG_MTU_REQUEST: str(request.network.mtu or DEFAULT_MTU),
            PF_MAC: profile.pf_mac_address,
            VF_NUM: str(profile.vf_num),
        }
        return BindOutcome(VifType.OVS, details, options)

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

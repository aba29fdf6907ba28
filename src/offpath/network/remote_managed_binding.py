"""How ML2/OVN binds a `remote-managed` port: the DPU chassis found by card serial, its options.

Every driver that binds such ports through OVN's model (the simulated DPU
registry and real OVN alike) decides the same way: the chassis whose
`ovn-cms-options` hold exactly `card-serial-number=<serial>`; none, several
or a dead one is `binding_failed` with the reason; a VLAN/flat physnet the
chassis does not map is refused; otherwise `vif_type` `ovs` and the
Logical_Switch_Port options that ask the DPU to plug the VF representor.
"""

from __future__ import annotations

from typing import Final, Protocol

from offpath.jsonvalue import JsonValue
from offpath.network.binding_driver import BindOutcome, BindRequest
from offpath.network.chassis import DATAPATH_TYPE, serial_item
from offpath.network.profile_validation import remote_managed_profile
from offpath.network.records import Chassis, VifType
from offpath.network.segments import describe_physnets, first_bindable

REQUESTED_CHASSIS: Final = "requested-chassis"
VIF_PLUG_TYPE: Final = "vif-plug-type"
VIF_PLUG_MTU_REQUEST: Final = "vif-plug-mtu-request"
PF_MAC: Final = "vif-plug:representor:pf-mac"
VF_NUM: Final = "vif-plug:representor:vf-num"
REPRESENTOR: Final = "representor"
PLUG_OPTIONS: Final = (REQUESTED_CHASSIS, VIF_PLUG_TYPE, VIF_PLUG_MTU_REQUEST, PF_MAC, VF_NUM)
DEFAULT_MTU: Final = 1500


class ChassisLookup(Protocol):
    """Where a bind finds DPU chassis: the simulated registry, or OVN's Southbound `Chassis`."""

    def by_serial(self, serial: str) -> list[Chassis]:
        """The chassis whose `ovn-cms-options` hold exactly `card-serial-number=<serial>`."""
        ...

    def alive(self, chassis: Chassis) -> bool:
        """True while the chassis' agent (ovn-controller) is alive."""
        ...


def bind_remote_managed(request: BindRequest, lookup: ChassisLookup, *, driver: str) -> BindOutcome:
    """The OVN binding of a remote-managed port, or why OVN would refuse it."""
    port = request.port
    profile = remote_managed_profile(port.binding_profile, port.vnic_type.value)
    if profile is None:
        return BindOutcome.failed(
            f"port {port.id} has no card_serial_number, pf_mac_address and vf_num in its "
            "binding:profile: no DPU chassis can be requested"
        )
    found = lookup.by_serial(profile.card_serial_number)
    wanted = f"ovn-cms-options {serial_item(profile.card_serial_number)}"
    if not found:
        return BindOutcome.failed(f"Chassis with {wanted} does not exist")
    if len(found) > 1:
        names = ", ".join(c.hostname for c in found)
        return BindOutcome.failed(f"several chassis have {wanted}: {names}")
    (chassis,) = found
    if not lookup.alive(chassis):
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
        "bound_drivers": {"0": driver},
    }
    options: dict[str, JsonValue] = {
        REQUESTED_CHASSIS: chassis.hostname,
        VIF_PLUG_TYPE: REPRESENTOR,
        VIF_PLUG_MTU_REQUEST: str(request.network.mtu or DEFAULT_MTU),
        PF_MAC: profile.pf_mac_address,
        VF_NUM: str(profile.vf_num),
    }
    return BindOutcome(VifType.OVS, details, options)

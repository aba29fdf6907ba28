"""A port's `binding:profile`: the PCI part written at bind, removed at unbind, rebuilt on a move.

Keys and values are Nova's. Where offpath differs:

* Capabilities: a user's `capabilities` are kept and the device's netdev features
  are appended; unbind removes only what offpath appended. What it appended
  is recorded in the profile itself, under the key `offpath:added`
  (`{"capabilities": [...], "keys": ["capabilities"]}`, "keys" listing
  the key offpath created). The record travels with the port: unbind needs
  neither the device (which may be gone, or report other features by then)
  nor offpath's own database, and it cannot tell a user's "switchdev" from
  the device's otherwise. It is only written when offpath appended
  something, so a profile without netdev features is exactly Nova's.
  Neutron ignores keys it does not know.
* Moves: binding, and every move, first strips the whole previous PCI part
  and then writes the destination device's, so no field of the source
  device survives. A remote-managed port whose device lacks a field the
  backend needs is refused before any profile is built.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from offpath.errors import BindingProfileInvalid, PortUpdateFailed, RemoteManagedDeviceIncomplete
from offpath.jsonvalue import JsonValue
from offpath.pci.device import DevType, PciDevice
from offpath.pci.spec import DeviceSpec
from offpath.ports.port import Port
from offpath.ports.vnic import VnicType, is_remote_managed, needs_pci_request

Profile = dict[str, JsonValue]

# The keys a profile fragment may hold, all of them offpath's.
PCI_KEYS: Final = (
    "pci_vendor_info",
    "pci_slot",
    "physical_network",
    "card_serial_number",
    "pf_mac_address",
    "vf_num",
    "device_mac_address",
)
# Nova's unbind list: the PCI keys plus the QoS allocation and Cyborg ARQ.
UNBIND_KEYS: Final = (*PCI_KEYS, "allocation", "arq_uuid")
CAPABILITIES: Final = "capabilities"
ADDED: Final = "offpath:added"
# In the record: the keys offpath created (only ever "capabilities").
CREATED: Final = "keys"
# What the remote-managed backend reads to find the DPU and the representor.
REMOTE_MANAGED_KEYS: Final = ("card_serial_number", "pf_mac_address", "vf_num")


def build_profile_fragment(device: PciDevice, spec: DeviceSpec) -> Profile:
    """The profile keys for `device`, selected by `spec` (Nova's `_get_pci_device_profile`)."""
    return device_fragment(device, spec.physical_network)


def device_fragment(device: PciDevice, physical_network: str | None) -> Profile:
    """The profile keys for `device` on `physical_network` (the physnet its spec tags)."""
    fragment: Profile = {
        "pci_vendor_info": f"{device.vendor_id}:{device.product_id}",
        "pci_slot": device.address,
        "physical_network": physical_network,
    }
    if device.dev_type is DevType.VF:
        # Each field on its own: a VF without a VPD serial still has a VF number.
        if device.card_serial_number is not None:
            fragment["card_serial_number"] = device.card_serial_number
        if device.pf_mac_address is not None:
            fragment["pf_mac_address"] = device.pf_mac_address
        if device.vf_num is not None:
            fragment["vf_num"] = device.vf_num
        if device.network_caps:
            fragment[CAPABILITIES] = list(device.network_caps)
    elif device.dev_type is DevType.PF and device.mac_address:
        fragment["device_mac_address"] = device.mac_address
    return fragment


def bind_profile(profile: Mapping[str, JsonValue], fragment: Mapping[str, JsonValue]) -> Profile:
    """`profile` with any previous PCI part replaced by `fragment`, capabilities merged."""
    bound = _without_pci_part(profile, PCI_KEYS)
    device_caps = fragment.get(CAPABILITIES)
    bound.update((k, v) for k, v in fragment.items() if k != CAPABILITIES)
    user_caps = bound.get(CAPABILITIES)
    if user_caps is not None and not isinstance(user_caps, list):
        raise BindingProfileInvalid("capabilities must be of type list.")
    if not isinstance(device_caps, list):
        return bound
    added: list[JsonValue] = []
    for cap in device_caps:
        if cap not in added and (user_caps is None or cap not in user_caps):
            added.append(cap)
    if not added:
        return bound
    bound[CAPABILITIES] = [*(user_caps or []), *added]
    record: dict[str, JsonValue] = {CAPABILITIES: list(added)}
    if user_caps is None:
        record[CREATED] = [CAPABILITIES]
    bound[ADDED] = record
    return bound


def unbind_profile(profile: Mapping[str, JsonValue]) -> Profile:
    """`profile` without Nova's unbind keys and without what offpath appended."""
    return _without_pci_part(profile, UNBIND_KEYS)


def _without_pci_part(profile: Mapping[str, JsonValue], keys: Sequence[str]) -> Profile:
    cleaned = {k: v for k, v in profile.items() if k not in keys and k != ADDED}
    record = profile.get(ADDED)
    caps = cleaned.get(CAPABILITIES)
    # A record someone rewrote by hand is ignored rather than trusted halfway.
    if not isinstance(record, dict) or not isinstance(caps, list):
        return cleaned
    added = record.get(CAPABILITIES)
    if not isinstance(added, list):
        return cleaned
    remaining = [cap for cap in caps if cap not in added]
    created = record.get(CREATED)
    if not remaining and isinstance(created, list) and CAPABILITIES in created:
        del cleaned[CAPABILITIES]
    else:
        cleaned[CAPABILITIES] = remaining
    return cleaned


def backend_keys(vnic_type: VnicType) -> tuple[str, ...]:
    """The profile keys the backend of `vnic_type` cannot bind a port without."""
    return REMOTE_MANAGED_KEYS if is_remote_managed(vnic_type) else ()


def check_backend_fields(port: Port, fragment: Mapping[str, JsonValue]) -> None:
    """Refuse a fragment that lacks a key the port's backend needs (remote-managed only)."""
    missing = [key for key in backend_keys(port.vnic_type) if fragment.get(key) is None]
    if missing:
        address = fragment.get("pci_slot")
        raise RemoteManagedDeviceIncomplete(port.id, str(address), missing=missing)


def profile_for_device(port: Port, device: PciDevice, spec: DeviceSpec) -> Profile:
    """The profile of `port` bound to `device` (boot, attach, unshelve); checked first."""
    return profile_on_physnet(port, device, spec.physical_network)


def profile_on_physnet(port: Port, device: PciDevice, physical_network: str | None) -> Profile:
    """The profile of `port` bound to `device` on `physical_network`; checked first."""
    fragment = device_fragment(device, physical_network)
    check_backend_fields(port, fragment)
    return bind_profile(port.binding_profile, fragment)


@dataclass(frozen=True, slots=True)
class AssignedDevice:
    """A device an instance holds, and the PCI request it serves."""

    request_id: str
    device: PciDevice


def move_mapping(
    source: Sequence[AssignedDevice],
    destination: Sequence[AssignedDevice],
    *,
    reverted: bool = False,
) -> dict[str, PciDevice]:
    """Source address -> destination device, paired by request id; reversed for a revert."""
    if reverted:
        source, destination = destination, source
    targets: dict[str, list[PciDevice]] = {}
    for assigned in destination:
        targets.setdefault(assigned.request_id, []).append(assigned.device)
    mapping: dict[str, PciDevice] = {}
    for assigned in source:
        # Devices of one request pair up in order, not all onto the last one.
        queue = targets.get(assigned.request_id)
        if queue:
            mapping[assigned.device.address] = queue.pop(0)
    return mapping


def refresh_for_move(
    ports: Sequence[Port],
    mapping: Mapping[str, PciDevice],
    *,
    physnet_for: Callable[[PciDevice], str | None],
) -> dict[str, Profile]:
    """New profiles, by port id, of the instance's SR-IOV ports after a move.

    Every port is checked before any profile is returned, so a caller that
    sends the updates only on success changes nothing when one port fails.
    """
    refreshed: dict[str, Profile] = {}
    for port in ports:
        if not needs_pci_request(port.vnic_type):
            continue
        slot = port.binding_profile.get("pci_slot")
        device = mapping.get(slot) if isinstance(slot, str) else None
        if device is None:
            raise PortUpdateFailed(port.id, f"Unable to correlate PCI slot {slot}")
        refreshed[port.id] = profile_on_physnet(port, device, physnet_for(device))
    return refreshed

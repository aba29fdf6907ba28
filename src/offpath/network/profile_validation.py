"""`binding:profile` validation as Neutron's ML2/OVN driver does it, messages included.

The profile is checked against an ordered list of parameter sets; the first
set of which at least one key is present must be present whole, with the
right types. Keys of no matched set are ignored. A remote-managed port
without any of its keys is fine: Nova fills them in at boot.

One deliberate difference: Neutron's type check lets a JSON boolean pass as
`vf_num` (Python's bool is an int); here only a JSON integer does.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from offpath.errors import BindingProfileInvalid
from offpath.jsonvalue import JsonValue
from offpath.ports.vnic import VnicType

# Neutron's limit on the JSON text of a profile.
MAX_PROFILE_JSON: Final = 4095
CAPABILITIES: Final = "capabilities"
SWITCHDEV: Final = "switchdev"

_NONE: Final = type(None)


@dataclass(frozen=True, slots=True)
class ParamSet:
    """Keys that go together, their types, and which ports the set applies to."""

    params: Mapping[str, tuple[type, ...]]
    vnic_type: VnicType | None = None
    capability: str | None = None


PARAM_SETS: Final = (
    ParamSet({"parent_name": (str,), "tag": (int,)}),
    ParamSet({"vtep-physical-switch": (str,), "vtep-logical-switch": (str,)}),
    ParamSet(
        {"pci_vendor_info": (str,), "pci_slot": (str,), "physical_network": (str, _NONE)},
        vnic_type=VnicType.DIRECT,
        capability=SWITCHDEV,
    ),
    ParamSet(
        {
            "pci_vendor_info": (str,),
            "pci_slot": (str,),
            "physical_network": (str, _NONE),
            "card_serial_number": (str,),
            "pf_mac_address": (str,),
            "vf_num": (int,),
        },
        vnic_type=VnicType.REMOTE_MANAGED,
    ),
)


@dataclass(frozen=True, slots=True)
class RemoteManagedProfile:
    """The complete remote-managed part of a validated profile: what finds the DPU and the VF."""

    pci_vendor_info: str
    pci_slot: str
    physical_network: str | None
    card_serial_number: str
    pf_mac_address: str
    vf_num: int


def validate_binding_profile(
    profile: Mapping[str, JsonValue] | None, vnic_type: str
) -> dict[str, JsonValue]:
    """The keys of the matched parameter set; BindingProfileInvalid (HTTP 400) as Neutron says."""
    if not profile:
        return {}
    if len(json.dumps(profile)) > MAX_PROFILE_JSON:
        raise BindingProfileInvalid("binding:profile value too large")
    rest = dict(profile)
    capabilities = rest.pop(CAPABILITIES, [])
    if not isinstance(capabilities, list):
        raise BindingProfileInvalid(f"{CAPABILITIES} must be of type list.")
    for param_set in PARAM_SETS:
        if param_set.vnic_type is not None and param_set.vnic_type.value != vnic_type:
            continue
        if param_set.capability and capabilities and param_set.capability not in capabilities:
            continue
        present = [key for key in param_set.params if key in rest]
        if not present:
            continue
        if len(present) != len(param_set.params):
            keys = dict.fromkeys(param_set.params).keys()
            raise BindingProfileInvalid(f"{keys} are all required.")
        for key, types in param_set.params.items():
            value = rest[key]
            if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
                raise BindingProfileInvalid(f"{key} {_python_str(value)} value invalid type")
        return {key: rest[key] for key in param_set.params}
    return {}


def remote_managed_profile(
    profile: Mapping[str, JsonValue] | None, vnic_type: str
) -> RemoteManagedProfile | None:
    """The remote-managed part of a valid profile; None when the port carries none (yet)."""
    data = validate_binding_profile(profile, vnic_type)
    if vnic_type != VnicType.REMOTE_MANAGED.value or "card_serial_number" not in data:
        return None
    physnet = data["physical_network"]
    vf_num = data["vf_num"]
    assert isinstance(vf_num, int)  # checked by validate_binding_profile
    return RemoteManagedProfile(
        pci_vendor_info=str(data["pci_vendor_info"]),
        pci_slot=str(data["pci_slot"]),
        physical_network=physnet if isinstance(physnet, str) else None,
        card_serial_number=str(data["card_serial_number"]),
        pf_mac_address=str(data["pf_mac_address"]),
        vf_num=vf_num,
    )


def _python_str(value: JsonValue) -> str:
    # Neutron formats the value with Python's str(): None, True, ['a'], {'k': 1}.
    return str(value)

"""One of a port's bindings, as Neutron's `binding-extended` API shows it: a host and how it binds.

A port has one ACTIVE binding (what `binding:host_id` and its siblings
show) and, during a live migration, INACTIVE ones to other hosts: each
decided by the network backend when it was created, none plugged until it
is activated.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from offpath.jsonvalue import JsonValue
from offpath.ports.vnic import VnicType


class BindingStatus(StrEnum):
    """A binding's `status`: the port's active one, or one waiting to be activated."""

    ACTIVE = "ACTIVE"
    INACTIVE = "INACTIVE"


@dataclass(frozen=True, slots=True)
class HostBinding:
    """A port's binding to one host: what it was asked (vnic type, profile), what it got."""

    host: str
    vnic_type: VnicType = VnicType.NORMAL
    profile: Mapping[str, JsonValue] = field(default_factory=dict)
    vif_type: str = "unbound"
    vif_details: Mapping[str, JsonValue] = field(default_factory=dict)
    status: BindingStatus = BindingStatus.INACTIVE

    @property
    def active(self) -> bool:
        """True for the port's active binding."""
        return self.status is BindingStatus.ACTIVE

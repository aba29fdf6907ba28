"""The seam between the network service and what binds ports: simulated DPUs, SR-IOV NICs, OVN.

A driver answers a bind at once (`bind`: vif type and details, the
Logical_Switch_Port options to record, or `binding_failed` with a reason),
then is told when the binding is stored (`bound`) and withdrawn
(`unbound`). Whether the port is up is learnt afterwards, possibly much
later and from another thread: the driver reports it to the
`PortStatusSink` it is given, as an OVN driver does when northd flips
`Logical_Switch_Port.up`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from offpath.jsonvalue import JsonValue
from offpath.network.records import VifType
from offpath.ports.network import Network, Segment
from offpath.ports.port import Port
from offpath.ports.vnic import VnicType


@dataclass(frozen=True, slots=True)
class BindRequest:
    """A port to bind as it will be stored (host, profile, vnic type), its network, the segments."""

    port: Port
    network: Network
    segments: tuple[Segment, ...]

    @property
    def host(self) -> str:
        """The hypervisor the port is bound to."""
        return self.port.binding_host_id or ""


@dataclass(frozen=True, slots=True)
class BindOutcome:
    """What a driver answers to a bind: a binding, or `binding_failed` and why."""

    vif_type: VifType
    vif_details: Mapping[str, JsonValue] = field(default_factory=dict)
    lsp_options: Mapping[str, JsonValue] = field(default_factory=dict)
    failure: str = ""

    @classmethod
    def failed(cls, reason: str) -> BindOutcome:
        """A binding that failed, Neutron's `binding_failed`, with the reason for operators."""
        return cls(VifType.BINDING_FAILED, failure=reason)

    @property
    def bound(self) -> bool:
        """True unless the binding failed."""
        return self.vif_type is not VifType.BINDING_FAILED


class PortStatusSink(Protocol):
    """Where a driver reports that the backend has a port up (plugged) or down."""

    def port_up(self, port_id: str) -> None:
        """The backend has plugged the port: it may go ACTIVE."""
        ...

    def port_down(self, port_id: str) -> None:
        """The backend has lost the port: it goes DOWN."""
        ...


class BindingDriver(Protocol):
    """One way of binding ports of some vnic types (an ML2 mechanism driver's role)."""

    name: str
    vnic_types: frozenset[VnicType]

    def bind(self, request: BindRequest) -> BindOutcome:
        """Decide the binding of `request.port`; never raises for a port it cannot bind."""
        ...

    def bound(self, port: Port, outcome: BindOutcome, status: PortStatusSink) -> None:
        """The binding is stored: ask the backend to plug; report up to `status` when it is."""
        ...

    def unbound(self, port_id: str) -> None:
        """The binding was withdrawn or the port deleted: have the backend unplug it."""
        ...

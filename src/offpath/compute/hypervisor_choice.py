"""Which hypervisor a host's agent drives: libvirt, or a simulation on its test driver."""

from __future__ import annotations

from typing import Protocol

from offpath.compute.libvirt_guest import Hypervisor, LibvirtGuests
from offpath.compute.simulated_hypervisor import SimulatedHypervisor, is_test_uri


class HostHypervisor(Hypervisor, Protocol):
    """A `Hypervisor` that its owner closes."""

    def close(self) -> None:
        """Close the connection (reopened on next use)."""
        ...


def hypervisor_for(uri: str) -> HostHypervisor:
    """A `test:` URI gets the simulated hypervisor; any other, the real libvirt path."""
    if is_test_uri(uri):
        return SimulatedHypervisor(uri)
    return LibvirtGuests(uri)

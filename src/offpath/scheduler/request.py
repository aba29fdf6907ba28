"""What the scheduler is asked to place: PCI requests, capability and version needed, NUMA."""

from __future__ import annotations

from dataclasses import dataclass

from offpath.pci.request import PciRequest
from offpath.version import SUPPORT_VNIC_TYPE_REMOTE_MANAGED


@dataclass(frozen=True, slots=True)
class PlacementRequest:
    """One instance's needs, as the filters read them."""

    pci_requests: tuple[PciRequest, ...] = ()
    # A remote-managed port asks for the host capability (Nova's
    # COMPUTE_REMOTE_MANAGED_PORTS trait) and a new enough compute service.
    remote_managed: bool = False
    # Flavor hw:numa_nodes: how many host NUMA cells the guest spans (None: no NUMA topology).
    numa_nodes: int | None = None

    @property
    def minimum_version(self) -> int:
        """The oldest compute service version that can serve this request."""
        return SUPPORT_VNIC_TYPE_REMOTE_MANAGED if self.remote_managed else 1

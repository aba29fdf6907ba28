"""An in-memory test double of the network service, as the agent and the conductor see it.

It behaves like the network service for the two kinds of port the agent
binds: a remote-managed port goes ACTIVE at bind time (its DPU plugs the
representor) and `network-vif-plugged` is posted right then, before any
agent could listen; a direct port binds by the host's physnet mapping and
goes ACTIVE only once the host's NIC agent says its VF is up
(`device_up`), and only then is its event posted, late, as in a real
cloud. Events go through `post_events`, the compute API's path.
"""

from __future__ import annotations

import itertools
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from offpath.conductor.port_directory import PortRecords
from offpath.jsonvalue import JsonValue
from offpath.ports.network import Network
from offpath.ports.port import Port
from offpath.ports.profile import REMOTE_MANAGED_KEYS
from offpath.ports.vnic import VnicType

# (instance uuid, events) -> the compute API's external events path.
PostEvents = Callable[[str, list[dict[str, object]]], object]

VIF_PLUGGED = "network-vif-plugged"


class InMemoryNetworkDouble(PortRecords):
    """Ports and networks in memory; binds as the embedded network service would."""

    def __init__(self, networks: Sequence[Network] = ()) -> None:
        super().__init__(networks=networks)
        self.post_events: PostEvents | None = None
        self.fail_bind: set[str] = set()  # these ports answer binding_failed
        self.lose_device_up_events = False  # the NIC agent's event never reaches the API
        self.device_up_status = "completed"
        # Seconds after the bind a remote-managed port goes ACTIVE (None: in the bind answer;
        # a negative number: never), as a backend that confirms the DPU's plug later.
        self.remote_managed_active_after: float | None = None
        self.sriov_hosts: dict[str, tuple[str, ...]] = {}
        self.calls: list[tuple[str, str]] = []  # (call, port id), in order
        self._lock = threading.Lock()
        self._macs = itertools.count(1)

    def create_port(
        self,
        network: Network,
        vnic_type: VnicType = VnicType.REMOTE_MANAGED,
        *,
        profile: Mapping[str, JsonValue] | None = None,
    ) -> str:
        """A new unbound port with a MAC; its id."""
        port_id = str(uuid.uuid4())
        n = next(self._macs)
        self.ports[port_id] = Port(
            port_id,
            network.id,
            vnic_type=vnic_type,
            binding_profile=dict(profile or {}),
            mac_address=f"fa:16:3e:00:{n >> 8:02x}:{n & 0xFF:02x}",
            project_id="demo",
        )
        return port_id

    def bind_port(
        self,
        port_id: str,
        *,
        host: str,
        profile: Mapping[str, JsonValue],
        device_id: str,
        device_owner: str,
    ) -> Port:
        with self._lock:
            self.calls.append(("bind", port_id))
            port = self.show_port(port_id)
            network = self.show_network(port.network_id)
            bound = replace(
                port,
                binding_host_id=host,
                binding_profile=dict(profile),
                device_id=device_id,
                device_owner=device_owner,
            )
            bound = self._bind(bound, network, host)
            self.ports[port_id] = bound
        if bound.status == "ACTIVE":
            # The DPU plugged the representor as the binding committed.
            self._post(device_id, port_id, "completed")
        return bound

    def _bind(self, port: Port, network: Network, host: str) -> Port:
        failed = replace(port, vif_type="binding_failed", status="DOWN", vif_details={})
        if port.id in self.fail_bind:
            return failed
        if port.vnic_type is VnicType.REMOTE_MANAGED:
            if any(port.binding_profile.get(key) is None for key in REMOTE_MANAGED_KEYS):
                return failed
            details: dict[str, JsonValue] = {"port_filter": True, "connectivity": "l2"}
            delay = self.remote_managed_active_after
            if delay is not None:
                if delay >= 0:
                    threading.Timer(delay, self._activate, args=(port.id,)).start()
                return replace(port, vif_type="ovs", vif_details=details, status="DOWN")
            return replace(port, vif_type="ovs", vif_details=details, status="ACTIVE")
        physnet = port.binding_profile.get("physical_network")
        if host in self.sriov_hosts and physnet not in self.sriov_hosts[host]:
            return failed
        vlan = next((s.segmentation_id for s in network.segments if s.segmentation_id), None)
        details = {"port_filter": False}
        if vlan:
            details["vlan"] = str(vlan)
        return replace(port, vif_type="hw_veb", vif_details=details, status="DOWN")

    def _activate(self, port_id: str) -> None:
        with self._lock:
            port = self.show_port(port_id)
            if port.binding_host_id is not None:
                self.ports[port_id] = replace(port, status="ACTIVE")

    def unbind_port(self, port_id: str, *, profile: Mapping[str, JsonValue]) -> Port:
        with self._lock:
            self.calls.append(("unbind", port_id))
            port = replace(
                self.show_port(port_id),
                binding_host_id=None,
                binding_profile=dict(profile),
                device_id="",
                device_owner="",
                vif_type="unbound",
                vif_details={},
                status="DOWN",
            )
            self.ports[port_id] = port
            return port

    def device_up(self, host: str, port_id: str) -> None:
        with self._lock:
            self.calls.append(("device_up", port_id))
            port = self.show_port(port_id)
            if port.binding_host_id != host:
                return
            self.ports[port_id] = replace(port, status="ACTIVE")
        if not self.lose_device_up_events:
            self._post(port.device_id, port_id, self.device_up_status)

    def report_sriov_host(self, host: str, physnets: Sequence[str]) -> None:
        self.sriov_hosts[host] = tuple(physnets)

    def _post(self, instance_uuid: str, port_id: str, status: str) -> None:
        if self.post_events is None or not instance_uuid:
            return
        self.calls.append(("event", port_id))
        self.post_events(instance_uuid, [{"name": VIF_PLUGGED, "tag": port_id, "status": status}])

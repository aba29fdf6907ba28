"""An in-memory test double of the network service, as the agent and the conductor see it.

It behaves like the network service for the two kinds of port the agent
binds: a remote-managed port goes ACTIVE at bind time (its DPU plugs the
representor) and `network-vif-plugged` is posted right then, before any
agent could listen; a direct port binds by the host's physnet mapping and
goes ACTIVE only once the host's NIC agent says its VF is up
(`device_up`), and only then is its event posted, late, as in a real
cloud. Events go through `post_events`, the compute API's path.

It also keeps a port's bindings on other hosts (`MultipleBindings`, a
live migration's calls) with the network service's rules: one binding per
host, refused bindings are not kept, activating one binds the port there
as `bind_port` does and keeps the old one inactive.
"""

from __future__ import annotations

import itertools
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from offpath.conductor.port_directory import PortRecords
from offpath.errors import PortBindingFailed, PortBindingNotFound
from offpath.jsonvalue import JsonValue
from offpath.ports.host_binding import BindingStatus, HostBinding
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
        # port id -> host -> its inactive binding there
        self.inactive: dict[str, dict[str, HostBinding]] = {}
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

    def unbind_port(
        self, port_id: str, *, profile: Mapping[str, JsonValue], detach: bool = True
    ) -> Port:
        with self._lock:
            self.calls.append(("unbind", port_id))
            port = replace(
                self.show_port(port_id),
                binding_host_id=None,
                binding_profile=dict(profile),
                device_id="" if detach else self.show_port(port_id).device_id,
                device_owner="" if detach else self.show_port(port_id).device_owner,
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

    # -- MultipleBindings -------------------------------------------------------------

    def create_port_binding(
        self,
        port_id: str,
        *,
        host: str,
        vnic_type: VnicType | None = None,
        profile: Mapping[str, JsonValue],
    ) -> HostBinding:
        with self._lock:
            self.calls.append(("create_binding", port_id))
            port = self.show_port(port_id)
            if host == port.binding_host_id or host in self.inactive.get(port_id, {}):
                raise PortBindingFailed(
                    port_id, f"Binding for port {port_id} on host {host} already exists."
                )
            wanted = replace(
                port,
                binding_host_id=host,
                binding_profile=dict(profile),
                vnic_type=vnic_type or port.vnic_type,
            )
            decided = self._bind(wanted, self.show_network(port.network_id), host)
            if decided.vif_type == "binding_failed":
                raise PortBindingFailed(
                    port_id,
                    f"Binding for port {port_id} on host {host} could not be created or updated.",
                )
            binding = HostBinding(
                host,
                decided.vnic_type,
                dict(profile),
                decided.vif_type,
                dict(decided.vif_details),
                BindingStatus.INACTIVE,
            )
            self.inactive.setdefault(port_id, {})[host] = binding
            return binding

    def port_bindings(self, port_id: str) -> list[HostBinding]:
        with self._lock:
            port = self.show_port(port_id)
            active = HostBinding(
                port.binding_host_id or "",
                port.vnic_type,
                dict(port.binding_profile),
                port.vif_type,
                dict(port.vif_details),
                BindingStatus.ACTIVE,
            )
            return [active, *self.inactive.get(port_id, {}).values()]

    def activate_port_binding(self, port_id: str, host: str) -> Port:
        with self._lock:
            self.calls.append(("activate_binding", port_id))
            port = self.show_port(port_id)
            if port.binding_host_id == host:
                return port  # already active: no error, as for Nova
            waiting = self.inactive.get(port_id, {})
            if host not in waiting:
                raise PortBindingNotFound(port_id, host)
            binding = waiting.pop(host)
            if port.binding_host_id:
                waiting[port.binding_host_id] = HostBinding(
                    port.binding_host_id, port.vnic_type, dict(port.binding_profile)
                )
            moved = replace(
                port,
                binding_host_id=host,
                binding_profile=dict(binding.profile),
                vnic_type=binding.vnic_type,
                status="DOWN",
            )
            bound = self._bind(moved, self.show_network(port.network_id), host)
            self.ports[port_id] = bound
        if bound.status == "ACTIVE":
            self._post(bound.device_id, port_id, "completed")
        return bound

    def delete_port_binding(self, port_id: str, host: str) -> None:
        with self._lock:
            self.calls.append(("delete_binding", port_id))
            port = self.ports.get(port_id)
            if port is not None and port.binding_host_id == host:
                # As Neutron: the active binding goes too, leaving the port unbound.
                self.ports[port_id] = replace(
                    port,
                    binding_host_id=None,
                    binding_profile={},
                    vif_type="unbound",
                    vif_details={},
                    status="DOWN",
                )
            self.inactive.get(port_id, {}).pop(host, None)

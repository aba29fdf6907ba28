"""Server operations run by the conductor against scripted hosts: no HTTP, no agent.

`ScriptedSteps` stands in for the compute RPC API: it records every step
asked of a host and answers as a test scripted it per (host, step): done,
not done with a fault, no answer (RpcTimeout), or a call that hangs until
released. A `finish` step that is done binds the message's ports to its
devices in the network double, as an agent's build would, so a later move
finds each port's profile naming its VF.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select, update

from offpath.compute.build_result import BuildResult, BuildState
from offpath.compute.port_binding import DEVICE_OWNER
from offpath.compute.step_result import StepResult
from offpath.conductor.build_outcome import record_build_result
from offpath.conductor.instance_requests import load_requests
from offpath.conductor.migration_records import MigrationRecord, list_migrations
from offpath.conductor.moves import Moves
from offpath.conductor.operation_base import OperationBase
from offpath.conductor.server_actions import ServerActions
from offpath.db.cell_schema import (
    ComputeNodeRow,
    InstanceActionEventRow,
    InstanceActionRow,
    InstanceFaultRow,
    InstanceRow,
    PciDeviceRow,
    ServiceRow,
)
from offpath.db.columns import utcnow
from offpath.db.device_claims import held_devices
from offpath.db.engine import reading, writing
from offpath.errors import RpcTimeout
from offpath.jsonvalue import JsonValue
from offpath.pci.alias import PciAlias
from offpath.pci.device import DevType, PciDevice
from offpath.pci.flavor import Flavor
from offpath.pci.host_report import HostReport
from offpath.pci.numa import NumaCell
from offpath.pci.request import PciRequest
from offpath.pci.selection import SelectedDevice, select_devices
from offpath.pci.spec_list import DeviceSpecList
from offpath.ports.network import Network
from offpath.ports.profile import profile_on_physnet
from offpath.ports.vnic import VnicType
from offpath.rpc.context import RequestContext
from offpath.sim.fleet import DPU_DEVICE_SPEC, host_devices
from offpath.version import COMPUTE_BINARY, SERVICE_VERSION
from tests.agent.network_double import InMemoryNetworkDouble
from tests.control.cluster import Cluster

NETWORK = Network("net-dpu", network_type="geneve")
PHYSNET = Network("net-vlan", physical_network="physnet-dpu", network_type="vlan")
GPU_VENDOR = "10de"
GPU_A = "1eb8"
GPU_B = "1eb9"
DEVICE_SPEC = (
    *DPU_DEVICE_SPEC,
    f'{{"vendor_id": "{GPU_VENDOR}", "product_id": "{GPU_A}"}}',
    f'{{"vendor_id": "{GPU_VENDOR}", "product_id": "{GPU_B}"}}',
)
ALIASES = {
    name: PciAlias(
        name,
        "legacy",
        ({"vendor_id": GPU_VENDOR, "product_id": product, "dev_type": DevType.PCI.value},),
    )
    for name, product in (("gpu-a", GPU_A), ("gpu-b", GPU_B))
}
FLAVOR = Flavor("m1.small")
SHORT_WAIT = 10.0


def host_name(index: int) -> str:
    """The name `host_report(index)` gives its host."""
    return f"compute-{index:05d}"


def host_report(
    index: int,
    *,
    pfs: int = 1,
    vfs: int = 4,
    gpus: int = 0,
    vf: Callable[[PciDevice], PciDevice] | None = None,
) -> HostReport:
    """Host `index` as its agent reports it: BlueField VFs, `gpus` of each GPU product.

    `vf` rewrites every VF after selection, as a database could hold a VF
    that the agent's spec check would have refused.
    """
    devices = host_devices(index, pfs=pfs, vfs=vfs)
    for n in range(gpus):
        for product in (GPU_A, GPU_B):
            devices.append(
                PciDevice(
                    address=f"0000:81:{n:02x}.{0 if product == GPU_A else 1}",
                    vendor_id=GPU_VENDOR,
                    product_id=product,
                    dev_type=DevType.PCI,
                    numa_node=0,
                )
            )
    specs = DeviceSpecList.from_values(DEVICE_SPEC, sysfs_root=Path("/nonexistent"))
    selected = select_devices(devices, specs)
    if vf is not None:
        selected = tuple(
            replace(s, device=vf(s.device)) if s.device.dev_type is DevType.VF else s
            for s in selected
        )
    cells = tuple(NumaCell(node, socket=node) for node in range(2))
    return HostReport(host=host_name(index), devices=selected, numa_cells=cells)


@dataclass(frozen=True, slots=True)
class StepCall:
    """One step a host was asked for."""

    host: str
    step: str
    instance_uuid: str
    args: Mapping[str, object]
    long: bool


@dataclass
class Script:
    """How a host answers one step."""

    done: bool = True
    fault: str = ""
    timeout: bool = False
    release: threading.Event | None = None
    before: Callable[[], None] | None = None
    handoff: str | None = None


class ScriptedSteps:
    """A `StepRunner` whose hosts answer as scripted; every call recorded."""

    def __init__(self, network: InMemoryNetworkDouble) -> None:
        self.network = network
        self.calls: list[StepCall] = []
        # When the conductor stamped each call as sent (the agent refuses stale ones).
        self.sent_at: list[object] = []
        self.scripts: dict[tuple[str, str], Script] = {}
        self._lock = threading.Lock()

    def fail(self, host: str, step: str, fault: str = "the host refused") -> None:
        """`host` answers `step` not done, with `fault`."""
        self.scripts[(host, step)] = Script(done=False, fault=fault)

    def hand_off(self, host: str, step: str, handoff: str) -> None:
        """`host` answers `step` done, handing `handoff` over (a simulated live migration)."""
        self.scripts[(host, step)] = Script(handoff=handoff)

    def time_out(self, host: str, step: str) -> None:
        """`host` never answers `step`: the RPC call times out."""
        self.scripts[(host, step)] = Script(timeout=True)

    def hang(
        self, host: str, step: str, *, before: Callable[[], None] | None = None
    ) -> threading.Event:
        """`host` answers `step` only once the event returned is set (`before` runs first)."""
        release = threading.Event()
        self.scripts[(host, step)] = Script(release=release, before=before)
        return release

    def release_all(self) -> None:
        """Let every hanging call return."""
        for script in self.scripts.values():
            if script.release is not None:
                script.release.set()

    def sequence(self) -> list[tuple[str, str]]:
        """(host, step) of every call, in order."""
        with self._lock:
            return [(c.host, c.step) for c in self.calls]

    def run_step(
        self,
        ctx: RequestContext,
        host: str,
        step: str,
        instance_uuid: str,
        args: Mapping[str, object] | None = None,
        *,
        long: bool = False,
    ) -> StepResult:
        """Record the call (its send time apart) and answer as scripted."""
        sent = dict(args or {})
        # Every step is stamped with when it was sent; tests compare the rest.
        self.sent_at.append(sent.pop("issued_at", None))
        with self._lock:
            self.calls.append(StepCall(host, step, instance_uuid, sent, long))
        script = self.scripts.get((host, step), Script())
        if script.before is not None:
            script.before()
        if script.release is not None:
            script.release.wait(SHORT_WAIT)
        if script.timeout:
            raise RpcTimeout("compute", "run_step", timeout=600, server=host)
        if not script.done:
            return StepResult(
                instance_uuid, host, step, False, fault=script.fault, hypervisor="simulated"
            )
        if step == "finish":
            self._bind(host, (args or {}).get("message"))
        return StepResult(
            instance_uuid, host, step, True, hypervisor="simulated", handoff=script.handoff
        )

    def _bind(self, host: str, message: object) -> None:
        """What a done `finish` leaves: each port bound to its device here."""
        assert isinstance(message, dict)
        for entry in message["devices"]:
            port_id = entry["requester_id"]
            if port_id is None:
                continue
            selected = SelectedDevice.from_primitive(entry["selected"])
            bind(self.network, port_id, host, message["instance_uuid"], selected)


def bind(
    network: InMemoryNetworkDouble,
    port_id: str,
    host: str,
    instance_uuid: str,
    selected: SelectedDevice,
) -> None:
    """Bind the port to `selected` on `host` with the profile an agent writes."""
    port = network.show_port(port_id)
    physnet = selected.tags.get("physical_network")
    profile = profile_on_physnet(
        port, selected.device, physnet if isinstance(physnet, str) else None
    )
    network.bind_port(
        port_id, host=host, profile=profile, device_id=instance_uuid, device_owner=DEVICE_OWNER
    )


@dataclass(frozen=True, slots=True)
class Event:
    """One event of an instance action, its details read back from JSON when they are JSON."""

    event: str
    result: str | None
    details: JsonValue


@dataclass(frozen=True, slots=True)
class Action:
    """One instance action and its events."""

    action: str
    message: str | None
    finished: bool
    events: tuple[Event, ...]


@dataclass(frozen=True, slots=True)
class Server:
    """An instance row as the test reads it."""

    uuid: str
    host: str | None
    vm_state: str
    task_state: str | None
    flavor: Mapping[str, object]


@dataclass
class OperationsRig:
    """A cluster, a network double, scripted hosts, and the conductor's operations over them."""

    cluster: Cluster
    network: InMemoryNetworkDouble
    steps: ScriptedSteps
    base: OperationBase
    actions: ServerActions
    moves: Moves
    booted: list[str] = field(default_factory=list)

    @property
    def engine(self) -> Engine:
        return self.cluster.cells.engine(self.cluster.cell())

    # -- making things -----------------------------------------------------

    def report(self, *reports: HostReport, version: int = SERVICE_VERSION) -> None:
        """Hosts report their inventory and register their compute service."""
        self.cluster.report(reports, version=version)

    def port(self, vnic_type: VnicType = VnicType.REMOTE_MANAGED) -> str:
        """A new unbound port; its id."""
        network = NETWORK if vnic_type is VnicType.REMOTE_MANAGED else PHYSNET
        return self.network.create_port(network, vnic_type)

    def server(self, *port_ids: str, flavor: Flavor = FLAVOR) -> str:
        """A server ACTIVE with `port_ids` bound to its VFs (as its build left it); its uuid."""
        view = self.cluster.boot(*port_ids, flavor=flavor)
        assert view.host is not None, view.fault
        record_build_result(self.engine, BuildResult(view.uuid, view.host, BuildState.ACTIVE))
        with reading(self.engine) as session:
            devices = held_devices(session, view.uuid, view.host)
            requests = {r.request_id: r.requester_id for r in load_requests(session, view.uuid)}
        for device in devices:
            port_id = requests.get(device.request_id)
            if port_id is not None:
                bind(self.network, port_id, view.host, view.uuid, device.selected)
        self.booted.append(view.uuid)
        return view.uuid

    def set_service(
        self,
        host: str,
        *,
        forced_down: bool | None = None,
        last_seen_up: datetime | None = None,
    ) -> None:
        """Change the compute service record of `host`."""
        values: dict[str, object] = {}
        if forced_down is not None:
            values["forced_down"] = forced_down
        if last_seen_up is not None:
            values["last_seen_up"] = last_seen_up
        with writing(self.engine) as session:
            session.execute(
                update(ServiceRow)
                .where(ServiceRow.host == host, ServiceRow.binary == COMPUTE_BINARY)
                .values(**values)
            )

    def revive(self, host: str) -> None:
        """The compute service of `host` heartbeats again and is not forced down."""
        self.set_service(host, forced_down=False, last_seen_up=utcnow())

    # -- reading the database ------------------------------------------------

    def instance(self, uuid_: str) -> Server:
        with reading(self.engine) as session:
            row = session.get(InstanceRow, uuid_)
            assert row is not None
            return Server(row.uuid, row.host, row.vm_state, row.task_state, dict(row.flavor))

    def held(self, uuid_: str) -> dict[str, list[str]]:
        """Host -> the addresses `uuid_` holds there (PFs made unclaimable not counted)."""
        with reading(self.engine) as session:
            rows = session.execute(
                select(ComputeNodeRow.host, PciDeviceRow.address)
                .join(ComputeNodeRow, ComputeNodeRow.id == PciDeviceRow.compute_node_id)
                .where(PciDeviceRow.instance_uuid == uuid_)
                .order_by(ComputeNodeRow.host, PciDeviceRow.address)
            ).all()
        found: dict[str, list[str]] = {}
        for host, address in rows:
            found.setdefault(host, []).append(address)
        return found

    def held_by_request(self, uuid_: str, host: str) -> dict[str, str]:
        """Request id -> address of what `uuid_` holds on `host`."""
        with reading(self.engine) as session:
            return {d.request_id: d.address for d in held_devices(session, uuid_, host)}

    def requests(self, uuid_: str) -> list[PciRequest]:
        with reading(self.engine) as session:
            return load_requests(session, uuid_)

    def faults(self, uuid_: str) -> list[str]:
        with reading(self.engine) as session:
            return list(
                session.scalars(
                    select(InstanceFaultRow.message)
                    .where(InstanceFaultRow.instance_uuid == uuid_)
                    .order_by(InstanceFaultRow.id)
                )
            )

    def actions_of(self, uuid_: str) -> list[Action]:
        """The instance's actions but its create, oldest first."""
        with reading(self.engine) as session:
            rows = list(
                session.scalars(
                    select(InstanceActionRow)
                    .where(
                        InstanceActionRow.instance_uuid == uuid_,
                        InstanceActionRow.action != "create",
                    )
                    .order_by(InstanceActionRow.id)
                )
            )
            found = []
            for row in rows:
                events = session.scalars(
                    select(InstanceActionEventRow)
                    .where(InstanceActionEventRow.action_id == row.id)
                    .order_by(InstanceActionEventRow.id)
                )
                found.append(
                    Action(
                        row.action,
                        row.message,
                        row.finish_time is not None,
                        tuple(Event(e.event, e.result, _details(e.details)) for e in events),
                    )
                )
            return found

    def last_action(self, uuid_: str) -> Action:
        return self.actions_of(uuid_)[-1]

    def migrations(self, uuid_: str) -> list[MigrationRecord]:
        with reading(self.engine) as session:
            return list_migrations(session, instance_uuid=uuid_)

    def spec_ports(self, uuid_: str) -> list[str]:
        return self.cluster.conductor.port_ids(uuid_)


def _details(text: str | None) -> JsonValue:
    if text is None:
        return None
    try:
        parsed: JsonValue = json.loads(text)
    except ValueError:
        return text
    return parsed


def make_rig(cluster: Cluster, *, shelved_offload_time: int = 0) -> OperationsRig:
    """Operations over `cluster`, run to their end in the caller, liveness polled often."""
    network = InMemoryNetworkDouble([NETWORK, PHYSNET])
    cluster.ports = network
    cluster.conductor.ports = network
    cluster.conductor.aliases = dict(ALIASES)
    # Hosts reported mid-test are scheduled at once, not a second later.
    cluster.cache.service_refresh = 0.0
    steps = ScriptedSteps(network)
    base = OperationBase(cluster.conductor, steps, background=False, liveness_poll=0.05)
    return OperationsRig(
        cluster,
        network,
        steps,
        base,
        ServerActions(base, shelved_offload_time=shelved_offload_time),
        Moves(base, bindings=network),
    )


def new_uuid() -> str:
    return str(uuid.uuid4())


def devices_of(message: object) -> list[dict[str, Any]]:
    """The `devices` of a build message, as the conductor sent them."""
    assert isinstance(message, dict)
    devices = message["devices"]
    assert isinstance(devices, list)
    return devices


def addresses(message: object) -> list[str]:
    """The addresses of the devices a build message hands over."""
    return [str(d["selected"]["device"]["address"]) for d in devices_of(message)]

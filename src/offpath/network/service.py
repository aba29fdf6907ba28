"""The network service: networks, subnets and ports in the API database, bound by drivers.

Every call reads and writes the database and keeps nothing in memory, so
several API workers serve the same state. A port's binding is decided by
the driver for its vnic type inside the write that stores it; the driver
is told about it once it is committed, and reports later, through
`port_up` / `port_down`, whether the backend has the port plugged. The
DOWN->ACTIVE and ACTIVE->DOWN changes of a port with a server post
`network-vif-plugged` / `network-vif-unplugged` to the compute API.

Where offpath differs from ML2/OVN: withdrawing or changing a binding
unplugs the representor at once (OVN leaves it plugged, ovn-org/ovn#312).
"""

from __future__ import annotations

import ipaddress
import logging
import secrets
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Final, TypeVar

from sqlalchemy import Engine, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from offpath.db.engine import reading, write_retrying
from offpath.db.network_schema import (
    IpAllocationRow,
    NetworkRow,
    PortRow,
    SubnetRow,
)
from offpath.errors import (
    IpAddressGenerationFailure,
    IpAddressInUse,
    MacAddressInUse,
    NetworkInUse,
    NetworkNotFound,
    NetworkRequestConflict,
    NetworkRequestInvalid,
    OffpathError,
    PortBindingAlreadyActive,
    PortBindingAlreadyExists,
    PortBindingError,
    PortBindingNotFound,
    PortNotFound,
    SubnetNotFound,
)
from offpath.network.binding_driver import BindingDriver, BindOutcome, BindRequest
from offpath.network.caller import ADMIN, Caller, storable, visible_row
from offpath.network.chassis import ChassisRegistry, ChassisView
from offpath.network.mirror import NetworkMirror, PortWrite, SecurityGroupWrite
from offpath.network.neutron_json import (
    UNSET,
    BindingSpec,
    FixedIpRequest,
    NetworkChanges,
    NetworkSpec,
    PortChanges,
    PortSpec,
    SubnetSpec,
    Unset,
)
from offpath.network.nova_notifier import VIF_PLUGGED, VIF_UNPLUGGED, EventSink, ServerEvent
from offpath.network.port_bindings import (
    active_binding,
    add_inactive,
    check_compute_port,
    decided_outcome,
    drop_inactive,
    inactive_binding,
    inactive_bindings,
    keep_inactive,
)
from offpath.network.profile_validation import validate_binding_profile
from offpath.network.records import (
    Chassis,
    NetworkRecord,
    PortRecord,
    PortStatus,
    SubnetRecord,
    VifType,
)
from offpath.network.representors import RepresentorPlug, RepresentorPlugs
from offpath.network.security_groups import (
    SecurityGroups,
    ensure_default_group,
    filtered_ports,
    group_members,
    group_records,
    port_groups,
    set_port_groups,
)
from offpath.network.segments import segments_of
from offpath.network.sriov_hosts import SriovHosts
from offpath.ports.host_binding import HostBinding
from offpath.ports.network import Network, Segment
from offpath.ports.port import FixedIp, Port
from offpath.ports.vnic import VnicType

LOG = logging.getLogger(__name__)
# Stripes of the per-port mirror locks (ports hash onto them).
PORT_LOCK_STRIPES: Final = 64

_T = TypeVar("_T")

# Neutron's default MTUs: 1500 on a physnet, less the encapsulation on overlays.
DEFAULT_MTU: Final = 1500
OVERLAY_MTU: Final = {"geneve": 1442, "vxlan": 1450, "gre": 1458}
DEFAULT_NETWORK_TYPE: Final = "geneve"
MAC_PREFIX: Final = "fa:16:3e"


@dataclass(frozen=True, slots=True)
class _Previous:
    """A port's binding before a write changes it: what to unplug, whom to tell."""

    host: str
    vnic_type: str
    device_id: str
    active: bool

    @classmethod
    def of(cls, row: PortRow) -> _Previous:
        """What `row` holds now."""
        return cls(row.host_id, row.vnic_type, row.device_id, row.status == PortStatus.ACTIVE.value)


@dataclass(frozen=True, slots=True)
class _Followup:
    """What to do once a port write committed: unplug, plug, post events."""

    port_id: str = ""
    unbind: BindingDriver | None = None
    bind: tuple[BindingDriver, Port, BindOutcome] | None = None
    events: tuple[ServerEvent, ...] = ()


class NetworkService:
    """Neutron's core API (networks, subnets, ports with bindings) over the API database."""

    def __init__(
        self,
        engine: Engine,
        *,
        drivers: Sequence[BindingDriver],
        events: EventSink | None = None,
        chassis: ChassisView | None = None,
        plugs: RepresentorPlugs | None = None,
        sriov_hosts: SriovHosts | None = None,
        mirror: NetworkMirror | None = None,
    ) -> None:
        self.engine = engine
        self.drivers = tuple(drivers)
        self.events = events
        self.chassis = chassis
        self.plugs = plugs
        self.sriov_hosts = sriov_hosts
        self.mirror = mirror
        self.security_groups = SecurityGroups(
            engine, changed=self._group_changed, deleted=self._group_deleted
        )
        # One port's mirror writes in order: a status write that read the row just
        # before a delete must not write the port back after the delete removed it.
        self._port_locks = tuple(threading.Lock() for _ in range(PORT_LOCK_STRIPES))

    # -- networks -------------------------------------------------------------------

    def create_network(self, caller: Caller, spec: NetworkSpec) -> NetworkRecord:
        """Create a network; overlays (geneve) unless provider attributes say otherwise."""
        network_type = spec.network_type
        if not spec.segments and network_type is None:
            network_type = DEFAULT_NETWORK_TYPE
        first = spec.segments[0].network_type if spec.segments else network_type
        mtu = spec.mtu or OVERLAY_MTU.get(first or "", DEFAULT_MTU)
        row = NetworkRow(
            id=str(uuid.uuid4()),
            project_id=caller.project_for(spec.project_id),
            name=spec.name,
            status="ACTIVE",
            admin_state_up=spec.admin_state_up,
            shared=spec.shared,
            network_type=network_type if not spec.segments else None,
            physical_network=spec.physical_network if not spec.segments else None,
            segmentation_id=spec.segmentation_id if not spec.segments else None,
            segments=[
                {
                    "network_type": s.network_type,
                    "physical_network": s.physical_network,
                    "segmentation_id": s.segmentation_id,
                }
                for s in spec.segments
            ],
            mtu=mtu,
        )

        def work(session: Session) -> NetworkRecord:
            session.add(row)
            session.flush()
            return _network_record(row, ())

        record = write_retrying(self.engine, work, retry_on=IntegrityError)
        self._mirrored(f"network {record.network.id}", self._mirror_network, record)
        return record

    def list_networks(self, caller: Caller) -> list[NetworkRecord]:
        """The networks the caller sees (its own and shared ones), oldest first."""
        with reading(self.engine) as session:
            rows = session.scalars(select(NetworkRow).order_by(NetworkRow.created_at))
            visible = [row for row in rows if caller.sees(row.project_id, shared=row.shared)]
            subnets = _subnet_ids(session, [row.id for row in visible])
            return [_network_record(row, subnets.get(row.id, ())) for row in visible]

    def get_network(self, caller: Caller, network_id: str) -> NetworkRecord:
        """One network; NetworkNotFound when absent or the caller may not see it."""
        with reading(self.engine) as session:
            row = _network_row(session, caller, network_id)
            return _network_record(row, _subnet_ids(session, [row.id]).get(row.id, ()))

    def update_network(
        self, caller: Caller, network_id: str, changes: NetworkChanges
    ) -> NetworkRecord:
        """Change a network's name, admin state, sharing or MTU."""

        def work(session: Session) -> NetworkRecord:
            row = _network_row(session, caller, network_id, owned=True)
            if not isinstance(changes.name, Unset):
                row.name = changes.name
            if not isinstance(changes.admin_state_up, Unset):
                row.admin_state_up = changes.admin_state_up
            if not isinstance(changes.shared, Unset):
                row.shared = changes.shared
            if not isinstance(changes.mtu, Unset):
                row.mtu = changes.mtu
            session.flush()
            return _network_record(row, _subnet_ids(session, [row.id]).get(row.id, ()))

        record = write_retrying(self.engine, work, retry_on=IntegrityError)
        self._mirrored(f"network {network_id}", self._mirror_network, record)
        return record

    def delete_network(self, caller: Caller, network_id: str) -> None:
        """Delete a network and its subnets; NetworkInUse while it has ports."""

        def work(session: Session) -> None:
            row = _network_row(session, caller, network_id, owned=True)
            ports = session.scalar(
                select(func.count()).select_from(PortRow).where(PortRow.network_id == row.id)
            )
            if ports:
                raise NetworkInUse(network_id)
            for subnet in session.scalars(select(SubnetRow).where(SubnetRow.network_id == row.id)):
                session.delete(subnet)
            session.delete(row)

        write_retrying(self.engine, work, retry_on=IntegrityError)
        if self.mirror is not None:
            self._mirrored(f"network {network_id}", self.mirror.network_deleted, network_id)

    # -- subnets --------------------------------------------------------------------

    def create_subnet(self, caller: Caller, spec: SubnetSpec) -> SubnetRecord:
        """Create a subnet; its gateway defaults to the first address of the range."""
        network = ipaddress.ip_network(spec.cidr)
        if isinstance(spec.gateway_ip, Unset):
            gateway: str | None = str(next(network.hosts(), network.network_address))
        else:
            gateway = spec.gateway_ip

        def work(session: Session) -> SubnetRecord:
            parent = _network_row(session, caller, spec.network_id, owned=True)
            row = SubnetRow(
                id=str(uuid.uuid4()),
                network_id=parent.id,
                project_id=caller.project_for(spec.project_id or parent.project_id),
                name=spec.name,
                cidr=spec.cidr,
                ip_version=spec.ip_version,
                gateway_ip=gateway,
            )
            session.add(row)
            session.flush()
            return _subnet_record(row)

        return write_retrying(self.engine, work, retry_on=IntegrityError)

    def list_subnets(self, caller: Caller) -> list[SubnetRecord]:
        """The subnets of the networks the caller sees."""
        with reading(self.engine) as session:
            query = select(SubnetRow, NetworkRow).join(
                NetworkRow, NetworkRow.id == SubnetRow.network_id
            )
            return [
                _subnet_record(subnet)
                for subnet, network in session.execute(query.order_by(SubnetRow.created_at))
                if caller.sees(subnet.project_id, shared=network.shared)
            ]

    def get_subnet(self, caller: Caller, subnet_id: str) -> SubnetRecord:
        """One subnet; SubnetNotFound when absent or not the caller's."""
        with reading(self.engine) as session:
            return _subnet_record(_subnet_row(session, caller, subnet_id))

    def update_subnet(self, caller: Caller, subnet_id: str, name: str | Unset) -> SubnetRecord:
        """Rename a subnet; SubnetNotFound when absent or not the caller's."""

        def work(session: Session) -> SubnetRecord:
            row = _subnet_row(session, caller, subnet_id)
            if not isinstance(name, Unset):
                row.name = name
            session.flush()
            return _subnet_record(row)

        return write_retrying(self.engine, work, retry_on=IntegrityError)

    def delete_subnet(self, caller: Caller, subnet_id: str) -> None:
        """Delete a subnet; refused while a port holds one of its addresses."""

        def work(session: Session) -> None:
            row = _subnet_row(session, caller, subnet_id)
            used = session.scalar(
                select(func.count())
                .select_from(IpAllocationRow)
                .where(IpAllocationRow.subnet_id == row.id)
            )
            if used:
                raise NetworkRequestConflict(
                    f"Unable to complete operation on subnet {subnet_id}: "
                    "One or more ports have an IP allocation from this subnet."
                )
            session.delete(row)

        write_retrying(self.engine, work, retry_on=IntegrityError)

    # -- ports ----------------------------------------------------------------------

    def create_port(self, caller: Caller, spec: PortSpec) -> PortRecord:
        """Create a port with a MAC (fa:16:3e:..) and fixed IPs; bind it if it names a host."""

        def work(session: Session) -> tuple[PortRecord, _Followup]:
            network = _network_row(session, caller, spec.network_id)
            changes = spec.changes
            mac = changes.mac_address if not isinstance(changes.mac_address, Unset) else None
            if mac is not None:
                _check_mac_free(session, network.id, mac)
            row = PortRow(
                id=str(uuid.uuid4()),
                network_id=network.id,
                project_id=caller.project_for(spec.project_id or network.project_id),
                mac_address=mac or _random_mac(session, network.id),
                status=PortStatus.DOWN.value,
                name="",
                admin_state_up=True,
                device_id="",
                device_owner="",
                vnic_type=VnicType.NORMAL.value,
                host_id="",
                profile={},
                vif_type=VifType.UNBOUND.value,
                vif_details={},
                lsp_options={},
                binding_failure="",
            )
            session.add(row)
            session.flush()
            # As Neutron: a port created without groups is in its project's `default` one.
            groups = changes.security_groups
            if isinstance(groups, Unset):
                groups = (ensure_default_group(session, row.project_id),)
            set_port_groups(session, row.id, row.project_id, groups)
            requested = changes.fixed_ips
            _allocate_ips(
                session,
                row,
                network,
                () if isinstance(requested, Unset) else requested,
                default=isinstance(requested, Unset),
            )
            followup = self._apply(
                session,
                row,
                replace(changes, mac_address=UNSET, fixed_ips=UNSET, security_groups=UNSET),
            )
            session.flush()
            return _port_record(session, row), followup

        record, followup = write_retrying(self.engine, work, retry_on=IntegrityError)
        self._follow(followup, record.port.id)
        return self.get_port(ADMIN, record.port.id) if followup.bind else record

    def list_ports(
        self,
        caller: Caller,
        *,
        device_id: Sequence[str] = (),
        host: Sequence[str] = (),
        network_id: Sequence[str] = (),
    ) -> list[PortRecord]:
        """The caller's ports, filtered by device, binding host and network when given."""
        filters = (device_id, host, network_id)
        # A filter no stored value can match matches nothing.
        if any(values and not any(map(storable, values)) for values in filters):
            return []
        device_id, host, network_id = ([v for v in values if storable(v)] for values in filters)
        query = select(PortRow).order_by(PortRow.created_at, PortRow.id)
        if device_id:
            query = query.where(PortRow.device_id.in_(device_id))
        if host:
            query = query.where(PortRow.host_id.in_(host))
        if network_id:
            query = query.where(PortRow.network_id.in_(network_id))
        if not caller.sees_all:
            query = query.where(PortRow.project_id == caller.project_id)
        with reading(self.engine) as session:
            rows = list(session.scalars(query))
            ids = [row.id for row in rows]
            ips, groups = _fixed_ips(session, ids), port_groups(session, ids)
            return [_record_of(row, ips.get(row.id, ()), groups.get(row.id, ())) for row in rows]

    def get_port(self, caller: Caller, port_id: str) -> PortRecord:
        """One port; PortNotFound when absent or another project's."""
        with reading(self.engine) as session:
            return _port_record(session, _port_row(session, caller, port_id))

    def update_port(self, caller: Caller, port_id: str, changes: PortChanges) -> PortRecord:
        """Change a port; a changed host, profile or vnic type rebinds it (or unbinds it)."""
        if not isinstance(changes.fixed_ips, Unset):
            raise NetworkRequestInvalid(
                "Invalid input for operation: updating fixed_ips is not supported."
            )

        def work(session: Session) -> _Followup:
            row = _port_row(session, caller, port_id)
            if (
                not isinstance(changes.mac_address, Unset)
                and changes.mac_address != row.mac_address
            ):
                if row.host_id:
                    raise NetworkRequestConflict(
                        f"Port {port_id} is bound: its MAC address cannot be changed"
                    )
                _check_mac_free(session, row.network_id, changes.mac_address)
                row.mac_address = changes.mac_address
            if not isinstance(changes.security_groups, Unset):
                set_port_groups(session, row.id, row.project_id, changes.security_groups)
            return self._apply(
                session, row, replace(changes, mac_address=UNSET, security_groups=UNSET)
            )

        followup = write_retrying(self.engine, work, retry_on=IntegrityError)
        self._follow(followup, port_id)
        return self.get_port(ADMIN, port_id)

    def delete_port(self, caller: Caller, port_id: str) -> None:
        """Delete a port; its representor is unplugged."""

        def work(session: Session) -> BindingDriver | None:
            row = _port_row(session, caller, port_id)
            driver = self._driver_for(row.vnic_type) if row.host_id else None
            session.delete(row)
            return driver

        driver = write_retrying(self.engine, work, retry_on=IntegrityError)
        if driver is not None:
            driver.unbound(port_id)
        if self.mirror is not None:
            with self._port_lock(port_id):
                self._mirrored(f"port {port_id}", self.mirror.port_deleted, port_id)

    # -- bindings on several hosts (Neutron's binding-extended) ---------------------------

    def list_port_bindings(self, caller: Caller, port_id: str) -> list[HostBinding]:
        """The port's bindings: the active one first (host "" if unbound), then inactive ones."""
        with reading(self.engine) as session:
            row = _port_row(session, caller, port_id)
            check_compute_port(row)
            return [active_binding(row), *inactive_bindings(session, row.id)]

    def get_port_binding(self, caller: Caller, port_id: str, host: str) -> HostBinding:
        """The port's binding to `host`; PortBindingNotFound when it has none there."""
        found = [b for b in self.list_port_bindings(caller, port_id) if b.host == host]
        if not found:
            raise PortBindingNotFound(port_id, host)
        return found[0]

    def create_port_binding(self, caller: Caller, port_id: str, spec: BindingSpec) -> HostBinding:
        """An INACTIVE binding to another host, as its driver decides it; nothing is plugged.

        The vnic type defaults to the port's. A binding the driver refuses is not
        stored: PortBindingError says why (Neutron answers it 500, Nova's
        PortBindingFailed).
        """

        def work(session: Session) -> HostBinding:
            row = _port_row(session, caller, port_id)
            check_compute_port(row)
            if spec.host == row.host_id or inactive_binding(session, row.id, spec.host):
                raise PortBindingAlreadyExists(port_id, spec.host)
            vnic = spec.vnic_type or VnicType.parse(row.vnic_type)
            validate_binding_profile(spec.profile, vnic.value)
            port = replace(
                _record_of(row, ()).port,
                binding_host_id=spec.host,
                binding_profile=dict(spec.profile),
                vnic_type=vnic,
            )
            _driver, outcome = self._decide(session, port)
            if not outcome.bound:
                LOG.warning(
                    "binding port %s to %s (inactive) failed: %s",
                    port_id,
                    spec.host,
                    outcome.failure,
                )
                raise PortBindingError(port_id, spec.host, outcome.failure)
            return add_inactive(
                session,
                row.id,
                host=spec.host,
                vnic_type=vnic.value,
                profile=dict(spec.profile),
                outcome=outcome,
            )

        return write_retrying(self.engine, work, retry_on=IntegrityError)

    def activate_port_binding(self, caller: Caller, port_id: str, host: str) -> HostBinding:
        """Make the port's inactive binding to `host` its active one; the old one goes inactive.

        The port is then bound as by a port update naming the host: the old
        backend unplugs, the new one plugs, the port goes ACTIVE when the backend
        says so and `network-vif-plugged` follows.
        """

        def work(session: Session) -> _Followup:
            row = _port_row(session, caller, port_id)
            check_compute_port(row)
            if row.host_id == host:
                raise PortBindingAlreadyActive(port_id, host)
            binding = inactive_binding(session, row.id, host) if storable(host) else None
            if binding is None:
                raise PortBindingNotFound(port_id, host)
            previous = _Previous.of(row)
            decided = decided_outcome(binding)
            session.delete(binding)
            if row.host_id:
                keep_inactive(session, row)
            row.host_id, row.vnic_type, row.profile = host, binding.vnic_type, dict(binding.profile)
            followup = self._rebind(session, row, previous, decided=decided)
            if followup.bind is None:
                raise PortBindingError(port_id, host, row.binding_failure)
            return followup

        self._follow(write_retrying(self.engine, work, retry_on=IntegrityError), port_id)
        return self.get_port_binding(ADMIN, port_id, host)

    def delete_port_binding(self, caller: Caller, port_id: str, host: str) -> None:
        """Delete the binding to `host`; as in Neutron, deleting the active one unbinds the port."""

        def work(session: Session) -> _Followup:
            row = _port_row(session, caller, port_id)
            check_compute_port(row)
            if host and row.host_id == host:
                return self._apply(session, row, PortChanges(host_id="", profile={}))
            binding = inactive_binding(session, row.id, host) if storable(host) else None
            if binding is None:
                raise PortBindingNotFound(port_id, host)
            session.delete(binding)
            return _Followup()

        followup = write_retrying(self.engine, work, retry_on=IntegrityError)
        if followup.port_id:
            self._follow(followup, port_id)

    # -- what backends and host agents report --------------------------------------------

    def write_port_to_backend(self, port_id: str) -> None:
        """Write one port to the mirror again, whole (a repair); raises what the mirror raises."""
        if self.mirror is not None:
            self._mirror_port(port_id)

    def write_network_to_backend(self, network_id: str) -> None:
        """Write one network to the mirror again, whole (a repair)."""
        if self.mirror is not None:
            self._mirror_network(self.get_network(ADMIN, network_id))

    def write_security_group_to_backend(self, group_id: str) -> None:
        """Write one group to the mirror again, whole with its members (a repair)."""
        if self.mirror is not None:
            self._mirror_group(group_id, with_members=True)

    def write_filtered_ports_to_backend(self) -> None:
        """Tell the mirror again which ports their groups filter (a repair)."""
        if self.mirror is not None:
            with reading(self.engine) as session:
                ports = filtered_ports(session)
            self.mirror.filtered_ports_written(ports)

    def register_chassis(
        self,
        hostname: str,
        *,
        serial: str,
        pf_macs: Sequence[str],
        vfs: int,
        physnets: Sequence[str] = (),
    ) -> Chassis:
        """A DPU registers (or re-registers) its chassis with its card's serial."""
        return self._registry().register(
            hostname, serial=serial, pf_macs=pf_macs, vfs=vfs, physnets=physnets
        )

    def list_chassis(self) -> list[Chassis]:
        """Every registered chassis."""
        return [] if self.chassis is None else self.chassis.all()

    def get_chassis(self, hostname: str) -> Chassis:
        """One chassis; ChassisNotFound when none has that hostname."""
        return self._view().get(hostname)

    def set_chassis_up(self, hostname: str, *, up: bool) -> Chassis:
        """Stop a chassis' heartbeat (up false) or beat once (up true)."""
        return self._registry().set_up(hostname, up=up)

    def chassis_alive(self, chassis: Chassis) -> bool:
        """True while the chassis is up and its heartbeat recent."""
        return self._view().alive(chassis)

    def chassis_plugs(self, hostname: str) -> list[RepresentorPlug]:
        """The representors plugged on a chassis."""
        return [] if self.plugs is None else self.plugs.all(chassis=hostname)

    def report_sriov_host(self, host: str, physnets: Sequence[str]) -> None:
        """A host's SR-IOV NIC agent reports the physnets its VFs reach."""
        if self.sriov_hosts is None:
            raise NetworkRequestInvalid("this network service binds no SR-IOV NIC ports")
        self.sriov_hosts.report(host, physnets)

    def _view(self) -> ChassisView:
        if self.chassis is None:
            raise NetworkRequestInvalid("this network service keeps no chassis registry")
        return self.chassis

    def _registry(self) -> ChassisRegistry:
        if not isinstance(self.chassis, ChassisRegistry):
            raise NetworkRequestInvalid(
                "this network service's chassis are OVN's: each registers itself in the "
                "Southbound database (ovn-controller), not through this API"
            )
        return self.chassis

    def port_up(self, port_id: str) -> None:
        """The backend has the port plugged: a bound, enabled port goes ACTIVE."""
        self._set_status(port_id, PortStatus.ACTIVE)

    def port_down(self, port_id: str) -> None:
        """The backend lost the port: it goes DOWN."""
        self._set_status(port_id, PortStatus.DOWN)

    def device_up(self, host: str, port_id: str) -> None:
        """A host's SR-IOV NIC agent says the VF of a port bound to it is up."""
        with reading(self.engine) as session:
            row = _port_row(session, ADMIN, port_id)
            if row.host_id != host or row.vif_type != VifType.HW_VEB.value:
                raise NetworkRequestConflict(
                    f"Port {port_id} is not bound to host {host} by the SR-IOV NIC agent "
                    f"(binding:host_id {row.host_id!r}, binding:vif_type {row.vif_type})"
                )
        self.port_up(port_id)

    # -- binding --------------------------------------------------------------------------

    def _driver_for(self, vnic_type: str) -> BindingDriver | None:
        return next((d for d in self.drivers if vnic_type in d.vnic_types), None)

    def _apply(self, session: Session, row: PortRow, changes: PortChanges) -> _Followup:
        """Write `changes` on `row`; rebind when the binding changed. Runs inside the write."""
        previous = _Previous.of(row)
        old_host, old_profile, old_vnic = row.host_id, dict(row.profile), row.vnic_type
        if not isinstance(changes.name, Unset):
            row.name = changes.name
        if not isinstance(changes.admin_state_up, Unset):
            row.admin_state_up = changes.admin_state_up
        if not isinstance(changes.device_id, Unset):
            row.device_id = changes.device_id
        if not isinstance(changes.device_owner, Unset):
            row.device_owner = changes.device_owner
        vnic = old_vnic if isinstance(changes.vnic_type, Unset) else changes.vnic_type.value
        profile = old_profile if isinstance(changes.profile, Unset) else changes.profile
        host = old_host if isinstance(changes.host_id, Unset) else changes.host_id
        if not isinstance(changes.profile, Unset) or vnic != old_vnic:
            validate_binding_profile(profile, vnic)
        if vnic != old_vnic and old_host and host:
            raise NetworkRequestConflict(
                f"Port {row.id} is bound to {old_host}: unbind it before changing binding:vnic_type"
            )
        row.vnic_type, row.profile = vnic, profile
        # As ML2, a failed binding is tried again whenever a request names the host.
        retry = row.vif_type == VifType.BINDING_FAILED.value and not isinstance(
            changes.host_id, Unset
        )
        if (host, profile, vnic) == (old_host, old_profile, old_vnic) and not retry:
            return _Followup()
        row.host_id = host
        return self._rebind(session, row, previous)

    def _rebind(
        self,
        session: Session,
        row: PortRow,
        previous: _Previous,
        *,
        decided: BindOutcome | None = None,
    ) -> _Followup:
        """Bind `row` as it now reads (host, profile, vnic type) in place of `previous`.

        Runs inside the write; `decided` is a binding its driver decided before (an
        inactive binding being activated), else the driver decides now.
        """
        unbind = self._driver_for(previous.vnic_type) if previous.host else None
        events: list[ServerEvent] = []
        if previous.active and previous.device_id:
            events.append(ServerEvent(VIF_UNPLUGGED, previous.device_id, row.id))
        row.status = PortStatus.DOWN.value
        if not row.host_id:
            row.vif_type, row.vif_details, row.lsp_options = VifType.UNBOUND.value, {}, {}
            row.binding_failure = ""
            return _Followup(row.id, unbind=unbind, events=tuple(events))
        # A binding to a host replaces an inactive one there: one binding per host.
        drop_inactive(session, row.id, row.host_id)
        port = _record_of(row, ()).port
        driver = self._driver_for(row.vnic_type)
        if decided is None or driver is None:
            driver, outcome = self._decide(session, port)
        else:
            outcome = decided
        if not outcome.bound:
            LOG.warning("binding port %s to %s failed: %s", row.id, row.host_id, outcome.failure)
        row.vif_type = outcome.vif_type.value
        row.vif_details = dict(outcome.vif_details)
        row.lsp_options = dict(outcome.lsp_options)
        row.binding_failure = outcome.failure
        bind = (driver, port, outcome) if driver is not None and outcome.bound else None
        return _Followup(row.id, unbind=unbind, bind=bind, events=tuple(events))

    def _decide(self, session: Session, port: Port) -> tuple[BindingDriver | None, BindOutcome]:
        """The driver for the port's vnic type and the binding it decides; changes nothing."""
        vnic = port.vnic_type.value
        driver = self._driver_for(vnic)
        if driver is None:
            return None, BindOutcome.failed(
                f"no binding driver binds binding:vnic_type {vnic} ports"
            )
        network, segments = self._network_in(session, port.network_id)
        return driver, driver.bind(BindRequest(port, network, segments))

    def _network_in(self, session: Session, network_id: str) -> tuple[Network, tuple[Segment, ...]]:
        record = _network_record(_network_row(session, ADMIN, network_id), ())
        return record.network, segments_of(record.network, segmentation_id=record.segmentation_id)

    def _follow(self, followup: _Followup, port_id: str) -> None:
        """After the commit: post events, unplug, write the backend's copy, have it plugged."""
        if followup.events:
            self._notify(followup.events)
        if followup.unbind is not None:
            followup.unbind.unbound(followup.port_id)
        if self.mirror is not None:
            self._mirrored(f"port {port_id}", self._mirror_port, port_id)
        if followup.bind is not None:
            driver, port, outcome = followup.bind
            driver.bound(port, outcome, self)

    def _mirror_network(self, record: NetworkRecord) -> None:
        assert self.mirror is not None
        self.mirror.network_written(record)

    def _port_lock(self, port_id: str) -> threading.Lock:
        return self._port_locks[hash(port_id) % PORT_LOCK_STRIPES]

    def _mirror_port(self, port_id: str) -> None:
        assert self.mirror is not None
        with self._port_lock(port_id):
            self._mirror_port_locked(port_id)

    def _mirror_port_locked(self, port_id: str) -> None:
        assert self.mirror is not None
        with reading(self.engine) as session:
            row = session.get(PortRow, port_id)
            if row is None:
                return  # deleted meanwhile: the delete tells the mirror
            record = _port_record(session, row)
            network = _network_record(_network_row(session, ADMIN, row.network_id), ())
            subnet_ids = {fixed.subnet_id for fixed in record.port.fixed_ips}
            subnets = tuple(
                _subnet_record(subnet)
                for subnet in session.scalars(select(SubnetRow).where(SubnetRow.id.in_(subnet_ids)))
            )
            groups = tuple(group_records(session, record.port.security_groups))
        self.mirror.port_written(PortWrite(record, network, subnets, groups))

    def _group_changed(self, group_id: str) -> None:
        self._mirrored(f"security group {group_id}", self._mirror_group, group_id)

    def _group_deleted(self, group_id: str) -> None:
        if self.mirror is not None:
            self._mirrored(
                f"security group {group_id}", self.mirror.security_group_deleted, group_id
            )

    def _mirror_group(self, group_id: str, *, with_members: bool = False) -> None:
        assert self.mirror is not None
        with reading(self.engine) as session:
            found = group_records(session, [group_id])
            if not found:
                return  # deleted meanwhile: the delete tells the mirror
            members = group_members(session, group_id) if with_members else None
        self.mirror.security_group_written(SecurityGroupWrite(found[0], members))

    def _mirrored(self, what: str, write: Callable[[_T], None], arg: _T) -> None:
        """Run a mirror write; the database stays the truth when the backend is unreachable."""
        if self.mirror is None:
            return
        try:
            write(arg)
        except OffpathError as exc:
            LOG.error(
                "%s is stored but not written to the network backend: [%s] %s; "
                "`offpath network audit --fix` (or the next periodic repair) writes it",
                what,
                exc.code,
                exc.message,
            )

    def _set_status(self, port_id: str, status: PortStatus) -> None:
        """Change a port's status once: several workers may report the same change."""
        if not storable(port_id):
            return
        # Most reports change nothing (a new row is down already): skip the write for them.
        with reading(self.engine) as session:
            current = session.scalar(select(PortRow.status).where(PortRow.id == port_id))
        if current is None or current == status.value:
            return

        def work(session: Session) -> tuple[bool, ServerEvent | None]:
            query = (
                update(PortRow)
                .where(PortRow.id == port_id, PortRow.status != status.value)
                .values(status=status.value)
            )
            if status is PortStatus.ACTIVE:
                query = query.where(
                    PortRow.host_id != "",
                    PortRow.vif_type.not_in((VifType.UNBOUND.value, VifType.BINDING_FAILED.value)),
                    PortRow.admin_state_up.is_(True),
                )
            # A conditional UPDATE, not read-then-write: only one writer sees the change.
            if getattr(session.execute(query), "rowcount", 0) != 1:
                return False, None
            device = session.scalar(select(PortRow.device_id).where(PortRow.id == port_id))
            if not device:
                return True, None
            name = VIF_PLUGGED if status is PortStatus.ACTIVE else VIF_UNPLUGGED
            return True, ServerEvent(name, device, port_id)

        changed, event = write_retrying(self.engine, work, retry_on=IntegrityError)
        if event is not None:
            self._notify((event,))
        if changed and self.mirror is not None:
            self._mirrored(f"port {port_id}", self._mirror_port, port_id)

    def _notify(self, events: Sequence[ServerEvent]) -> None:
        if self.events is not None:
            self.events.notify(events)


# -- rows to records --------------------------------------------------------------------


def _network_row(
    session: Session, caller: Caller, network_id: str, *, owned: bool = False
) -> NetworkRow:
    row = session.get(NetworkRow, network_id) if storable(network_id) else None
    if row is None or not caller.sees(row.project_id, shared=row.shared and not owned):
        raise NetworkNotFound(network_id)
    return row


def _subnet_row(session: Session, caller: Caller, subnet_id: str) -> SubnetRow:
    return visible_row(session, caller, SubnetRow, subnet_id, SubnetNotFound)


def _port_row(session: Session, caller: Caller, port_id: str) -> PortRow:
    return visible_row(session, caller, PortRow, port_id, PortNotFound)


def _segments(row: NetworkRow) -> tuple[Segment, ...]:
    found: list[Segment] = []
    for item in row.segments:
        if isinstance(item, dict):
            physnet, kind, seg_id = (
                item.get("physical_network"),
                item.get("network_type"),
                item.get("segmentation_id"),
            )
            found.append(
                Segment(
                    physnet if isinstance(physnet, str) else None,
                    kind if isinstance(kind, str) else None,
                    seg_id if isinstance(seg_id, int) else None,
                )
            )
    return tuple(found)


def _network_record(row: NetworkRow, subnet_ids: Sequence[str]) -> NetworkRecord:
    network = Network(
        id=row.id,
        physical_network=row.physical_network,
        network_type=row.network_type,
        segments=_segments(row),
        name=row.name,
        mtu=row.mtu,
    )
    return NetworkRecord(
        network=network,
        project_id=row.project_id,
        status=row.status,
        admin_state_up=row.admin_state_up,
        shared=row.shared,
        segmentation_id=row.segmentation_id,
        subnet_ids=tuple(subnet_ids),
    )


def _subnet_ids(session: Session, network_ids: Sequence[str]) -> dict[str, tuple[str, ...]]:
    found: dict[str, list[str]] = {}
    if network_ids:
        query = (
            select(SubnetRow.network_id, SubnetRow.id)
            .where(SubnetRow.network_id.in_(network_ids))
            .order_by(SubnetRow.created_at)
        )
        for network_id, subnet_id in session.execute(query):
            found.setdefault(network_id, []).append(subnet_id)
    return {key: tuple(value) for key, value in found.items()}


def _subnet_record(row: SubnetRow) -> SubnetRecord:
    return SubnetRecord(
        row.id, row.network_id, row.project_id, row.name, row.cidr, row.ip_version, row.gateway_ip
    )


def _fixed_ips(session: Session, port_ids: Sequence[str]) -> dict[str, tuple[FixedIp, ...]]:
    found: dict[str, list[FixedIp]] = {}
    if port_ids:
        query = (
            select(IpAllocationRow)
            .where(IpAllocationRow.port_id.in_(port_ids))
            .order_by(IpAllocationRow.id)
        )
        for row in session.scalars(query):
            found.setdefault(row.port_id, []).append(FixedIp(row.subnet_id, row.ip_address))
    return {key: tuple(value) for key, value in found.items()}


def _record_of(
    row: PortRow, fixed_ips: tuple[FixedIp, ...], groups: tuple[str, ...] = ()
) -> PortRecord:
    port = Port(
        id=row.id,
        network_id=row.network_id,
        vnic_type=VnicType.parse(row.vnic_type),
        binding_profile=dict(row.profile),
        device_id=row.device_id,
        binding_host_id=row.host_id or None,
        device_owner=row.device_owner,
        status=row.status,
        vif_type=row.vif_type,
        vif_details=dict(row.vif_details),
        mac_address=row.mac_address,
        fixed_ips=fixed_ips,
        project_id=row.project_id,
        security_groups=groups,
    )
    return PortRecord(
        port=port,
        name=row.name,
        admin_state_up=row.admin_state_up,
        lsp_options=dict(row.lsp_options),
        binding_failure=row.binding_failure,
    )


def _port_record(session: Session, row: PortRow) -> PortRecord:
    return _record_of(
        row,
        _fixed_ips(session, [row.id]).get(row.id, ()),
        port_groups(session, [row.id]).get(row.id, ()),
    )


# -- addresses ---------------------------------------------------------------------------


def _check_mac_free(session: Session, network_id: str, mac: str) -> None:
    taken = session.scalar(
        select(func.count())
        .select_from(PortRow)
        .where(PortRow.network_id == network_id, PortRow.mac_address == mac)
    )
    if taken:
        raise MacAddressInUse(network_id, mac)


def _random_mac(session: Session, network_id: str) -> str:
    for _ in range(16):
        mac = f"{MAC_PREFIX}:" + ":".join(f"{b:02x}" for b in secrets.token_bytes(3))
        taken = session.scalar(
            select(func.count())
            .select_from(PortRow)
            .where(PortRow.network_id == network_id, PortRow.mac_address == mac)
        )
        if not taken:
            return mac
    raise NetworkRequestConflict(f"no free MAC address found for network {network_id}")


def _allocate_ips(
    session: Session,
    port: PortRow,
    network: NetworkRow,
    requested: Sequence[FixedIpRequest],
    *,
    default: bool,
) -> None:
    """Give `port` its fixed IPs: one per IPv4/IPv6 subnet by default, else those requested."""
    subnets = list(
        session.scalars(
            select(SubnetRow)
            .where(SubnetRow.network_id == network.id)
            .order_by(SubnetRow.created_at)
        )
    )
    by_id = {subnet.id: subnet for subnet in subnets}
    wanted: list[tuple[SubnetRow, str | None]] = []
    if default:
        wanted = [(subnet, None) for subnet in subnets]
    for item in requested:
        subnet = (
            by_id.get(item.subnet_id or "")
            if item.subnet_id
            else _subnet_holding(subnets, item.ip_address)
        )
        if subnet is None:
            raise NetworkRequestInvalid(
                f"Invalid input for operation: no subnet of network {network.id} matches "
                f"fixed IP {item.subnet_id or item.ip_address}."
            )
        wanted.append((subnet, item.ip_address))
    for subnet, asked in wanted:
        address = asked
        taken = set(
            session.scalars(
                select(IpAllocationRow.ip_address).where(IpAllocationRow.subnet_id == subnet.id)
            )
        )
        if address is not None:
            if address in taken:
                raise IpAddressInUse(network.id, address)
            if ipaddress.ip_address(address) not in ipaddress.ip_network(subnet.cidr):
                raise NetworkRequestInvalid(
                    f"Invalid input for operation: IP address {address} is not a valid IP "
                    f"for the specified subnet."
                )
        else:
            address = _first_free(subnet, taken)
            if address is None:
                raise IpAddressGenerationFailure(network.id)
        session.add(IpAllocationRow(port_id=port.id, subnet_id=subnet.id, ip_address=address))


def _subnet_holding(subnets: Sequence[SubnetRow], address: str | None) -> SubnetRow | None:
    if address is None:
        return None
    ip = ipaddress.ip_address(address)
    return next((s for s in subnets if ip in ipaddress.ip_network(s.cidr)), None)


def _first_free(subnet: SubnetRow, taken: set[str]) -> str | None:
    network = ipaddress.ip_network(subnet.cidr)
    for host in _hosts(network):
        text = str(host)
        if text not in taken and text != subnet.gateway_ip:
            return text
    return None


def _hosts(network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> Iterator[object]:
    # The first few thousand addresses are plenty to find a free one; a /8
    # is never walked whole.
    for count, host in enumerate(network.hosts()):
        if count > 65536:
            return
        yield host

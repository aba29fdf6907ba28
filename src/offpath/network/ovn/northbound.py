"""Writes networks and ports to OVN's Northbound database, as ML2/OVN's post-commit hooks do.

Each write sets a row whole from `logical_ports` (the options map
included, so an option no longer computed disappears; a switch's localnet
ports too), in one transaction. `external_ids` keys outside `neutron:`
(an operator's) are kept. A port write also sets the port's membership
of its groups' Port_Groups and of `neutron_pg_drop` (making a group it
lacks whole, with its ACLs); a group write sets the group's ACLs whole,
its members only when a repair gives them.

Where offpath differs from ML2/OVN: when a remote-managed port's plug
request is withdrawn (unbind), ovn-controller keeps the representor
plugged and the binding claimed (ovn-org/ovn#312), so a later bind of the
same port to the same DPU would never see the port come up again. offpath
deletes the port's row, waits for northd to drop its Southbound binding
(which makes ovn-controller unplug), and creates the row again without
the request.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any, Final

from ovs.db.data import Atom
from ovsdbapp.backend.ovs_idl import command, idlutils

from offpath.network.mirror import PortWrite, SecurityGroupWrite
from offpath.network.ovn.acls import (
    DROP_GROUP,
    GROUP_ID,
    AclSpec,
    PortGroupSpec,
    acl_key,
    drop_group_spec,
    group_spec,
    is_filtered,
    port_group_name,
)
from offpath.network.ovn.connection import OvnDatabase
from offpath.network.ovn.logical_ports import (
    LOCALNET,
    NEUTRON_KEY_PREFIX,
    PortSpec,
    SwitchSpec,
    port_spec,
    switch_name,
    switch_spec,
)
from offpath.network.records import NetworkRecord
from offpath.network.remote_managed_binding import VIF_PLUG_TYPE

LOG = logging.getLogger(__name__)

SWITCH: Final = "Logical_Switch"
PORT: Final = "Logical_Switch_Port"
PORT_GROUP: Final = "Port_Group"
ACL: Final = "ACL"
# How long an unbind waits for northd to drop the port's Southbound binding.
UNPLUG_TIMEOUT: Final = 5.0
POLL: Final = 0.01


def _find(api: Any, table: str, name: str) -> Any | None:
    try:
        return api.lookup(table, name)
    except idlutils.RowNotFound:
        return None


def _lists(switch: Any, port: Any) -> bool:
    """True when `switch` (or a Port_Group: the column is `ports` too) has `port` among its ports.

    Reading `switch.ports` makes and sorts a Row per port, milliseconds at a
    thousand ports on every port write; the committed column answers in one
    lookup, unless this transaction changed it.
    """
    committed = switch._data
    touched = "ports" in switch._changes or any(
        "ports" in columns for columns in switch._mutations.values()
    )
    if committed is None or touched or "ports" not in committed:
        return port in switch.ports
    ports = committed["ports"]
    return Atom(ports.type.key.type, port.uuid) in ports


def _merged_ids(current: Mapping[str, str], wanted: Mapping[str, str]) -> dict[str, str]:
    kept = {k: v for k, v in current.items() if not k.startswith(NEUTRON_KEY_PREFIX)}
    return {**kept, **wanted}


class _SetSwitch(command.BaseCommand):  # type: ignore[misc]
    """Create or update a switch and its localnet ports."""

    def __init__(self, api: Any, spec: SwitchSpec) -> None:
        super().__init__(api)
        self.spec = spec

    def run_idl(self, txn: Any) -> None:
        switch = _find(self.api, SWITCH, self.spec.name)
        if switch is None:
            switch = txn.insert(self.api.tables[SWITCH])
            switch.name = self.spec.name
            switch.external_ids = dict(self.spec.external_ids)
        else:
            switch.external_ids = _merged_ids(switch.external_ids, self.spec.external_ids)
            # The switch is written whole: a localnet port of no segment of the network goes.
            wanted = {localnet.name for localnet in self.spec.localnets}
            for port in list(switch.ports):
                if port.type == LOCALNET and port.name not in wanted:
                    switch.delvalue("ports", port)
                    port.delete()
        for localnet in self.spec.localnets:
            _set_port(self.api, txn, localnet, switch)


def _set_port(api: Any, txn: Any, spec: PortSpec, switch: Any) -> Any:
    row = _find(api, PORT, spec.name)
    if row is None:
        row = txn.insert(api.tables[PORT])
        row.name = spec.name
        switch.addvalue("ports", row)
        row.external_ids = dict(spec.external_ids)
    else:
        if not _lists(switch, row):
            for other in api.tables[SWITCH].rows.values():
                if _lists(other, row):
                    other.delvalue("ports", row)
            switch.addvalue("ports", row)
        row.external_ids = _merged_ids(row.external_ids, spec.external_ids)
    row.type = spec.type
    row.addresses = list(spec.addresses)
    row.port_security = list(spec.port_security)
    row.enabled = [spec.enabled]
    row.options = dict(spec.options)
    row.tag_request = [] if spec.tag is None else [spec.tag]
    if spec.tag is not None:
        row.tag = [spec.tag]
    return row


class _SetPort(command.BaseCommand):  # type: ignore[misc]
    """Create or update a port on its switch (created, empty, if missing)."""

    def __init__(
        self,
        api: Any,
        spec: PortSpec,
        switch_ids: Mapping[str, str],
        groups: tuple[PortGroupSpec, ...] = (),
    ) -> None:
        super().__init__(api)
        self.spec = spec
        self.switch_ids = switch_ids
        self.groups = groups

    def run_idl(self, txn: Any) -> None:
        switch = _find(self.api, SWITCH, self.spec.switch)
        if switch is None:
            switch = txn.insert(self.api.tables[SWITCH])
            switch.name = self.spec.switch
            switch.external_ids = dict(self.switch_ids)
        port = _set_port(self.api, txn, self.spec, switch)
        _set_membership(self.api, txn, port, self.groups)


class _DeleteRow(command.BaseCommand):  # type: ignore[misc]
    """Delete a switch (with its ports) or a port, if it exists."""

    def __init__(self, api: Any, table: str, name: str) -> None:
        super().__init__(api)
        self.table = table
        self.name = name

    def run_idl(self, txn: Any) -> None:
        row = _find(self.api, self.table, self.name)
        if row is None:
            return
        if self.table == SWITCH:
            for port in row.ports:
                port.delete()
        else:
            for switch in self.api.tables[SWITCH].rows.values():
                if _lists(switch, row):
                    switch.delvalue("ports", row)
        row.delete()


def _is_ours(group: Any) -> bool:
    return group.name == DROP_GROUP or GROUP_ID in group.external_ids


def _set_acls(
    api: Any, txn: Any, group: Any, acls: tuple[AclSpec, ...], *, new: bool = False
) -> None:
    """Make the group's ACLs exactly `acls`; those already right are left untouched."""
    wanted = {acl.key: acl for acl in acls}
    for row in [] if new else list(group.acls):  # a row made in this transaction has none
        key = acl_key(row.direction, row.priority, row.match, row.action, row.external_ids)
        if wanted.pop(key, None) is None:  # unwanted, or a second copy of a wanted one
            group.delvalue("acls", row)
    for acl in wanted.values():
        row = txn.insert(api.tables[ACL])
        row.direction = acl.direction
        row.priority = acl.priority
        row.match = acl.match
        row.action = acl.action
        row.external_ids = dict(acl.external_ids)
        group.addvalue("acls", row)


def _ensure_group(api: Any, txn: Any, spec: PortGroupSpec) -> tuple[Any, bool]:
    """The spec's Port_Group, and whether it was missing (then made with its ACLs, no members)."""
    group = _find(api, PORT_GROUP, spec.name)
    if group is not None:
        return group, False
    group = txn.insert(api.tables[PORT_GROUP])
    group.name = spec.name
    group.external_ids = dict(spec.external_ids)
    _set_acls(api, txn, group, spec.acls, new=True)
    return group, True


def _set_membership(api: Any, txn: Any, port: Any, groups: tuple[PortGroupSpec, ...]) -> None:
    """Put `port` in exactly `groups` among the Port_Groups offpath writes."""
    wanted = {spec.name for spec in groups}
    for group in list(api.tables[PORT_GROUP].rows.values()):
        if group.name not in wanted and _is_ours(group) and _lists(group, port):
            group.delvalue("ports", port)
    for spec in groups:
        group, new = _ensure_group(api, txn, spec)
        if spec.name == DROP_GROUP and not new:
            _set_acls(api, txn, group, spec.acls)  # fixed and few: kept right on every write
        if new or not _lists(group, port):
            group.addvalue("ports", port)


class _SetPortGroup(command.BaseCommand):  # type: ignore[misc]
    """Create or update a Port_Group and its ACLs; its members too when `members`."""

    def __init__(self, api: Any, spec: PortGroupSpec, *, members: bool) -> None:
        super().__init__(api)
        self.spec = spec
        self.members = members

    def run_idl(self, txn: Any) -> None:
        group, new = _ensure_group(self.api, txn, self.spec)
        if not new:
            group.external_ids = _merged_ids(group.external_ids, self.spec.external_ids)
            _set_acls(self.api, txn, group, self.spec.acls)
        if self.members:
            ports = [_find(self.api, PORT, name) for name in self.spec.ports]
            group.ports = [port for port in ports if port is not None]


class _DeletePortGroup(command.BaseCommand):  # type: ignore[misc]
    """Delete a Port_Group (its ACLs go with it), if it exists."""

    def __init__(self, api: Any, name: str) -> None:
        super().__init__(api)
        self.name = name

    def run_idl(self, txn: Any) -> None:
        group = _find(self.api, PORT_GROUP, self.name)
        if group is not None:
            group.delete()


def _groups_of(write: PortWrite) -> tuple[PortGroupSpec, ...]:
    """The Port_Groups the port belongs in: its groups' and, if they filter it, the drop group."""
    if not is_filtered(write.port.port):
        return ()
    records = {group.id: group for group in write.groups}
    specs = [
        group_spec(records[group_id])
        if group_id in records
        # Deleted meanwhile (a port's groups cannot be): the group's delete tells OVN.
        else PortGroupSpec(port_group_name(group_id), {GROUP_ID: group_id})
        for group_id in write.port.port.security_groups
    ]
    return (*specs, drop_group_spec())


class OvnNorthbound:
    """The network service's networks and ports, written to the Northbound database."""

    def __init__(self, nb: OvnDatabase, sb: OvnDatabase) -> None:
        self.nb = nb
        self.sb = sb

    def network_written(self, network: NetworkRecord) -> None:
        """Create or update the network's switch and localnet ports."""
        self.nb.execute([_SetSwitch(self.nb.api, switch_spec(network))])

    def network_deleted(self, network_id: str) -> None:
        """Delete the network's switch, with every port left on it."""
        self.nb.execute([_DeleteRow(self.nb.api, SWITCH, switch_name(network_id))])

    def port_written(self, write: PortWrite) -> None:
        """Write the port's row whole; unplug first when its plug request is withdrawn."""
        spec = port_spec(write)
        switch = switch_spec(write.network)
        if VIF_PLUG_TYPE not in spec.options:
            # Only a write without a plug request can withdraw one: a bind does not
            # wait for the IDL (busy with other writes) to read the row.
            current = self.nb.row(PORT, spec.name, ("options",))
            if current is not None and VIF_PLUG_TYPE in current.options:
                self._unplug(spec.name)
        self.nb.execute(
            [
                _SetSwitch(self.nb.api, switch),
                _SetPort(self.nb.api, spec, switch.external_ids, _groups_of(write)),
            ]
        )

    def port_deleted(self, port_id: str) -> None:
        """Delete the port's row (ovn-controller unplugs the representor)."""
        self.nb.execute([_DeleteRow(self.nb.api, PORT, port_id)])

    def _unplug(self, port_id: str) -> None:
        """Delete the port's row and wait, bounded, until its Southbound binding is gone."""
        self.nb.execute([_DeleteRow(self.nb.api, PORT, port_id)])
        deadline = time.monotonic() + UNPLUG_TIMEOUT
        while self.sb.row("Port_Binding", port_id, ("logical_port",)) is not None:
            if time.monotonic() > deadline:
                LOG.warning(
                    "the Southbound binding of port %s outlived its Northbound row by %.0f s "
                    "(is ovn-northd running?); its representor may stay plugged",
                    port_id,
                    UNPLUG_TIMEOUT,
                )
                return
            time.sleep(POLL)

    def security_group_written(self, write: SecurityGroupWrite) -> None:
        """Create or update the group's Port_Group with an ACL per rule; members if given."""
        spec = group_spec(write.group, write.ports or ())
        self.nb.execute([_SetPortGroup(self.nb.api, spec, members=write.ports is not None)])

    def security_group_deleted(self, group_id: str) -> None:
        """Delete the group's Port_Group and its ACLs."""
        self.nb.execute([_DeletePortGroup(self.nb.api, port_group_name(group_id))])

    def filtered_ports_written(self, port_ids: tuple[str, ...]) -> None:
        """Set `neutron_pg_drop` whole: these ports, and its two drop ACLs."""
        spec = drop_group_spec(port_ids)
        self.nb.execute([_SetPortGroup(self.nb.api, spec, members=True)])

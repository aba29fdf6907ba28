"""A typed copy of the OVN rows the drift audit compares: switches, ports, groups, bindings.

Taken from the Northbound `Logical_Switch` / `Logical_Switch_Port` /
`Port_Group` / `ACL` rows and the Southbound `Port_Binding` and `Chassis`
rows, each table read under the IDL's lock. References (a switch's ports,
a group's ports and ACLs, a binding's chassis) are resolved to names and
values while copying, so nothing here points back into the live IDL.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from offpath.network.ovn.acls import AclKey, acl_key
from offpath.network.ovn.connection import OvnDatabase, optional_value
from offpath.network.ovn.port_status import lsp_is_up
from offpath.network.ovn.southbound import OvnChassis
from offpath.network.records import Chassis


@dataclass(frozen=True, slots=True)
class SwitchRow:
    """A `Logical_Switch`: its name, external_ids and the names of its ports."""

    name: str
    external_ids: Mapping[str, str]
    ports: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class LspRow:
    """A `Logical_Switch_Port` and the switch that holds it (None: no switch does)."""

    name: str
    switch: str | None
    type: str = ""
    addresses: tuple[str, ...] = ()
    port_security: tuple[str, ...] = ()
    # OVN reads an unset `enabled` as true.
    enabled: bool = True
    options: Mapping[str, str] = field(default_factory=dict)
    external_ids: Mapping[str, str] = field(default_factory=dict)
    tag_request: int | None = None
    up: bool = False


@dataclass(frozen=True, slots=True)
class BindingRow:
    """A `Port_Binding`: the chassis it is requested on and the one that claimed it, by name."""

    port: str
    requested: str | None
    claimed: str | None
    up: bool = False


@dataclass(frozen=True, slots=True)
class AclRow:
    """An `ACL` of a Port_Group."""

    direction: str
    priority: int
    match: str
    action: str
    external_ids: Mapping[str, str] = field(default_factory=dict)

    @property
    def key(self) -> AclKey:
        """What makes the ACL what it is (as `AclSpec.key`)."""
        return acl_key(self.direction, self.priority, self.match, self.action, self.external_ids)


@dataclass(frozen=True, slots=True)
class PortGroupRow:
    """A `Port_Group`: its name, external_ids, member ports by name and ACLs."""

    name: str
    external_ids: Mapping[str, str] = field(default_factory=dict)
    ports: tuple[str, ...] = ()
    acls: tuple[AclRow, ...] = ()


@dataclass(frozen=True, slots=True)
class OvnSnapshot:
    """What OVN holds, by name: switches, their ports, port bindings and chassis."""

    switches: Mapping[str, SwitchRow] = field(default_factory=dict)
    ports: Mapping[str, LspRow] = field(default_factory=dict)
    bindings: Mapping[str, BindingRow] = field(default_factory=dict)
    chassis: Mapping[str, Chassis] = field(default_factory=dict)
    port_groups: Mapping[str, PortGroupRow] = field(default_factory=dict)


def _texts(value: Any) -> tuple[str, ...]:
    return tuple(sorted(str(item) for item in value))


def _strings(value: Any) -> dict[str, str]:
    return {str(key): str(item) for key, item in dict(value).items()}


def _northbound(nb: OvnDatabase) -> tuple[dict[str, SwitchRow], dict[str, LspRow]]:
    lsps = nb.rows("Logical_Switch_Port")
    names = {row.uuid: str(row.name) for row in lsps}
    switches: dict[str, SwitchRow] = {}
    switch_of: dict[str, str] = {}
    for row in nb.rows("Logical_Switch"):
        # A port created after the ports were read is not in `names`: the next audit sees it.
        ports = tuple(sorted(names[p.uuid] for p in row.ports if p.uuid in names))
        switches[str(row.name)] = SwitchRow(str(row.name), _strings(row.external_ids), ports)
        switch_of.update(dict.fromkeys(ports, str(row.name)))
    ports_by_name: dict[str, LspRow] = {}
    for row in lsps:
        name = str(row.name)
        enabled = optional_value(row.enabled)
        tag = optional_value(row.tag_request)
        ports_by_name[name] = LspRow(
            name=name,
            switch=switch_of.get(name),
            type=str(row.type),
            addresses=_texts(row.addresses),
            port_security=_texts(row.port_security),
            enabled=True if enabled is None else bool(enabled),
            options=_strings(row.options),
            external_ids=_strings(row.external_ids),
            tag_request=None if tag is None else int(tag),
            up=lsp_is_up(row),
        )
    return switches, ports_by_name


def _port_groups(nb: OvnDatabase) -> dict[str, PortGroupRow]:
    # ACLs first: one made after them is not found by its group, and seen by the next audit.
    acls = {
        row.uuid: AclRow(
            direction=str(row.direction),
            priority=int(row.priority),
            match=str(row.match),
            action=str(row.action),
            external_ids=_strings(row.external_ids),
        )
        for row in nb.rows("ACL", ("direction", "priority", "match", "action", "external_ids"))
    }
    names = {row.uuid: str(row.name) for row in nb.rows("Logical_Switch_Port", ("name",))}
    groups = {}
    for row in nb.rows("Port_Group"):
        groups[str(row.name)] = PortGroupRow(
            name=str(row.name),
            external_ids=_strings(row.external_ids),
            ports=tuple(sorted(names[p.uuid] for p in row.ports if p.uuid in names)),
            acls=tuple(acls[a.uuid] for a in row.acls if a.uuid in acls),
        )
    return groups


def _southbound(sb: OvnDatabase) -> dict[str, BindingRow]:
    chassis_names = {row.uuid: str(row.name) for row in sb.rows("Chassis")}

    def name_of(reference: Any) -> str | None:
        row = optional_value(reference)
        return None if row is None else chassis_names.get(row.uuid)

    return {
        str(row.logical_port): BindingRow(
            port=str(row.logical_port),
            requested=name_of(row.requested_chassis),
            claimed=name_of(row.chassis),
            up=list(row.up) == [True],
        )
        for row in sb.rows("Port_Binding")
    }


def take_snapshot(nb: OvnDatabase, sb: OvnDatabase, chassis: OvnChassis) -> OvnSnapshot:
    """Copy the rows the audit compares, Northbound first, then Southbound."""
    switches, ports = _northbound(nb)
    port_groups = _port_groups(nb)
    bindings = _southbound(sb)
    return OvnSnapshot(
        switches=switches,
        ports=ports,
        bindings=bindings,
        chassis={record.name: record for record in chassis.all()},
        port_groups=port_groups,
    )

"""What differs between the network service's database and OVN, and why it matters.

The database is the truth, as for Neutron's OVN maintenance task: every
network must be its `neutron-<id>` Logical_Switch and every port its
Logical_Switch_Port, each exactly as `logical_ports` says; a `neutron-`
switch or a port row with `neutron:` external_ids that the database does
not hold is stale. Every security group must be its `pg_<id>` Port_Group
with its members and an ACL per rule, and every port in a group in
`neutron_pg_drop`, as `acls` says; a Port_Group naming a group the
database does not hold is stale. For remote-managed ports the Southbound side is read
too: whether the requested DPU chassis claimed the binding, and whether
the port's status agrees with OVN's `up`. `compare` is pure: it reads a
database view and an OVN snapshot and returns drifts.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from offpath.jsonvalue import JsonValue
from offpath.network.mirror import PortWrite
from offpath.network.ovn.acls import (
    DROP_GROUP,
    GROUP_ID,
    RULE_ID,
    AclKey,
    PortGroupSpec,
    drop_group_spec,
    group_spec,
    is_filtered,
)
from offpath.network.ovn.logical_ports import (
    LOCALNET,
    LOCALNET_PREFIX,
    NEUTRON_KEY_PREFIX,
    PortSpec,
    SwitchSpec,
    is_bound,
    network_of_switch,
    port_spec,
    switch_spec,
)
from offpath.network.ovn.port_status import follows_lsp_up
from offpath.network.ovn.snapshot import AclRow, LspRow, OvnSnapshot, PortGroupRow, SwitchRow
from offpath.network.records import (
    Chassis,
    NetworkRecord,
    PortRecord,
    PortStatus,
    SecurityGroupRecord,
    VifType,
)
from offpath.network.remote_managed_binding import PF_MAC, REQUESTED_CHASSIS, VF_NUM


class DriftKind(StrEnum):
    """What kind of drift; the values are a stable contract (`offpath network audit --json`)."""

    SWITCH_MISSING = "switch-missing"
    SWITCH_STALE = "switch-stale"
    SWITCH_DIFFERS = "switch-differs"
    PORT_MISSING = "port-missing"
    PORT_STALE = "port-stale"
    PORT_DIFFERS = "port-differs"
    BINDING_FAILED = "binding-failed"
    BINDING_MISSING = "binding-missing"
    BINDING_UNCLAIMED = "binding-unclaimed"
    BINDING_WRONG_CHASSIS = "binding-wrong-chassis"
    STATUS_DIFFERS = "status-differs"
    PORT_GROUP_MISSING = "port-group-missing"
    PORT_GROUP_STALE = "port-group-stale"
    PORT_GROUP_DIFFERS = "port-group-differs"
    ACL_MISSING = "acl-missing"
    ACL_STALE = "acl-stale"
    ACL_DIFFERS = "acl-differs"


# What a repair can make right from the database alone; the rest needs a person or a DPU.
FIXABLE: Final = frozenset(
    {
        DriftKind.SWITCH_MISSING,
        DriftKind.SWITCH_STALE,
        DriftKind.SWITCH_DIFFERS,
        DriftKind.PORT_MISSING,
        DriftKind.PORT_STALE,
        DriftKind.PORT_DIFFERS,
        DriftKind.STATUS_DIFFERS,
        DriftKind.PORT_GROUP_MISSING,
        DriftKind.PORT_GROUP_STALE,
        DriftKind.PORT_GROUP_DIFFERS,
        DriftKind.ACL_MISSING,
        DriftKind.ACL_STALE,
        DriftKind.ACL_DIFFERS,
    }
)


@dataclass(frozen=True, slots=True)
class Drift:
    """One difference: its kind, the network, port or security group id, what and why."""

    kind: DriftKind
    resource: str
    message: str
    fixable: bool

    @property
    def key(self) -> tuple[DriftKind, str]:
        """What the drift is about, whatever its message says (to match it across audits)."""
        return self.kind, self.resource

    def to_json(self) -> dict[str, JsonValue]:
        """The drift as `offpath network audit --json` prints it."""
        return {
            "kind": self.kind.value,
            "resource": self.resource,
            "message": self.message,
            "fixable": self.fixable,
        }


def _drift(kind: DriftKind, resource: str, message: str) -> Drift:
    return Drift(kind, resource, message, kind in FIXABLE)


@dataclass(frozen=True, slots=True)
class DatabaseView:
    """The networks, ports and security groups of the API database (each port whole)."""

    networks: tuple[NetworkRecord, ...]
    ports: tuple[PortWrite, ...]
    groups: tuple[SecurityGroupRecord, ...] = ()


# -- one row against its spec -------------------------------------------------------------

# Why a difference in each column of a port row matters.
_CONSEQUENCES: Final = {
    "switch": "its traffic is switched on another network",
    "type": "OVN handles it as another kind of port (an external port is served by a "
    "gateway chassis, not a DPU)",
    "addresses": "OVN forwards and answers for addresses the port does not have",
    "port_security": "OVN filters the port's traffic against the wrong addresses",
    "enabled": "OVN's admin state is not the port's admin_state_up",
    "options": "the DPU plugs and claims what OVN asks for, not the binding the database holds",
    "external_ids": "Neutron's keys on the row are stale for whoever reads them",
    "tag": "its VLAN tag is not the segment's",
}


def _shown(value: str | None) -> str:
    return "absent" if value is None else repr(value)


def _map_changes(column: str, have: Mapping[str, str], want: Mapping[str, str]) -> str | None:
    changes = [
        f"{key} {_shown(have.get(key))} (should be {_shown(want.get(key))})"
        for key in sorted(set(have) | set(want))
        if have.get(key) != want.get(key)
    ]
    return f"{column}: {', '.join(changes)}" if changes else None


def _neutron_keys(ids: Mapping[str, str]) -> dict[str, str]:
    # Keys outside `neutron:` are an operator's: the writer keeps them, the audit ignores them.
    return {key: value for key, value in ids.items() if key.startswith(NEUTRON_KEY_PREFIX)}


def _row_changes(spec: PortSpec, row: LspRow) -> dict[str, str]:
    """Each column of `row` that is not what `spec` says, with how it differs."""
    changes: dict[str, str] = {}
    if row.switch != spec.switch:
        changes["switch"] = f"on switch {row.switch or '(none)'}, should be on {spec.switch}"
    if row.type != spec.type:
        changes["type"] = f"type {row.type!r} (should be {spec.type!r})"
    for column in ("addresses", "port_security"):
        have, want = getattr(row, column), tuple(sorted(getattr(spec, column)))
        if have != want:
            changes[column] = f"{column} {list(have)} (should be {list(want)})"
    if row.enabled != spec.enabled:
        changes["enabled"] = f"enabled {row.enabled} (should be {spec.enabled})"
    options = _map_changes("options", row.options, spec.options)
    if options is not None:
        changes["options"] = options
    ids = _map_changes("external_ids", _neutron_keys(row.external_ids), spec.external_ids)
    if ids is not None:
        changes["external_ids"] = ids
    if row.tag_request != spec.tag:
        changes["tag"] = f"tag_request {row.tag_request} (should be {spec.tag})"
    return changes


def _why(changes: Mapping[str, str]) -> str:
    return "; ".join(_CONSEQUENCES[column] for column in changes)


# -- networks -----------------------------------------------------------------------------


def _switch_changes(spec: SwitchSpec, row: SwitchRow, ports: Mapping[str, LspRow]) -> list[str]:
    found: list[str] = []
    ids = _map_changes("external_ids", _neutron_keys(row.external_ids), spec.external_ids)
    if ids is not None:
        found.append(f"{ids} (the MTU and name OVN records for the network are stale)")
    for localnet in spec.localnets:
        physnet = localnet.options.get("network_name", "?")
        lsp = ports.get(localnet.name)
        if lsp is None or lsp.switch != spec.name:
            found.append(
                f"localnet port {localnet.name} of physnet {physnet} is missing "
                "(the network's traffic cannot leave the switch for the physnet)"
            )
            continue
        changes = _row_changes(localnet, lsp)
        if changes:
            found.append(
                f"localnet port {localnet.name}: {'; '.join(changes.values())} "
                f"(traffic to physnet {physnet} goes astray)"
            )
    wanted = {localnet.name for localnet in spec.localnets}
    for name in row.ports:
        lsp = ports.get(name)
        if lsp is not None and lsp.type == LOCALNET and name not in wanted:
            found.append(
                f"localnet port {name} (physnet {lsp.options.get('network_name', '?')}) is no "
                "segment of the network (it bridges the switch to a physnet it should not reach)"
            )
    return found


def _network_drifts(database: DatabaseView, ovn: OvnSnapshot) -> Iterator[Drift]:
    wanted = set()
    for network in database.networks:
        spec = switch_spec(network)
        wanted.add(spec.name)
        row = ovn.switches.get(spec.name)
        network_id = network.network.id
        if row is None:
            yield _drift(
                DriftKind.SWITCH_MISSING,
                network_id,
                f"network {network_id} has no Logical_Switch {spec.name}: OVN switches none of "
                "its ports' traffic; a repair writes it from the database",
            )
            continue
        changes = _switch_changes(spec, row, ovn.ports)
        if changes:
            yield _drift(
                DriftKind.SWITCH_DIFFERS,
                network_id,
                f"Logical_Switch {spec.name} differs from network {network_id}: "
                f"{'; '.join(changes)}. A repair rewrites it from the database",
            )
    for name in sorted(ovn.switches):
        stale = network_of_switch(name)
        if stale is None or name in wanted:
            continue
        held = len(ovn.switches[name].ports)
        yield _drift(
            DriftKind.SWITCH_STALE,
            stale,
            f"Logical_Switch {name} has no network in the database (deleted behind offpath's "
            f"back, or a delete that never reached OVN): it and its {held} port(s) still hold "
            "OVN datapaths and flows; a repair deletes it",
        )


# -- ports --------------------------------------------------------------------------------


def _chassis_named(chassis: Mapping[str, Chassis], name: str) -> Chassis | None:
    """The chassis a `requested-chassis` value names: by OVN name or by hostname, as northd."""
    for record in chassis.values():
        if name in (record.name, record.hostname):
            return record
    return None


def _binding_drifts(record: PortRecord, ovn: OvnSnapshot) -> Iterator[Drift]:
    port = record.port
    requested = record.lsp_options.get(REQUESTED_CHASSIS)
    if not isinstance(requested, str) or not requested or not is_bound(port):
        return
    binding = ovn.bindings.get(port.id)
    if binding is None:
        yield _drift(
            DriftKind.BINDING_MISSING,
            port.id,
            f"port {port.id} has no Port_Binding in the Southbound database: ovn-northd has not "
            f"translated its Logical_Switch_Port, so DPU chassis {requested} cannot plug it "
            "(is ovn-northd running and connected to both databases?)",
        )
        return
    wanted = _chassis_named(ovn.chassis, requested)
    if binding.claimed is None:
        if wanted is None:
            why = (
                f"chassis {requested} is not in the Southbound database: no ovn-controller "
                "of that name runs (the DPU was removed, or its ovn-controller stopped cleanly)"
            )
        elif not wanted.up:
            why = (
                f"the ovn-controller of chassis {requested} does not answer (dead for longer "
                "than agent_down_time): nothing plugs the representor until it is back"
            )
        else:
            why = (
                f"the DPU has not plugged its representor (pf-mac "
                f"{record.lsp_options.get(PF_MAC, '?')}, vf-num "
                f"{record.lsp_options.get(VF_NUM, '?')}, e.g. no such VF on that card); "
                f"check the ovn-controller log on {requested} for "
                '"No representor port found"'
            )
        yield _drift(
            DriftKind.BINDING_UNCLAIMED,
            port.id,
            f"port {port.id}'s Port_Binding is requested on DPU chassis {requested} but not "
            f"claimed: {why}; the port stays DOWN and the guest's VF has no network",
        )
        return
    claimed = ovn.chassis.get(binding.claimed)
    if requested not in (binding.claimed, claimed.hostname if claimed else None):
        yield _drift(
            DriftKind.BINDING_WRONG_CHASSIS,
            port.id,
            f"port {port.id}'s Port_Binding is claimed by chassis {binding.claimed}, not by the "
            f"requested DPU chassis {requested}: the port's traffic goes to the wrong DPU; "
            f"find why {binding.claimed}'s ovn-controller claims it (an OVS interface with "
            f"external_ids:iface-id={port.id} there) and remove that interface",
        )


def _status_drift(record: PortRecord, row: LspRow) -> Drift | None:
    port = record.port
    active = port.status == PortStatus.ACTIVE.value
    if active and not row.up:
        return _drift(
            DriftKind.STATUS_DIFFERS,
            port.id,
            f"port {port.id} is ACTIVE but OVN has its Logical_Switch_Port down (no chassis "
            "claimed and brought up its binding): Nova is told the VF is plugged while no DPU "
            "forwards its traffic; a repair sets it DOWN",
        )
    if not active and row.up and is_bound(port) and record.admin_state_up:
        return _drift(
            DriftKind.STATUS_DIFFERS,
            port.id,
            f"port {port.id} is {port.status} but OVN has it up (its DPU claimed the binding): "
            "Nova was never told network-vif-plugged; a repair sets it ACTIVE",
        )
    return None


def _port_drifts(write: PortWrite, ovn: OvnSnapshot) -> Iterator[Drift]:
    record, port = write.port, write.port.port
    if port.vif_type == VifType.BINDING_FAILED.value:
        yield _drift(
            DriftKind.BINDING_FAILED,
            port.id,
            f"port {port.id}'s binding to host {port.binding_host_id} failed: "
            f"{record.binding_failure or '(no reason recorded)'}; Nova cannot use the port "
            "until a port update naming binding:host_id binds it again",
        )
    spec = port_spec(write)
    row = ovn.ports.get(spec.name)
    if row is None:
        yield _drift(
            DriftKind.PORT_MISSING,
            port.id,
            f"port {port.id} has no Logical_Switch_Port: OVN has no binding for it, so no "
            "chassis plugs or forwards it; a repair writes it from the database",
        )
        return
    changes = _row_changes(spec, row)
    if changes:
        yield _drift(
            DriftKind.PORT_DIFFERS,
            port.id,
            f"Logical_Switch_Port {port.id} differs from the database: "
            f"{'; '.join(changes.values())}. Why it matters: {_why(changes)}. "
            "A repair rewrites it from the database",
        )
    if follows_lsp_up(spec):
        status = _status_drift(record, row)
        if status is not None:
            yield status
        yield from _binding_drifts(record, ovn)


def _stale_port_drifts(known: set[str], ovn: OvnSnapshot) -> Iterator[Drift]:
    for name in sorted(ovn.ports):
        row = ovn.ports[name]
        # A localnet port belongs to its switch; a row without Neutron's keys is an operator's.
        if name in known or row.type == LOCALNET or name.startswith(LOCALNET_PREFIX):
            continue
        if not _neutron_keys(row.external_ids):
            continue
        binding = ovn.bindings.get(name)
        held = (
            f" and chassis {binding.claimed} keeps it plugged"
            if binding and binding.claimed
            else ""
        )
        yield _drift(
            DriftKind.PORT_STALE,
            name,
            f"Logical_Switch_Port {name} (on {row.switch or 'no switch'}) has no port in the "
            f"database{held}: OVN still forwards for its addresses; a repair deletes it",
        )


# -- security groups ----------------------------------------------------------------------


def _acl_text(acl: AclRow) -> str:
    return f"{acl.direction} {acl.priority} {acl.action} {acl.match!r}"


def _acl_drifts(resource: str, spec: PortGroupSpec, row: PortGroupRow) -> Iterator[Drift]:
    """The group's ACLs against its rules: missing, different (same rule), stale."""
    wanted = {acl.key for acl in spec.acls}
    by_rule = {acl.rule_id: acl for acl in spec.acls if acl.rule_id is not None}
    seen: set[AclKey] = set()
    rest: list[AclRow] = []
    for acl in row.acls:
        if acl.key in wanted and acl.key not in seen:
            seen.add(acl.key)
        else:
            rest.append(acl)
    stale: list[AclRow] = []
    differs: list[str] = []
    for acl in rest:
        rule_id = acl.external_ids.get(RULE_ID)
        expected = by_rule.get(rule_id) if rule_id is not None else None
        if expected is not None and expected.key not in seen:
            seen.add(expected.key)
            differs.append(
                f"rule {rule_id}: {_acl_text(acl)} (should be {expected.direction} "
                f"{expected.priority} {expected.action} {expected.match!r})"
            )
        else:
            stale.append(acl)
    missing = [acl for acl in spec.acls if acl.key not in seen]
    if missing:
        what = ", ".join(
            f"rule {acl.rule_id} ({acl.match!r})" if acl.rule_id else repr(acl.match)
            for acl in missing
        )
        yield _drift(
            DriftKind.ACL_MISSING,
            resource,
            f"Port_Group {spec.name} lacks the ACL of {what}: OVN does not allow (or, for the "
            "drop group, does not drop) that traffic; a repair writes the ACLs from the database",
        )
    if differs:
        yield _drift(
            DriftKind.ACL_DIFFERS,
            resource,
            f"Port_Group {spec.name} has ACLs that differ from their rules: {'; '.join(differs)}: "
            "OVN filters other traffic than the rules say; a repair rewrites them",
        )
    if stale:
        yield _drift(
            DriftKind.ACL_STALE,
            resource,
            f"Port_Group {spec.name} has {len(stale)} ACL(s) of no rule of the group "
            f"({'; '.join(_acl_text(acl) for acl in stale)}): OVN allows or drops traffic no "
            "rule asks for; a repair deletes them",
        )


def _group_drifts(resource: str, spec: PortGroupSpec, ovn: OvnSnapshot) -> Iterator[Drift]:
    row = ovn.port_groups.get(spec.name)
    if row is None:
        yield _drift(
            DriftKind.PORT_GROUP_MISSING,
            resource,
            f"there is no Port_Group {spec.name}: the ACLs of its {len(spec.acls)} rule(s) are "
            f"missing too, so {len(spec.ports)} port(s) lack what the group allows (or, for the "
            "drop group, what it drops); a repair writes it from the database",
        )
        return
    changes = []
    ids = _map_changes("external_ids", _neutron_keys(row.external_ids), spec.external_ids)
    if ids is not None:
        changes.append(ids)
    # A port with no row at all is a missing port: writing it puts it in its groups too.
    absent = sorted(name for name in set(spec.ports) - set(row.ports) if name in ovn.ports)
    extra = sorted(set(row.ports) - set(spec.ports))
    if absent:
        changes.append(f"port(s) {', '.join(absent)} are not in it (their traffic is not filtered)")
    if extra:
        changes.append(f"port(s) {', '.join(extra)} are in it but not in the group")
    if changes:
        yield _drift(
            DriftKind.PORT_GROUP_DIFFERS,
            resource,
            f"Port_Group {spec.name} differs from the database: {'; '.join(changes)}. "
            "A repair rewrites it from the database",
        )
    yield from _acl_drifts(resource, spec, row)


def _security_drifts(database: DatabaseView, ovn: OvnSnapshot) -> Iterator[Drift]:
    members: dict[str, list[str]] = {}
    filtered = []
    for write in database.ports:
        port = write.port.port
        if is_filtered(port):
            filtered.append(port.id)
        for group_id in port.security_groups:
            members.setdefault(group_id, []).append(port.id)
    known: set[str] = set()
    for group in database.groups:
        known.add(group.id)
        yield from _group_drifts(group.id, group_spec(group, members.get(group.id, ())), ovn)
    if filtered or DROP_GROUP in ovn.port_groups:
        yield from _group_drifts(DROP_GROUP, drop_group_spec(filtered), ovn)
    for name in sorted(ovn.port_groups):
        stale = ovn.port_groups[name].external_ids.get(GROUP_ID)
        if stale is None or stale in known:
            continue
        yield _drift(
            DriftKind.PORT_GROUP_STALE,
            stale,
            f"Port_Group {name} has no security group in the database (deleted behind "
            "offpath's back, or a delete that never reached OVN): its ACLs still filter "
            f"{len(ovn.port_groups[name].ports)} port(s); a repair deletes it",
        )


def compare(database: DatabaseView, ovn: OvnSnapshot) -> list[Drift]:
    """Every drift between the database (the truth) and OVN: networks, ports, then groups."""
    drifts = list(_network_drifts(database, ovn))
    for write in database.ports:
        drifts.extend(_port_drifts(write, ovn))
    drifts.extend(_stale_port_drifts({write.port.port.id for write in database.ports}, ovn))
    drifts.extend(_security_drifts(database, ovn))
    return drifts


def order_of_repair(drifts: Sequence[Drift]) -> list[Drift]:
    """Stale rows first, switches before their ports, groups after their ports, status last."""
    rank = {kind: index for index, kind in enumerate(_REPAIR_ORDER)}
    return sorted(drifts, key=lambda drift: rank.get(drift.kind, len(rank)))


_REPAIR_ORDER: Final = (
    DriftKind.PORT_GROUP_STALE,
    DriftKind.PORT_STALE,
    DriftKind.SWITCH_STALE,
    DriftKind.SWITCH_MISSING,
    DriftKind.SWITCH_DIFFERS,
    DriftKind.PORT_MISSING,
    DriftKind.PORT_DIFFERS,
    DriftKind.PORT_GROUP_MISSING,
    DriftKind.PORT_GROUP_DIFFERS,
    DriftKind.ACL_MISSING,
    DriftKind.ACL_DIFFERS,
    DriftKind.ACL_STALE,
    DriftKind.STATUS_DIFFERS,
)

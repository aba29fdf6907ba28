"""What ML2/OVN writes to the Northbound database for security groups: Port_Groups and ACLs.

A group is the `Port_Group` `pg_<id>` (dashes made underscores, as OVN
names allow no dash) holding its ports' Logical_Switch_Ports, with an
`ACL` per rule at priority 1002: `allow-related` (`allow-stateless` for a
stateless group), `to-lport` for ingress, `from-lport` for egress. Every
port in a group is also in `neutron_pg_drop`, whose two priority-1001
ACLs drop the IP traffic no rule allows. A remote group is matched with
the address set northd makes of its Port_Group (`$pg_<id>_ip4`). Pure
functions: the writer and the drift audit both use them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final

from offpath.network.ovn.logical_ports import NEUTRON_KEY_PREFIX
from offpath.network.records import SecurityGroupRecord, SecurityGroupRuleRecord
from offpath.ports.port import Port
from offpath.ports.security_group import (
    ICMP_PROTOCOLS,
    Direction,
    Ethertype,
    Rule,
)

PORT_GROUP_PREFIX: Final = "pg_"
DROP_GROUP: Final = "neutron_pg_drop"
GROUP_ID: Final = "neutron:security_group_id"
RULE_ID: Final = "neutron:security_group_rule_id"
ALLOW_PRIORITY: Final = 1002
DROP_PRIORITY: Final = 1001
ALLOW_RELATED: Final = "allow-related"
ALLOW_STATELESS: Final = "allow-stateless"
DROP: Final = "drop"
TO_LPORT: Final = "to-lport"
FROM_LPORT: Final = "from-lport"
# ML2/OVN names the transport protocols it matches by name; others by number.
TRANSPORT_PROTOCOLS: Final = {6: "tcp", 17: "udp", 132: "sctp"}
# A remote prefix of the whole address family restricts nothing: it adds no term.
_ANY: Final = frozenset({"0.0.0.0/0", "::/0"})

AclKey = tuple[str, int, str, str, tuple[tuple[str, str], ...]]


def acl_key(
    direction: str, priority: int, match: str, action: str, external_ids: Mapping[str, str]
) -> AclKey:
    """What makes an ACL what it is, hashable; keys outside `neutron:` (an operator's) aside."""
    ids = tuple(sorted((k, v) for k, v in external_ids.items() if k.startswith(NEUTRON_KEY_PREFIX)))
    return direction, priority, match, action, ids


@dataclass(frozen=True, slots=True)
class AclSpec:
    """An `ACL` as ML2/OVN writes it on a Port_Group."""

    direction: str
    priority: int
    match: str
    action: str
    external_ids: Mapping[str, str] = field(default_factory=dict)

    @property
    def key(self) -> AclKey:
        """Everything that makes the ACL what it is, hashable (to compare sets of ACLs)."""
        return acl_key(self.direction, self.priority, self.match, self.action, self.external_ids)

    @property
    def rule_id(self) -> str | None:
        """The security group rule the ACL enforces; None for the drop group's."""
        return self.external_ids.get(RULE_ID)


@dataclass(frozen=True, slots=True)
class PortGroupSpec:
    """A `Port_Group`: its name, external_ids, member ports (by LSP name) and ACLs."""

    name: str
    external_ids: Mapping[str, str]
    ports: tuple[str, ...] = ()
    acls: tuple[AclSpec, ...] = ()


def port_group_name(group_id: str) -> str:
    """The Port_Group of a security group: `pg_` + its id, dashes made underscores."""
    return f"{PORT_GROUP_PREFIX}{group_id}".replace("-", "_")


def address_set_name(group_id: str, ethertype: Ethertype) -> str:
    """The address set northd makes of a group's Port_Group, per IP version."""
    version = "ip4" if ethertype is Ethertype.IPV4 else "ip6"
    return f"{port_group_name(group_id)}_{version}"


def is_filtered(port: Port) -> bool:
    """True when the port's groups filter its traffic (it has at least one group)."""
    return bool(port.security_groups)


def acl_match(port_group: str, rule: Rule) -> str:
    """The OVN match of `rule` on the ports of `port_group`, term by term as ML2/OVN builds it."""
    ingress = rule.direction is Direction.INGRESS
    ip = "ip4" if rule.ethertype is Ethertype.IPV4 else "ip6"
    side = "src" if ingress else "dst"
    terms = [f"{'outport' if ingress else 'inport'} == @{port_group}", ip]
    cidr = rule.normalized_cidr
    if cidr is not None and cidr not in _ANY:
        terms.append(f"{ip}.{side} == {cidr}")
    if rule.remote_group_id is not None:
        terms.append(f"{ip}.{side} == ${address_set_name(rule.remote_group_id, rule.ethertype)}")
    terms.extend(_protocol_terms(rule, "icmp4" if ip == "ip4" else "icmp6"))
    return " && ".join(terms)


def _protocol_terms(rule: Rule, icmp: str) -> list[str]:
    number = rule.protocol_number
    if number is None:
        return []
    low, high = rule.port_range_min, rule.port_range_max
    name = TRANSPORT_PROTOCOLS.get(number)
    if name is not None:
        if low is not None and low == high:
            return [name, f"{name}.dst == {low}"]
        terms = [name]
        if low is not None:
            terms.append(f"{name}.dst >= {low}")
        if high is not None:
            terms.append(f"{name}.dst <= {high}")
        return terms
    if number in ICMP_PROTOCOLS:
        terms = [icmp]
        if low is not None:
            terms.append(f"{icmp}.type == {low}")
        if high is not None:
            terms.append(f"{icmp}.code == {high}")
        return terms
    # ML2/OVN matches DCCP and UDP-Lite by number too, without their ports.
    return [f"ip.proto == {number}"]


def rule_acl(group: SecurityGroupRecord, rule: SecurityGroupRuleRecord) -> AclSpec:
    """The ACL of one rule of `group`."""
    ingress = rule.rule.direction is Direction.INGRESS
    return AclSpec(
        direction=TO_LPORT if ingress else FROM_LPORT,
        priority=ALLOW_PRIORITY,
        match=acl_match(port_group_name(group.id), rule.rule),
        action=ALLOW_RELATED if group.stateful else ALLOW_STATELESS,
        external_ids={RULE_ID: rule.id},
    )


def group_spec(group: SecurityGroupRecord, ports: Iterable[str] = ()) -> PortGroupSpec:
    """The Port_Group of `group` with `ports` as members and an ACL per rule."""
    return PortGroupSpec(
        name=port_group_name(group.id),
        external_ids={GROUP_ID: group.id},
        ports=tuple(sorted(ports)),
        acls=tuple(rule_acl(group, rule) for rule in group.rules),
    )


def drop_group_spec(ports: Iterable[str] = ()) -> PortGroupSpec:
    """`neutron_pg_drop`: every filtered port, with the two ACLs that drop what no rule allows."""
    return PortGroupSpec(
        name=DROP_GROUP,
        external_ids={},
        ports=tuple(sorted(ports)),
        acls=(
            AclSpec(FROM_LPORT, DROP_PRIORITY, f"inport == @{DROP_GROUP} && ip", DROP),
            AclSpec(TO_LPORT, DROP_PRIORITY, f"outport == @{DROP_GROUP} && ip", DROP),
        ),
    )

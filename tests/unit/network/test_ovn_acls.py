"""The Port_Groups and ACLs of security groups, and their drift, with no OVN running."""

from __future__ import annotations

import ipaddress
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from offpath.errors import SecurityGroupRuleInvalid
from offpath.network.mirror import PortWrite
from offpath.network.ovn.acls import (
    DROP_GROUP,
    acl_match,
    address_set_name,
    drop_group_spec,
    group_spec,
    port_group_name,
)
from offpath.network.ovn.drift import DatabaseView, DriftKind, compare, order_of_repair
from offpath.network.ovn.snapshot import AclRow, OvnSnapshot, PortGroupRow
from offpath.network.records import (
    NetworkRecord,
    PortRecord,
    SecurityGroupRecord,
    SecurityGroupRuleRecord,
)
from offpath.ports.network import Network
from offpath.ports.port import Port
from offpath.ports.security_group import (
    PROTOCOL_NUMBERS,
    Direction,
    Ethertype,
    Rule,
    check_rule,
)
from offpath.ports.vnic import VnicType

GROUP = "0b6c3c3e-1a2b-4c5d-8e9f-0123456789ab"
OTHER = "9f8e7d6c-5b4a-4392-8170-fedcba987654"
PG = "pg_0b6c3c3e_1a2b_4c5d_8e9f_0123456789ab"


def test_names_have_no_dashes() -> None:
    assert port_group_name(GROUP) == PG
    assert address_set_name(OTHER, Ethertype.IPV4) == "pg_9f8e7d6c_5b4a_4392_8170_fedcba987654_ip4"
    assert address_set_name(OTHER, Ethertype.IPV6).endswith("_ip6")


IN, OUT = Direction.INGRESS, Direction.EGRESS
V4, V6 = Ethertype.IPV4, Ethertype.IPV6


@pytest.mark.parametrize(
    ("rule", "match"),
    [
        pytest.param(Rule(OUT, V4), f"inport == @{PG} && ip4", id="egress-any"),
        pytest.param(Rule(IN, V6), f"outport == @{PG} && ip6", id="ingress-v6"),
        pytest.param(
            Rule(IN, V4, "tcp", 22, 22, "10.1.2.3/8"),
            f"outport == @{PG} && ip4 && ip4.src == 10.0.0.0/8 && tcp && tcp.dst == 22",
            id="tcp-port-from-prefix",
        ),
        pytest.param(
            Rule(OUT, V4, "udp", 1000, 2000, "192.168.0.0/16"),
            f"inport == @{PG} && ip4 && ip4.dst == 192.168.0.0/16 && udp && udp.dst >= 1000 "
            "&& udp.dst <= 2000",
            id="udp-range-to-prefix",
        ),
        pytest.param(
            Rule(IN, V4, "6"), f"outport == @{PG} && ip4 && tcp", id="tcp-by-number-no-ports"
        ),
        pytest.param(
            Rule(IN, V6, "sctp", 5000, 5001),
            f"outport == @{PG} && ip6 && sctp && sctp.dst >= 5000 && sctp.dst <= 5001",
            id="sctp",
        ),
        pytest.param(
            Rule(IN, V4, "icmp", 8, 0),
            f"outport == @{PG} && ip4 && icmp4 && icmp4.type == 8 && icmp4.code == 0",
            id="icmp-type-code",
        ),
        pytest.param(
            Rule(IN, V4, "icmp", 3), f"outport == @{PG} && ip4 && icmp4 && icmp4.type == 3",
            id="icmp-type",
        ),
        pytest.param(
            Rule(IN, V6, "ipv6-icmp", 135),
            f"outport == @{PG} && ip6 && icmp6 && icmp6.type == 135",
            id="icmpv6",
        ),
        pytest.param(Rule(IN, V6, "icmp"), f"outport == @{PG} && ip6 && icmp6", id="icmp-on-v6"),
        pytest.param(Rule(IN, V4, "112"), f"outport == @{PG} && ip4 && ip.proto == 112", id="num"),
        pytest.param(
            Rule(IN, V4, "dccp", 10, 20), f"outport == @{PG} && ip4 && ip.proto == 33",
            id="dccp-by-number-without-ports",
        ),
        pytest.param(
            Rule(IN, V4, remote_ip_prefix="0.0.0.0/0"), f"outport == @{PG} && ip4", id="any-v4"
        ),
        pytest.param(
            Rule(OUT, V6, remote_ip_prefix="::/0"), f"inport == @{PG} && ip6", id="any-v6"
        ),
        pytest.param(
            Rule(IN, V4, remote_group_id=OTHER),
            f"outport == @{PG} && ip4 && ip4.src == ${address_set_name(OTHER, V4)}",
            id="remote-group-ingress",
        ),
        pytest.param(
            Rule(OUT, V6, "tcp", 443, 443, remote_group_id=OTHER),
            f"inport == @{PG} && ip6 && ip6.dst == ${address_set_name(OTHER, V6)} && tcp "
            "&& tcp.dst == 443",
            id="remote-group-egress",
        ),
    ],
)  # fmt: skip
def test_acl_match(rule: Rule, match: str) -> None:
    assert acl_match(PG, check_rule(rule)) == match


# The shape every produced match has: terms joined by " && ", each a known field alone
# or compared with a value; no parenthesis or brace to balance.
_FIELD = r"(ip4|ip6|tcp|udp|sctp|icmp4|icmp6)"
_TERM = re.compile(
    rf"^({_FIELD}"
    r"|(inport|outport) == @pg_[0-9a-f_]+"
    r"|ip4\.(src|dst) == (\d+\.\d+\.\d+\.\d+/\d+|\$pg_[0-9a-f_]+_ip4)"
    r"|ip6\.(src|dst) == ([0-9a-f:]+/\d+|\$pg_[0-9a-f_]+_ip6)"
    r"|(tcp|udp|sctp)\.dst (==|>=|<=) \d+"
    r"|icmp[46]\.(type|code) == \d+"
    r"|ip\.proto == \d+)$"
)


@st.composite
def rules(draw: st.DrawFn) -> Rule:
    ethertype = draw(st.sampled_from(list(Ethertype)))
    protocol = draw(
        st.none() | st.sampled_from(sorted(PROTOCOL_NUMBERS)) | st.integers(0, 255).map(str)
    )
    low = draw(st.none() | st.integers(0, 65535))
    high = draw(st.none() | st.integers(0, 65535))
    remote = draw(st.sampled_from(["prefix", "group", "none"]))
    prefix = None
    if remote == "prefix":
        bits = 32 if ethertype is Ethertype.IPV4 else 128
        address = draw(st.integers(0, 2**bits - 1))
        length = draw(st.integers(0, bits))
        prefix = f"{ip_text(address, ethertype)}/{length}"
    return Rule(
        draw(st.sampled_from(list(Direction))),
        ethertype,
        protocol,
        low,
        high,
        prefix,
        OTHER if remote == "group" else None,
    )


def ip_text(value: int, ethertype: Ethertype) -> str:
    if ethertype is Ethertype.IPV4:
        return str(ipaddress.IPv4Address(value))
    return str(ipaddress.IPv6Address(value))


@given(rules())
def test_every_valid_rules_match_has_the_shape_and_names_its_own_group(rule: Rule) -> None:
    try:
        check_rule(rule)
    except SecurityGroupRuleInvalid:
        return  # Neutron refuses it: it never reaches OVN
    match = acl_match(PG, rule)
    terms = match.split(" && ")
    assert all(_TERM.match(term) for term in terms), match
    direction = "outport" if rule.direction is Direction.INGRESS else "inport"
    ip = "ip4" if rule.ethertype is Ethertype.IPV4 else "ip6"
    assert terms[:2] == [f"{direction} == @{PG}", ip]
    # Fields of the other IP version never appear.
    other = "ip6" if ip == "ip4" else "ip4"
    assert not any(term.startswith((other, "icmp" + other[-1])) for term in terms)


# -- Port_Groups ----------------------------------------------------------------------


def group(*rules: Rule, stateful: bool = True, group_id: str = GROUP) -> SecurityGroupRecord:
    records = tuple(
        SecurityGroupRuleRecord(f"rule-{index}", group_id, "p", rule)
        for index, rule in enumerate(rules)
    )
    return SecurityGroupRecord(group_id, "p", "web", stateful=stateful, rules=records)


def test_a_group_spec_has_an_acl_per_rule_and_a_stateless_group_allows_stateless() -> None:
    spec = group_spec(group(Rule(OUT, V4), Rule(IN, V4, "tcp", 22, 22)), ["b", "a"])
    assert (spec.name, dict(spec.external_ids), spec.ports) == (
        PG,
        {"neutron:security_group_id": GROUP},
        ("a", "b"),
    )
    assert [(a.direction, a.priority, a.action, a.rule_id) for a in spec.acls] == [
        ("from-lport", 1002, "allow-related", "rule-0"),
        ("to-lport", 1002, "allow-related", "rule-1"),
    ]
    stateless = group_spec(group(Rule(OUT, V4), stateful=False))
    assert [acl.action for acl in stateless.acls] == ["allow-stateless"]


def test_the_drop_group_drops_ip_both_ways() -> None:
    spec = drop_group_spec(["p2", "p1"])
    assert (spec.name, spec.ports) == (DROP_GROUP, ("p1", "p2"))
    assert [(a.direction, a.priority, a.match, a.action) for a in spec.acls] == [
        ("from-lport", 1001, "inport == @neutron_pg_drop && ip", "drop"),
        ("to-lport", 1001, "outport == @neutron_pg_drop && ip", "drop"),
    ]


# -- drift ------------------------------------------------------------------------------

NET = "11111111-1111-4111-8111-111111111111"


def port(port_id: str, *groups: str) -> PortWrite:
    record = NetworkRecord(Network(NET, None, "geneve", name="n"), project_id="p")
    the_port = Port(port_id, NET, VnicType.NORMAL, security_groups=groups)
    return PortWrite(PortRecord(the_port), record)


def rows(spec_group: SecurityGroupRecord, ports: tuple[str, ...]) -> dict[str, PortGroupRow]:
    """Port_Groups exactly as the writer leaves them."""
    found = {}
    for spec in (group_spec(spec_group, ports), drop_group_spec(ports)):
        acls = tuple(
            AclRow(a.direction, a.priority, a.match, a.action, a.external_ids) for a in spec.acls
        )
        found[spec.name] = PortGroupRow(spec.name, dict(spec.external_ids), spec.ports, acls)
    return found


def check(database: DatabaseView, groups: dict[str, PortGroupRow]) -> list[tuple[DriftKind, str]]:
    # Only the groups' drifts: the ports' own rows are not in this snapshot.
    drifts = compare(database, OvnSnapshot(port_groups=groups))
    return [d.key for d in drifts if d.kind.value.startswith(("port-group", "acl"))]


def test_groups_as_written_have_no_drift() -> None:
    the_group = group(Rule(OUT, V4), Rule(IN, V4, remote_group_id=GROUP))
    database = DatabaseView((), (port("a", GROUP), port("b")), (the_group,))
    assert check(database, rows(the_group, ("a",))) == []


def test_each_kind_of_group_drift() -> None:
    the_group = group(Rule(OUT, V4), Rule(IN, V4, "tcp", 22, 22), Rule(IN, V6))
    database = DatabaseView((), (port("a", GROUP),), (the_group,))
    groups = rows(the_group, ("a",))
    acls = list(groups[PG].acls)
    changed = AclRow(acls[1].direction, 1002, "outport == @x && ip4", "allow", acls[1].external_ids)
    stray = AclRow("to-lport", 1002, "ip", "allow", {"neutron:security_group_rule_id": "gone"})
    groups[PG] = PortGroupRow(PG, {}, (), (acls[0], changed, stray))  # rule-2 missing
    groups["pg_stale"] = PortGroupRow("pg_stale", {"neutron:security_group_id": OTHER})
    groups["pg_operator"] = PortGroupRow("pg_operator")
    del groups[DROP_GROUP]
    assert check(database, groups) == [
        (DriftKind.PORT_GROUP_DIFFERS, GROUP),
        (DriftKind.ACL_MISSING, GROUP),
        (DriftKind.ACL_DIFFERS, GROUP),
        (DriftKind.ACL_STALE, GROUP),
        (DriftKind.PORT_GROUP_MISSING, DROP_GROUP),
        (DriftKind.PORT_GROUP_STALE, OTHER),
    ]
    drifts = compare(database, OvnSnapshot(port_groups=groups))
    assert all(drift.fixable for drift in drifts if drift.kind.value.startswith(("port-g", "acl")))
    ordered = [d.kind for d in order_of_repair(drifts)]
    assert ordered.index(DriftKind.PORT_GROUP_STALE) < ordered.index(DriftKind.PORT_MISSING)
    assert ordered.index(DriftKind.PORT_MISSING) < ordered.index(DriftKind.PORT_GROUP_MISSING)


def test_a_port_without_groups_needs_no_drop_group_and_a_missing_row_is_the_ports_drift() -> None:
    database = DatabaseView((), (port("a"),), ())
    assert check(database, {}) == []
    the_group = group(Rule(OUT, V4))
    database = DatabaseView((), (port("a", GROUP),), (the_group,))
    # Port "a" has no Logical_Switch_Port at all: a missing port, not a group's drift.
    groups = rows(the_group, ())
    assert check(database, groups) == []

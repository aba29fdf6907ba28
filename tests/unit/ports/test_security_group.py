"""Security group rules: Neutron's protocols, ports, ethertypes, prefixes and combinations."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from offpath.errors import SecurityGroupRuleInvalid
from offpath.ports.security_group import (
    Direction,
    Ethertype,
    Rule,
    check_rule,
    default_group_rules,
    parse_ethertype,
    parse_port,
    parse_protocol,
    parse_remote_ip_prefix,
)

INGRESS = Direction.INGRESS


@pytest.mark.parametrize(
    ("given_value", "stored"),
    [
        pytest.param(None, None, id="none"),
        pytest.param("any", None, id="any"),
        pytest.param("TCP", "tcp", id="name-case"),
        pytest.param("icmpv6", "icmpv6", id="icmpv6"),
        pytest.param("ipv6-icmp", "ipv6-icmp", id="ipv6-icmp"),
        pytest.param(17, "17", id="number"),
        pytest.param("0", "0", id="zero-text"),
        pytest.param("255", "255", id="max"),
    ],
)
def test_protocols_as_neutron_stores_them(given_value: object, stored: str | None) -> None:
    assert parse_protocol(given_value) == stored


@pytest.mark.parametrize("value", ["256", -1, "bogus", 1.5, True, ["tcp"]])
def test_protocols_neutron_refuses(value: object) -> None:
    with pytest.raises(SecurityGroupRuleInvalid, match="not supported"):
        parse_protocol(value)


def test_ports_and_ethertypes() -> None:
    assert parse_port("80") == 80
    assert parse_port(None) is None
    with pytest.raises(SecurityGroupRuleInvalid, match=r"^Invalid value for port 65536$"):
        parse_port(65536)
    assert parse_ethertype("ipv6") is Ethertype.IPV6


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("10.0.0.1", "10.0.0.1/32"),
        ("10.1.2.3/8", "10.1.2.3/8"),
        ("::/0", "::/0"),
        ("", None),
    ],
)
def test_prefixes_get_their_length(value: str, stored: str | None) -> None:
    assert parse_remote_ip_prefix(value) == stored


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        pytest.param(
            Rule(INGRESS, protocol="tcp", port_range_min=0, port_range_max=10),
            "Invalid value for port 0",
            id="tcp-port-0",
        ),
        pytest.param(
            Rule(INGRESS, port_range_min=1, port_range_max=2),
            "Must also specify protocol if port range is given.",
            id="no-protocol",
        ),
        pytest.param(
            Rule(INGRESS, protocol="gre", port_range_min=1, port_range_max=2),
            "Invalid protocol gre for port range",
            id="gre-ports",
        ),
        pytest.param(
            Rule(INGRESS, protocol="icmp", port_range_min=300, port_range_max=1),
            "Invalid value for ICMP type (port_range_min) 300. It must be 0 to 255.",
            id="icmp-type",
        ),
        pytest.param(
            Rule(INGRESS, Ethertype.IPV4, protocol="icmpv6"),
            "Invalid ethertype IPv4 for protocol icmpv6.",
            id="icmpv6-on-ipv4",
        ),
        pytest.param(
            Rule(INGRESS, Ethertype.IPV4, remote_ip_prefix="::/0"),
            "Conflicting value ethertype IPv4 for CIDR ::/0",
            id="family",
        ),
    ],
)
def test_combinations_neutron_refuses(rule: Rule, message: str) -> None:
    with pytest.raises(SecurityGroupRuleInvalid) as caught:
        check_rule(rule)
    assert caught.value.message.startswith(message)


def test_icmp_type_alone_and_single_ports_are_fine() -> None:
    assert check_rule(Rule(INGRESS, protocol="icmp", port_range_min=8))
    assert check_rule(Rule(INGRESS, protocol="udp", port_range_min=53, port_range_max=53))


def test_duplicates_compare_protocol_numbers_and_networks() -> None:
    one = Rule(INGRESS, protocol="tcp", remote_ip_prefix="10.1.2.3/8")
    assert one.same_match(Rule(INGRESS, protocol="6", remote_ip_prefix="10.0.0.0/8"))
    assert not one.same_match(Rule(Direction.EGRESS, protocol="tcp", remote_ip_prefix="10.0.0.0/8"))


def test_the_default_groups_rules() -> None:
    rules = default_group_rules("g1")
    assert [(r.direction, r.ethertype, r.remote_group_id) for r in rules] == [
        (Direction.EGRESS, Ethertype.IPV4, None),
        (Direction.EGRESS, Ethertype.IPV6, None),
        (Direction.INGRESS, Ethertype.IPV4, "g1"),
        (Direction.INGRESS, Ethertype.IPV6, "g1"),
    ]


_ANY = st.one_of(
    st.none(), st.booleans(), st.integers(-1000, 70000), st.text(max_size=20), st.floats()
)


@given(protocol=_ANY, low=_ANY, high=_ANY, prefix=_ANY, ethertype=_ANY)
def test_any_request_is_a_rule_or_our_error(
    protocol: object, low: object, high: object, prefix: object, ethertype: object
) -> None:
    try:
        rule = check_rule(
            Rule(
                INGRESS,
                parse_ethertype(ethertype),
                parse_protocol(protocol),
                parse_port(low),
                parse_port(high),
                parse_remote_ip_prefix(prefix),
            )
        )
    except SecurityGroupRuleInvalid:
        return
    # What is accepted is stable: stored again, it is the same rule.
    assert parse_protocol(rule.protocol) == rule.protocol
    assert parse_remote_ip_prefix(rule.remote_ip_prefix) == rule.remote_ip_prefix
    assert rule.same_match(rule)


@given(
    protocol=st.sampled_from(["tcp", "udp", "sctp", "6", "17"]),
    low=st.integers(1, 65535),
    high=st.integers(1, 65535),
)
def test_port_ranges_are_accepted_exactly_when_ordered(protocol: str, low: int, high: int) -> None:
    rule = Rule(INGRESS, protocol=protocol, port_range_min=low, port_range_max=high)
    if low <= high:
        assert check_rule(rule) is rule
    else:
        with pytest.raises(SecurityGroupRuleInvalid):
            check_rule(rule)

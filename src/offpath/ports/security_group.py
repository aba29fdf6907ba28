"""Security group rules as Neutron reads and checks them: protocols, ports, ethertypes, prefixes.

A rule is what a request asks for, normalised as Neutron stores it: the
protocol lower-cased (a number stays a number, as text), the ethertype in
Neutron's spelling, the remote prefix with its length. `check_rule` refuses
the combinations Neutron refuses, with Neutron's messages.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from offpath.errors import SecurityGroupRuleInvalid

DEFAULT_GROUP: Final = "default"


class Direction(StrEnum):
    """Which traffic a rule admits."""

    INGRESS = "ingress"
    EGRESS = "egress"


class Ethertype(StrEnum):
    """The IP version a rule applies to."""

    IPV4 = "IPv4"
    IPV6 = "IPv6"


# Neutron's protocol names and their IANA numbers.
PROTOCOL_NUMBERS: Final = {
    "ah": 51,
    "dccp": 33,
    "egp": 8,
    "esp": 50,
    "gre": 47,
    "hopopt": 0,
    "icmp": 1,
    "igmp": 2,
    "ip": 4,
    "ipip": 4,
    "ipv6-encap": 41,
    "ipv6-frag": 44,
    "ipv6-icmp": 58,
    "icmpv6": 58,
    "ipv6-nonxt": 59,
    "ipv6-opts": 60,
    "ipv6-route": 43,
    "ospf": 89,
    "pgm": 113,
    "rsvp": 46,
    "sctp": 132,
    "tcp": 6,
    "udp": 17,
    "udplite": 136,
    "vrrp": 112,
}
# What protocol "any" means: no protocol.
ANY_PROTOCOL: Final = "any"
# Protocols whose port_range_min/max are ports; ICMP's are its type and code.
PORT_RANGE_PROTOCOLS: Final = frozenset({6, 17, 33, 132, 136})
ICMP_PROTOCOLS: Final = frozenset({1, 58})
IPV6_ONLY_PROTOCOLS: Final = frozenset({41, 43, 44, 58, 59, 60})
MAX_PORT: Final = 65535
MAX_ICMP: Final = 255
MAX_PROTOCOL: Final = 255


@dataclass(frozen=True, slots=True)
class Rule:
    """One security group rule's match, as Neutron stores it."""

    direction: Direction
    ethertype: Ethertype = Ethertype.IPV4
    protocol: str | None = None
    port_range_min: int | None = None
    port_range_max: int | None = None
    remote_ip_prefix: str | None = None
    remote_group_id: str | None = None

    @property
    def protocol_number(self) -> int | None:
        """The IANA number of the protocol; None for any."""
        return protocol_number(self.protocol)

    @property
    def normalized_cidr(self) -> str | None:
        """The remote prefix's network (`10.0.0.0/8` for `10.1.2.3/8`)."""
        if self.remote_ip_prefix is None:
            return None
        return str(ipaddress.ip_network(self.remote_ip_prefix, strict=False))

    def same_match(self, other: Rule) -> bool:
        """True when both rules admit the same traffic (Neutron refuses the second)."""
        return self.match_key() == other.match_key()

    def match_key(self) -> tuple[object, ...]:
        """What decides whether two rules are duplicates."""
        return (
            self.direction,
            self.ethertype,
            self.protocol_number,
            self.port_range_min,
            self.port_range_max,
            self.normalized_cidr,
            self.remote_group_id,
        )


def default_group_rules(group_id: str) -> tuple[Rule, ...]:
    """Neutron's rules of a project's `default` group: all out, in from its own members."""
    return (
        Rule(Direction.EGRESS, Ethertype.IPV4),
        Rule(Direction.EGRESS, Ethertype.IPV6),
        Rule(Direction.INGRESS, Ethertype.IPV4, remote_group_id=group_id),
        Rule(Direction.INGRESS, Ethertype.IPV6, remote_group_id=group_id),
    )


def new_group_rules() -> tuple[Rule, ...]:
    """Neutron's rules of any other new group: all traffic out."""
    return (Rule(Direction.EGRESS, Ethertype.IPV4), Rule(Direction.EGRESS, Ethertype.IPV6))


def protocol_number(protocol: str | None) -> int | None:
    """The IANA number of a stored protocol (a name or a number as text)."""
    if protocol is None:
        return None
    if protocol.isdigit():
        return int(protocol)
    return PROTOCOL_NUMBERS[protocol]


def parse_protocol(value: object) -> str | None:
    """A requested protocol as Neutron stores it: a known name, a number 0-255, None for any."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        text = str(value)
    elif isinstance(value, str):
        text = value.strip().lower()
    else:
        raise _bad_protocol(value)
    if text in ("", ANY_PROTOCOL):
        return None
    if text.lstrip("-").isdigit():
        if not 0 <= int(text) <= MAX_PROTOCOL:
            raise _bad_protocol(value)
        return str(int(text))
    if text not in PROTOCOL_NUMBERS:
        raise _bad_protocol(value)
    return text


def _bad_protocol(value: object) -> SecurityGroupRuleInvalid:
    names = sorted(PROTOCOL_NUMBERS)
    return SecurityGroupRuleInvalid(
        f"Security group rule protocol {value} not supported. Only protocol values "
        f"{[None, *names]} and integer representations [0 to 255] are supported."
    )


def parse_port(value: object) -> int | None:
    """A requested port_range_min/max: None, or a whole number 0-65535 (a number as text too)."""
    if value is None:
        return None
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().lstrip("-").isdigit():
        number = int(value)
    if number is None or not 0 <= number <= MAX_PORT:
        raise SecurityGroupRuleInvalid(f"Invalid value for port {value}")
    return number


def parse_ethertype(value: object) -> Ethertype:
    """`IPv4` or `IPv6`, in any case."""
    if isinstance(value, str):
        for ethertype in Ethertype:
            if ethertype.value.lower() == value.lower():
                return ethertype
    raise SecurityGroupRuleInvalid(
        f"Security group rule for ethertype '{value}' not supported. "
        f"Allowed values are {[e.value for e in Ethertype]}."
    )


def parse_direction(value: object) -> Direction:
    """`ingress` or `egress`."""
    if isinstance(value, str) and value in {d.value for d in Direction}:
        return Direction(value)
    raise SecurityGroupRuleInvalid(
        f"Invalid input for direction. Reason: '{value}' is not in {[d.value for d in Direction]}."
    )


def parse_remote_ip_prefix(value: object) -> str | None:
    """A prefix with its length (`10.0.0.1` is `10.0.0.1/32`); host bits are kept, as Neutron."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _bad_prefix(value)
    try:
        interface = ipaddress.ip_interface(value.strip())
    except ValueError:
        raise _bad_prefix(value) from None
    return f"{interface.ip}/{interface.network.prefixlen}"


def _bad_prefix(value: object) -> SecurityGroupRuleInvalid:
    return SecurityGroupRuleInvalid(
        f"Invalid input for remote_ip_prefix. Reason: '{value}' is not a valid IP subnet."
    )


def check_rule(rule: Rule) -> Rule:
    """`rule` if Neutron accepts its combination of attributes; SecurityGroupRuleInvalid if not."""
    if rule.remote_ip_prefix is not None and rule.remote_group_id is not None:
        raise SecurityGroupRuleInvalid("Only remote_ip_prefix or remote_group_id may be provided.")
    if rule.remote_ip_prefix is not None:
        version = ipaddress.ip_network(rule.remote_ip_prefix, strict=False).version
        if version != (4 if rule.ethertype is Ethertype.IPV4 else 6):
            raise SecurityGroupRuleInvalid(
                f"Conflicting value ethertype {rule.ethertype.value} for CIDR "
                f"{rule.remote_ip_prefix}"
            )
    number = rule.protocol_number
    if rule.ethertype is Ethertype.IPV4 and number in IPV6_ONLY_PROTOCOLS:
        raise SecurityGroupRuleInvalid(
            f"Invalid ethertype {rule.ethertype.value} for protocol {rule.protocol}."
        )
    _check_ports(rule, number)
    return rule


def _check_ports(rule: Rule, number: int | None) -> None:
    low, high = rule.port_range_min, rule.port_range_max
    if low is None and high is None:
        return
    if number is None:
        raise SecurityGroupRuleInvalid("Must also specify protocol if port range is given.")
    if number in PORT_RANGE_PROTOCOLS:
        if low == 0 or high == 0:
            raise SecurityGroupRuleInvalid("Invalid value for port 0")
        if low is None or high is None or low > high:
            raise SecurityGroupRuleInvalid(
                "For TCP/UDP protocols, port_range_min must be <= port_range_max"
            )
        return
    if number in ICMP_PROTOCOLS:
        for value, field, attribute in (
            (low, "type", "port_range_min"),
            (high, "code", "port_range_max"),
        ):
            if value is not None and not 0 <= value <= MAX_ICMP:
                raise SecurityGroupRuleInvalid(
                    f"Invalid value for ICMP {field} ({attribute}) {value}. It must be 0 to 255."
                )
        if low is None:
            raise SecurityGroupRuleInvalid(
                f"ICMP code (port-range-max) {high} is provided but ICMP type "
                "(port-range-min) is missing."
            )
        return
    raise SecurityGroupRuleInvalid(
        f"Invalid protocol {rule.protocol} for port range, only supported for TCP, UDP, "
        "UDPLITE, SCTP and DCCP protocols."
    )

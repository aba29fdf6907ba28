"""Neutron's JSON shapes: request bodies read into offpath's records, records written back.

One place for the wire format of `/v2.0`, read by the network API (requests
in, responses out) and by the Neutron client (responses in). Messages for
bad bodies are Neutron's where Neutron has one.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Final, TypeVar

from offpath.errors import NetworkRequestInvalid, VnicTypeInvalid
from offpath.jsonvalue import JsonValue
from offpath.network.records import (
    Chassis,
    NetworkRecord,
    PortRecord,
    SecurityGroupRecord,
    SecurityGroupRuleRecord,
    SubnetRecord,
    VifType,
)
from offpath.network.representors import RepresentorPlug
from offpath.ports.host_binding import BindingStatus, HostBinding
from offpath.ports.network import Network, Segment
from offpath.ports.port import BINDING_FAILURE_DETAIL, FixedIp, Port
from offpath.ports.security_group import (
    Ethertype,
    Rule,
    parse_direction,
    parse_ethertype,
    parse_port,
    parse_protocol,
    parse_remote_ip_prefix,
)
from offpath.ports.vnic import VnicType

NETWORK_TYPES: Final = frozenset({"flat", "vlan", "geneve", "vxlan", "gre", "local"})
MAX_TEXT: Final = 255
# Neutron's bounds: an MTU an interface can take, segmentation ids per type.
MTU_RANGE: Final = (68, 65535)
SEGMENTATION_RANGE: Final = {
    "vlan": (1, 4094),
    "vxlan": (1, 2**24 - 1),
    "geneve": (1, 2**24 - 1),
    "gre": (1, 2**32 - 1),
}
# Accepted and ignored: attributes of Neutron extensions offpath does not model.
IGNORED_PORT_KEYS: Final = frozenset(
    {
        "description",
        "dns_name",
        "dns_domain",
        "port_security_enabled",
        "qos_policy_id",
        "allowed_address_pairs",
        "extra_dhcp_opts",
        "tags",
        "propagate_uplink_status",
        "numa_affinity_policy",
        "binding:vif_type",
        "binding:vif_details",
        "status",
    }
)
IGNORED_NETWORK_KEYS: Final = frozenset(
    {
        "description",
        "tags",
        "router:external",
        "port_security_enabled",
        "availability_zone_hints",
        "dns_domain",
        "qos_policy_id",
        "is_default",
    }
)
IGNORED_SUBNET_KEYS: Final = frozenset(
    {
        "description",
        "tags",
        "enable_dhcp",
        "dns_nameservers",
        "host_routes",
        "allocation_pools",
        "ipv6_ra_mode",
        "ipv6_address_mode",
        "subnetpool_id",
        "use_default_subnetpool",
        "service_types",
        "segment_id",
    }
)


class Unset(Enum):
    """The type of UNSET: an attribute the request did not name."""

    UNSET = 0


UNSET: Final = Unset.UNSET
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class FixedIpRequest:
    """A `fixed_ips` item of a request: a subnet, an address, or both."""

    subnet_id: str | None = None
    ip_address: str | None = None


@dataclass(frozen=True, slots=True)
class PortChanges:
    """The attributes a port create or update names; UNSET for the others."""

    name: str | Unset = UNSET
    admin_state_up: bool | Unset = UNSET
    device_id: str | Unset = UNSET
    device_owner: str | Unset = UNSET
    host_id: str | Unset = UNSET
    profile: dict[str, JsonValue] | Unset = UNSET
    vnic_type: VnicType | Unset = UNSET
    mac_address: str | Unset = UNSET
    fixed_ips: tuple[FixedIpRequest, ...] | Unset = UNSET
    security_groups: tuple[str, ...] | Unset = UNSET


@dataclass(frozen=True, slots=True)
class PortSpec:
    """A port to create: its network, the project asked for, and its attributes."""

    network_id: str
    project_id: str | None
    changes: PortChanges


@dataclass(frozen=True, slots=True)
class BindingSpec:
    """A binding to create for a port: the host, the vnic type (None: the port's), the profile."""

    host: str
    vnic_type: VnicType | None = None
    profile: dict[str, JsonValue] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class NetworkSpec:
    """A network to create."""

    name: str = ""
    project_id: str | None = None
    admin_state_up: bool = True
    shared: bool = False
    network_type: str | None = None
    physical_network: str | None = None
    segmentation_id: int | None = None
    segments: tuple[Segment, ...] = ()
    mtu: int | None = None


@dataclass(frozen=True, slots=True)
class NetworkChanges:
    """The attributes a network update names."""

    name: str | Unset = UNSET
    admin_state_up: bool | Unset = UNSET
    shared: bool | Unset = UNSET
    mtu: int | Unset = UNSET


@dataclass(frozen=True, slots=True)
class SubnetSpec:
    """A subnet to create."""

    network_id: str
    cidr: str
    ip_version: int
    name: str = ""
    project_id: str | None = None
    gateway_ip: str | Unset | None = UNSET
    extra: Mapping[str, JsonValue] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SecurityGroupSpec:
    """A security group to create."""

    name: str = ""
    description: str = ""
    project_id: str | None = None
    stateful: bool = True


@dataclass(frozen=True, slots=True)
class SecurityGroupChanges:
    """The attributes a security group update names."""

    name: str | Unset = UNSET
    description: str | Unset = UNSET
    stateful: bool | Unset = UNSET


@dataclass(frozen=True, slots=True)
class SecurityGroupRuleSpec:
    """A security group rule to create: its group, its match, the project asked for."""

    security_group_id: str
    rule: Rule
    project_id: str | None = None
    description: str = ""


# -- reading requests -------------------------------------------------------------


def resource(body: JsonValue, name: str) -> dict[str, JsonValue]:
    """The `{"<name>": {...}}` object of a request body."""
    if not isinstance(body, dict):
        raise NetworkRequestInvalid(
            f'Malformed request body: expected a JSON object {{"{name}": {{...}}}}'
        )
    if not isinstance(body.get(name), dict):
        raise NetworkRequestInvalid(f"Resource body required: {{{name!r}: {{...}}}}")
    inner = body[name]
    assert isinstance(inner, dict)
    return inner


def bulk(body: JsonValue, name: str, plural: str) -> list[dict[str, JsonValue]] | None:
    """A bulk create's items as single bodies (`{"<name>": {...}}` each); None for one resource."""
    if not isinstance(body, dict) or name in body or not isinstance(body.get(plural), list):
        return None
    items = body[plural]
    assert isinstance(items, list)
    if not items or not all(isinstance(i, dict) for i in items):
        raise NetworkRequestInvalid(f"Resources required: {{{plural!r}: [{{...}}, ...]}}")
    return [{name: item} for item in items]


def _unknown(attrs: Mapping[str, JsonValue], known: frozenset[str]) -> None:
    extra = sorted(set(attrs) - known)
    if extra:
        raise NetworkRequestInvalid(f"Unrecognized attribute(s) '{', '.join(extra)}'")


def _text(attrs: Mapping[str, JsonValue], key: str, *, nullable: bool = False) -> str | None:
    value = attrs[key]
    if value is None and nullable:
        return None
    if not isinstance(value, str):
        raise NetworkRequestInvalid(f"Invalid input for {key}. Reason: '{value}' is not a string.")
    check_text(key, value)
    return value


def check_text(key: str, value: str) -> str:
    """`value` if a column can hold it: at most 255 characters (Neutron's limit), no NUL."""
    if len(value) > MAX_TEXT:
        raise NetworkRequestInvalid(
            f"Invalid input for {key}. Reason: '{value[:40]}...' exceeds maximum length of "
            f"{MAX_TEXT}."
        )
    if "\x00" in value:
        raise NetworkRequestInvalid(
            f"Invalid input for {key}. Reason: it contains a NUL character."
        )
    return value


def _flag(attrs: Mapping[str, JsonValue], key: str) -> bool:
    value = attrs[key]
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise NetworkRequestInvalid(
        f"Invalid input for {key}. Reason: '{value}' cannot be converted to boolean."
    )


def _integer(attrs: Mapping[str, JsonValue], key: str) -> int | None:
    # The CLI sends `mtu` and `provider:segmentation_id` as strings.
    value = attrs[key]
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    raise NetworkRequestInvalid(f"Invalid input for {key}. Reason: '{value}' is not an integer.")


def _get(attrs: Mapping[str, JsonValue], key: str, read: object, default: T) -> T:
    if key not in attrs:
        return default
    return read(attrs, key)  # type: ignore[operator, no-any-return]


def _project(attrs: Mapping[str, JsonValue]) -> str | None:
    keys = ("project_id", "tenant_id")
    given = [_text(attrs, key, nullable=True) for key in keys if key in attrs]
    if len(set(given)) > 1:
        raise NetworkRequestInvalid("'project_id' and 'tenant_id' do not match")
    return given[0] if given else None


def _uuid_text(attrs: Mapping[str, JsonValue], key: str) -> str:
    value = _text(attrs, key)
    assert value is not None
    return value


def parse_network_create(body: JsonValue) -> NetworkSpec:
    """The network a `POST /networks` body asks for."""
    attrs = resource(body, "network")
    provider = ("provider:network_type", "provider:physical_network", "provider:segmentation_id")
    known = frozenset(
        {"name", "project_id", "tenant_id", "admin_state_up", "shared", "mtu", "segments"}
    )
    _unknown(attrs, known | frozenset(provider) | IGNORED_NETWORK_KEYS)
    segments: tuple[Segment, ...] = ()
    if "segments" in attrs and attrs["segments"] is not None:
        items = attrs["segments"]
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise NetworkRequestInvalid("Invalid input for segments. Reason: not a list of dicts.")
        segments = tuple(_segment(item) for item in items if isinstance(item, dict))
        if any(key in attrs for key in provider):
            raise NetworkRequestInvalid("Segments and provider values cannot both be set.")
    network_type = _get(attrs, provider[0], lambda a, k: _text(a, k, nullable=True), None)
    physnet = _get(attrs, provider[1], lambda a, k: _text(a, k, nullable=True), None)
    segmentation_id = _get(attrs, provider[2], _integer, None)
    if not segments:
        _check_segment(Segment(physnet, network_type, segmentation_id))
    return NetworkSpec(
        name=_get(attrs, "name", _text, "") or "",
        project_id=_project(attrs),
        admin_state_up=_get(attrs, "admin_state_up", _flag, True),
        shared=_get(attrs, "shared", _flag, False),
        network_type=network_type,
        physical_network=physnet,
        segmentation_id=segmentation_id,
        segments=segments,
        mtu=_mtu(_get(attrs, "mtu", _integer, None)),
    )


def _mtu(value: int | None) -> int | None:
    if value is not None and not MTU_RANGE[0] <= value <= MTU_RANGE[1]:
        raise NetworkRequestInvalid(
            f"Invalid input for mtu. Reason: {value} is not in range "
            f"{MTU_RANGE[0]} through {MTU_RANGE[1]}."
        )
    return value


def _segment(item: Mapping[str, JsonValue]) -> Segment:
    segment = Segment(
        physical_network=_get(
            item, "provider:physical_network", lambda a, k: _text(a, k, nullable=True), None
        ),
        network_type=_get(
            item, "provider:network_type", lambda a, k: _text(a, k, nullable=True), None
        ),
        segmentation_id=_get(item, "provider:segmentation_id", _integer, None),
    )
    _check_segment(segment)
    return segment


def _check_segment(segment: Segment) -> None:
    kind = segment.network_type
    if kind is not None and kind not in NETWORK_TYPES:
        raise NetworkRequestInvalid(
            f"Invalid input for operation: network_type value '{kind}' not supported."
        )
    if kind in ("vlan", "flat") and not segment.physical_network:
        raise NetworkRequestInvalid(
            f"Invalid input for operation: physical_network required for {kind} provider network."
        )
    if kind not in ("vlan", "flat") and segment.physical_network:
        raise NetworkRequestInvalid(
            f"Invalid input for operation: physical_network not allowed for {kind} "
            "provider network."
        )
    seg_id = segment.segmentation_id
    if seg_id is None:
        return
    low, high = SEGMENTATION_RANGE.get(kind or "", (0, -1))
    if not low <= seg_id <= high:
        where = f"({low} through {high})" if high > 0 else f"(none for {kind} networks)"
        raise NetworkRequestInvalid(
            f"Invalid input for operation: segmentation_id out of range {where}."
        )


def parse_network_update(body: JsonValue) -> NetworkChanges:
    """The changes a `PUT /networks/{id}` body asks for."""
    attrs = resource(body, "network")
    _unknown(attrs, frozenset({"name", "admin_state_up", "shared", "mtu"}) | IGNORED_NETWORK_KEYS)
    mtu = _mtu(_get(attrs, "mtu", _integer, None))
    return NetworkChanges(
        name=_get(attrs, "name", _text, UNSET) or "",
        admin_state_up=_get(attrs, "admin_state_up", _flag, UNSET),
        shared=_get(attrs, "shared", _flag, UNSET),
        mtu=UNSET if mtu is None else mtu,
    )


def parse_subnet_update(body: JsonValue) -> str | Unset:
    """The new name a `PUT /subnets/{id}` body asks for (the other attributes are not kept)."""
    attrs = resource(body, "subnet")
    _unknown(attrs, frozenset({"name"}) | IGNORED_SUBNET_KEYS)
    name: str | Unset | None = _get(attrs, "name", _text, UNSET)
    return name if isinstance(name, Unset) else name or ""


def parse_subnet_create(body: JsonValue) -> SubnetSpec:
    """The subnet a `POST /subnets` body asks for."""
    attrs = resource(body, "subnet")
    known = frozenset(
        {"network_id", "cidr", "ip_version", "name", "project_id", "tenant_id", "gateway_ip"}
    )
    _unknown(attrs, known | IGNORED_SUBNET_KEYS)
    for key in ("network_id", "cidr"):
        if key not in attrs:
            raise NetworkRequestInvalid(f"Invalid input for {key}. Reason: it is required.")
    cidr = _uuid_text(attrs, "cidr")
    try:
        parsed = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        raise NetworkRequestInvalid(
            f"Invalid input for cidr. Reason: '{cidr}' is not a valid IP subnet."
        ) from None
    version = _get(attrs, "ip_version", _integer, parsed.version)
    if version != parsed.version:
        raise NetworkRequestInvalid(
            "Invalid input for operation: Cidr and ip_version do not match."
        )
    gateway: str | Unset | None = UNSET
    if "gateway_ip" in attrs:
        gateway = _text(attrs, "gateway_ip", nullable=True)
        if gateway is not None and not _is_ip(gateway):
            raise NetworkRequestInvalid(
                f"Invalid input for gateway_ip. Reason: '{gateway}' is not a valid IP address."
            )
    return SubnetSpec(
        network_id=_uuid_text(attrs, "network_id"),
        cidr=str(parsed),
        ip_version=parsed.version,
        name=_get(attrs, "name", _text, "") or "",
        project_id=_project(attrs),
        gateway_ip=gateway,
    )


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


_PORT_KEYS: Final = frozenset(
    {
        "name",
        "admin_state_up",
        "device_id",
        "device_owner",
        "binding:host_id",
        "binding:profile",
        "binding:vnic_type",
        "mac_address",
        "fixed_ips",
        "security_groups",
    }
)


def parse_port_create(body: JsonValue) -> PortSpec:
    """The port a `POST /ports` body asks for."""
    attrs = resource(body, "port")
    _unknown(attrs, _PORT_KEYS | {"network_id", "project_id", "tenant_id"} | IGNORED_PORT_KEYS)
    if "network_id" not in attrs:
        raise NetworkRequestInvalid("Invalid input for network_id. Reason: it is required.")
    return PortSpec(_uuid_text(attrs, "network_id"), _project(attrs), _port_changes(attrs))


def parse_port_update(body: JsonValue) -> PortChanges:
    """The changes a `PUT /ports/{id}` body asks for."""
    attrs = resource(body, "port")
    _unknown(attrs, _PORT_KEYS | IGNORED_PORT_KEYS)
    return _port_changes(attrs)


def _port_changes(attrs: Mapping[str, JsonValue]) -> PortChanges:
    profile: dict[str, JsonValue] | Unset = UNSET
    if "binding:profile" in attrs:
        value = attrs["binding:profile"]
        if value is not None and not isinstance(value, dict):
            raise NetworkRequestInvalid(
                f"Invalid input for binding:profile. Reason: '{value}' is not a dictionary."
            )
        profile = dict(value or {})
    vnic: VnicType | Unset = UNSET
    if "binding:vnic_type" in attrs:
        try:
            vnic = VnicType.parse(attrs["binding:vnic_type"])
        except VnicTypeInvalid:
            raise NetworkRequestInvalid(
                f"Invalid input for binding:vnic_type. Reason: "
                f"'{attrs['binding:vnic_type']}' is not in "
                f"{[member.value for member in VnicType]}."
            ) from None
    mac: str | Unset = UNSET
    if "mac_address" in attrs:
        mac = _mac(_text(attrs, "mac_address") or "")
    host: str | Unset = UNSET
    if "binding:host_id" in attrs:
        host = _text(attrs, "binding:host_id", nullable=True) or ""
    return PortChanges(
        name=_get(attrs, "name", lambda a, k: _text(a, k, nullable=True) or "", UNSET),
        admin_state_up=_get(attrs, "admin_state_up", _flag, UNSET),
        device_id=_get(attrs, "device_id", lambda a, k: _text(a, k, nullable=True) or "", UNSET),
        device_owner=_get(
            attrs, "device_owner", lambda a, k: _text(a, k, nullable=True) or "", UNSET
        ),
        host_id=host,
        profile=profile,
        vnic_type=vnic,
        mac_address=mac,
        fixed_ips=_get(attrs, "fixed_ips", _fixed_ips, UNSET),
        security_groups=_get(attrs, "security_groups", _group_ids, UNSET),
    )


def _group_ids(attrs: Mapping[str, JsonValue], key: str) -> tuple[str, ...]:
    # Neutron reads null as no groups, and a group named twice once.
    items = attrs[key]
    if items is None:
        return ()
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise NetworkRequestInvalid(
            f"Invalid input for security_groups. Reason: '{items}' is not a list of ids."
        )
    return tuple(dict.fromkeys(check_text(key, str(item)) for item in items))


_GROUP_KEYS: Final = frozenset({"name", "description", "stateful"})
_RULE_KEYS: Final = frozenset(
    {
        "security_group_id",
        "direction",
        "ethertype",
        "protocol",
        "port_range_min",
        "port_range_max",
        "remote_ip_prefix",
        "remote_group_id",
        "remote_address_group_id",
        "description",
        "project_id",
        "tenant_id",
    }
)


def parse_security_group_create(body: JsonValue) -> SecurityGroupSpec:
    """The group a `POST /security-groups` body asks for."""
    attrs = resource(body, "security_group")
    _unknown(attrs, _GROUP_KEYS | {"project_id", "tenant_id", "tags"})
    return SecurityGroupSpec(
        name=_get(attrs, "name", lambda a, k: _text(a, k, nullable=True) or "", ""),
        description=_get(attrs, "description", lambda a, k: _text(a, k, nullable=True) or "", ""),
        project_id=_project(attrs),
        stateful=_get(attrs, "stateful", _flag, True),
    )


def parse_security_group_update(body: JsonValue) -> SecurityGroupChanges:
    """The changes a `PUT /security-groups/{id}` body asks for."""
    attrs = resource(body, "security_group")
    _unknown(attrs, _GROUP_KEYS)
    return SecurityGroupChanges(
        name=_get(attrs, "name", lambda a, k: _text(a, k, nullable=True) or "", UNSET),
        description=_get(
            attrs, "description", lambda a, k: _text(a, k, nullable=True) or "", UNSET
        ),
        stateful=_get(attrs, "stateful", _flag, UNSET),
    )


def parse_security_group_rule_create(body: JsonValue) -> SecurityGroupRuleSpec:
    """The rule a `POST /security-group-rules` body asks for; its combination is not checked."""
    attrs = resource(body, "security_group_rule")
    _unknown(attrs, _RULE_KEYS)
    for key in ("security_group_id", "direction"):
        if key not in attrs:
            raise NetworkRequestInvalid(
                f"Failed to parse request. Required attribute '{key}' not specified"
            )
    if attrs.get("remote_address_group_id") is not None:
        raise NetworkRequestInvalid(
            "Invalid input for remote_address_group_id. Reason: address groups are not served."
        )
    remote_group = _get(attrs, "remote_group_id", lambda a, k: _text(a, k, nullable=True), None)
    rule = Rule(
        direction=parse_direction(attrs["direction"]),
        ethertype=parse_ethertype(attrs["ethertype"]) if "ethertype" in attrs else Ethertype.IPV4,
        protocol=parse_protocol(attrs.get("protocol")),
        port_range_min=parse_port(attrs.get("port_range_min")),
        port_range_max=parse_port(attrs.get("port_range_max")),
        remote_ip_prefix=parse_remote_ip_prefix(attrs.get("remote_ip_prefix")),
        remote_group_id=remote_group or None,
    )
    return SecurityGroupRuleSpec(
        security_group_id=_uuid_text(attrs, "security_group_id"),
        rule=rule,
        project_id=_project(attrs),
        description=_get(attrs, "description", lambda a, k: _text(a, k, nullable=True) or "", ""),
    )


def _mac(text: str) -> str:
    parts = text.replace("-", ":").lower().split(":")
    if len(parts) != 6 or not all(
        len(p) == 2 and all(c in "0123456789abcdef" for c in p) for p in parts
    ):
        raise NetworkRequestInvalid(
            f"Invalid input for mac_address. Reason: '{text}' is not a valid MAC address."
        )
    return ":".join(parts)


def _fixed_ips(attrs: Mapping[str, JsonValue], key: str) -> tuple[FixedIpRequest, ...]:
    items = attrs[key]
    if not isinstance(items, list):
        raise NetworkRequestInvalid(
            f"Invalid input for fixed_ips. Reason: '{items}' is not a list."
        )
    found: list[FixedIpRequest] = []
    for item in items:
        if not isinstance(item, dict) or not set(item) <= {"subnet_id", "ip_address"}:
            raise NetworkRequestInvalid(
                f"Invalid input for fixed_ips. Reason: '{item}' is not a fixed IP."
            )
        subnet = _get(item, "subnet_id", lambda a, k: _text(a, k, nullable=True), None)
        address = _get(item, "ip_address", lambda a, k: _text(a, k, nullable=True), None)
        if address is not None and not _is_ip(address):
            raise NetworkRequestInvalid(
                f"Invalid input for fixed_ips. Reason: '{address}' is not a valid IP address."
            )
        found.append(FixedIpRequest(subnet, address))
    return tuple(found)


_BINDING_KEYS: Final = frozenset({"host", "vnic_type", "profile", "project_id", "tenant_id"})
# What the backend decides: shown in answers, refused in requests.
_BINDING_READ_ONLY: Final = ("vif_type", "vif_details", "status")


def parse_binding_create(body: JsonValue) -> BindingSpec:
    """The binding a `POST /ports/{id}/bindings` body asks for."""
    attrs = resource(body, "binding")
    for key in _BINDING_READ_ONLY:
        if key in attrs:
            raise NetworkRequestInvalid(f"Attribute '{key}' not allowed in POST")
    _unknown(attrs, _BINDING_KEYS)
    if "host" not in attrs:
        raise NetworkRequestInvalid(
            "Failed to parse request. Required attribute 'host' not specified"
        )
    host = _uuid_text(attrs, "host")
    if not host:
        raise NetworkRequestInvalid("Invalid input for host. Reason: '' is not a host name.")
    vnic: VnicType | None = None
    if "vnic_type" in attrs:
        value, known = attrs["vnic_type"], [member.value for member in VnicType]
        if not isinstance(value, str) or value not in known:
            raise NetworkRequestInvalid(
                f"Invalid input for vnic_type. Reason: '{value}' is not in {known}."
            )
        vnic = VnicType(value)
    profile = attrs.get("profile")
    if profile is not None and not isinstance(profile, dict):
        raise NetworkRequestInvalid(
            f"Invalid input for profile. Reason: '{profile}' is not a dictionary."
        )
    return BindingSpec(host, vnic, dict(profile or {}))


# -- writing responses ------------------------------------------------------------


def network_json(record: NetworkRecord) -> dict[str, JsonValue]:
    """A network as Neutron shows it."""
    network = record.network
    body: dict[str, JsonValue] = {
        "id": network.id,
        "name": network.name,
        "project_id": record.project_id,
        "tenant_id": record.project_id,
        "status": record.status,
        "admin_state_up": record.admin_state_up,
        "shared": record.shared,
        "mtu": network.mtu,
        "subnets": list(record.subnet_ids),
        "router:external": False,
        "availability_zones": [],
        "tags": [],
        "description": "",
    }
    if network.segments:
        body["segments"] = [
            {
                "provider:network_type": s.network_type,
                "provider:physical_network": s.physical_network,
                "provider:segmentation_id": s.segmentation_id,
            }
            for s in network.segments
        ]
    else:
        body["provider:network_type"] = network.network_type
        body["provider:physical_network"] = network.physical_network
        body["provider:segmentation_id"] = record.segmentation_id
    return body


def subnet_json(record: SubnetRecord) -> dict[str, JsonValue]:
    """A subnet as Neutron shows it."""
    return {
        "id": record.id,
        "network_id": record.network_id,
        "project_id": record.project_id,
        "tenant_id": record.project_id,
        "name": record.name,
        "cidr": record.cidr,
        "ip_version": record.ip_version,
        "gateway_ip": record.gateway_ip,
        "enable_dhcp": False,
        "allocation_pools": [],
        "dns_nameservers": [],
        "host_routes": [],
        "description": "",
        "tags": [],
    }


def port_json(record: PortRecord) -> dict[str, JsonValue]:
    """A port as Neutron shows it; `binding:profile` is `{}`, never null (the CLI merges in it)."""
    port = record.port
    return {
        "id": port.id,
        "name": record.name,
        "network_id": port.network_id,
        "project_id": port.project_id,
        "tenant_id": port.project_id,
        "admin_state_up": record.admin_state_up,
        "status": port.status,
        "mac_address": port.mac_address,
        "fixed_ips": [
            {"subnet_id": ip.subnet_id, "ip_address": ip.ip_address} for ip in port.fixed_ips
        ],
        "device_id": port.device_id,
        "device_owner": port.device_owner,
        "binding:vnic_type": port.vnic_type.value,
        "binding:host_id": port.binding_host_id or "",
        "binding:profile": dict(port.binding_profile),
        "binding:vif_type": port.vif_type,
        "binding:vif_details": _vif_details(record),
        "description": "",
        "tags": [],
        "security_groups": list(port.security_groups),
        "port_security_enabled": False,
    }


def security_group_rule_json(record: SecurityGroupRuleRecord) -> dict[str, JsonValue]:
    """A security group rule as Neutron shows it."""
    rule = record.rule
    return {
        "id": record.id,
        "security_group_id": record.security_group_id,
        "project_id": record.project_id,
        "tenant_id": record.project_id,
        "direction": rule.direction.value,
        "ethertype": rule.ethertype.value,
        "protocol": rule.protocol,
        "port_range_min": rule.port_range_min,
        "port_range_max": rule.port_range_max,
        "remote_ip_prefix": rule.remote_ip_prefix,
        "remote_group_id": rule.remote_group_id,
        "remote_address_group_id": None,
        "normalized_cidr": rule.normalized_cidr,
        "description": record.description,
        "tags": [],
        "created_at": _timestamp(record.created_at),
        "updated_at": _timestamp(record.updated_at),
        "revision_number": record.revision_number,
        "belongs_to_default_sg": record.belongs_to_default_sg,
    }


def security_group_json(record: SecurityGroupRecord) -> dict[str, JsonValue]:
    """A security group and its rules as Neutron shows them."""
    return {
        "id": record.id,
        "name": record.name,
        "description": record.description,
        "project_id": record.project_id,
        "tenant_id": record.project_id,
        "security_group_rules": [security_group_rule_json(rule) for rule in record.rules],
        "stateful": record.stateful,
        "shared": False,
        "tags": [],
        "created_at": _timestamp(record.created_at),
        "updated_at": _timestamp(record.updated_at),
        "revision_number": record.revision_number,
    }


def _timestamp(moment: datetime | None) -> str | None:
    return None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _vif_details(record: PortRecord) -> dict[str, JsonValue]:
    """The binding's details; a failed binding's say why (an offpath key: ML2 says it in logs)."""
    if record.port.vif_type == VifType.BINDING_FAILED.value and record.binding_failure:
        return {BINDING_FAILURE_DETAIL: record.binding_failure}
    return dict(record.port.vif_details)


def binding_json(binding: HostBinding) -> dict[str, JsonValue]:
    """A port binding as Neutron's binding-extended API shows it."""
    return {
        "host": binding.host,
        "vnic_type": binding.vnic_type.value,
        "profile": dict(binding.profile),
        "vif_type": binding.vif_type,
        "vif_details": dict(binding.vif_details),
        "status": binding.status.value,
    }


# -- reading responses (the client) ------------------------------------------------


def port_from_json(body: Mapping[str, JsonValue]) -> Port:
    """The `Port` of a Neutron port object; tolerant of what a real Neutron adds or leaves out."""
    profile = body.get("binding:profile")
    details = body.get("binding:vif_details")
    fixed = body.get("fixed_ips")
    groups = body.get("security_groups")
    return Port(
        id=str(body.get("id", "")),
        network_id=str(body.get("network_id", "")),
        vnic_type=VnicType.parse(body.get("binding:vnic_type")),
        binding_profile=dict(profile) if isinstance(profile, dict) else {},
        device_id=str(body.get("device_id") or ""),
        binding_host_id=str(body.get("binding:host_id") or "") or None,
        device_owner=str(body.get("device_owner") or ""),
        status=str(body.get("status") or "DOWN"),
        vif_type=str(body.get("binding:vif_type") or "unbound"),
        vif_details=dict(details) if isinstance(details, dict) else {},
        mac_address=str(body["mac_address"]) if body.get("mac_address") else None,
        fixed_ips=tuple(
            FixedIp(str(ip.get("subnet_id", "")), str(ip.get("ip_address", "")))
            for ip in (fixed if isinstance(fixed, list) else [])
            if isinstance(ip, dict)
        ),
        project_id=str(body.get("project_id") or body.get("tenant_id") or ""),
        security_groups=tuple(
            str(item) for item in (groups if isinstance(groups, list) else []) if item
        ),
    )


def binding_from_json(body: Mapping[str, JsonValue]) -> HostBinding:
    """The `HostBinding` of a Neutron port binding object; tolerant as `port_from_json`."""
    profile = body.get("profile")
    details = body.get("vif_details")
    active = body.get("status") == BindingStatus.ACTIVE.value
    return HostBinding(
        host=str(body.get("host") or ""),
        vnic_type=VnicType.parse(body.get("vnic_type")),
        profile=dict(profile) if isinstance(profile, dict) else {},
        vif_type=str(body.get("vif_type") or "unbound"),
        vif_details=dict(details) if isinstance(details, dict) else {},
        status=BindingStatus.ACTIVE if active else BindingStatus.INACTIVE,
    )


def network_from_json(body: Mapping[str, JsonValue]) -> Network:
    """The `Network` of a Neutron network object."""
    segments = body.get("segments")
    mtu = body.get("mtu")
    return Network(
        id=str(body.get("id", "")),
        physical_network=_opt_text(body.get("provider:physical_network")),
        network_type=_opt_text(body.get("provider:network_type")),
        segments=tuple(
            Segment(
                physical_network=_opt_text(item.get("provider:physical_network")),
                network_type=_opt_text(item.get("provider:network_type")),
                segmentation_id=_opt_int(item.get("provider:segmentation_id")),
            )
            for item in (segments if isinstance(segments, list) else [])
            if isinstance(item, dict)
        ),
        name=str(body.get("name") or ""),
        mtu=_opt_int(mtu),
    )


def _opt_text(value: JsonValue) -> str | None:
    return value if isinstance(value, str) and value else None


def _opt_int(value: JsonValue) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def chassis_json(
    chassis: Chassis, *, alive: bool, plugs: Sequence[RepresentorPlug]
) -> dict[str, JsonValue]:
    """A DPU chassis as offpath's APIs show it: its card, liveness and plugged representors."""
    return {
        "hostname": chassis.hostname,
        "card_serial_number": chassis.serial_item(),
        "other_config": dict(chassis.other_config),
        "pf_macs": list(chassis.pf_macs),
        "vfs": chassis.vfs,
        "up": chassis.up,
        "alive": alive,
        "heartbeat_at": chassis.heartbeat_at.isoformat(),
        "representors": [
            {
                "representor": plug.representor,
                "pf_mac": plug.pf_mac,
                "vf_num": plug.vf_num,
                "port_id": plug.port_id,
            }
            for plug in plugs
        ],
    }

"""Security groups as Nova's API shows and changes them: on the server's ports, in Neutron.

A server's `security_groups` are the groups of its ports, each name once;
Nova leaves the key out when no port has a group. A create may name
groups (`[{"name": ...}]`): each must be one of the caller's project's,
else Nova's 400. offpath boots with existing ports only and, as Nova does
for ports it did not create, leaves their groups as they are.
`addSecurityGroup` / `removeSecurityGroup` change the groups of every port
of the server.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from fastapi import Response

from offpath.api.deps import ApiDeps, PortsClient
from offpath.api.microversion import Microversion
from offpath.errors import (
    ComputeSecurityGroupNotFound,
    OffpathError,
    RequestBodyInvalid,
    SecurityGroupNotAssociated,
    SecurityGroupNotFoundForBoot,
)
from offpath.ports.port import Port
from offpath.rpc.context import RequestContext

LOG = logging.getLogger(__name__)
DEFAULT_GROUP = "default"


def requested_groups(value: object) -> list[str]:
    """The names of a create's `security_groups` (`[{"name": ...}]`); none when absent."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(
        isinstance(item, dict) and isinstance(item.get("name"), str) and item["name"]
        for item in value
    ):
        raise RequestBodyInvalid(
            "Invalid input for field/attribute security_groups: "
            'give a list of {"name": "<group name or id>"}'
        )
    return list(dict.fromkeys(str(item["name"]) for item in value))


def check_boot_groups(ports: PortsClient, ctx: RequestContext, names: Sequence[str]) -> None:
    """Nova's 400 for a group the caller's project does not have."""
    for name in names:
        if ports.find_security_group(name, project_id=ctx.project_id or "") is None:
            raise SecurityGroupNotFoundForBoot(name)


def group_names(ports: PortsClient, port_lists: Iterable[Sequence[Port]]) -> dict[str, str]:
    """The names of every group of these ports, in one request; none if the service fails."""
    ids = list(
        dict.fromkeys(g for found in port_lists for port in found for g in port.security_groups)
    )
    if not ids:
        return {}
    try:
        return ports.security_group_names(ids)
    except OffpathError as exc:
        LOG.warning("security group names not read: %s", exc.message)
        return {}


def shown_groups(ports: Sequence[Port], names: Mapping[str, str]) -> list[dict[str, str]]:
    """A server's `security_groups`: each group of its ports by name, once."""
    seen = dict.fromkeys(
        names.get(group, group) for port in ports for group in port.security_groups
    )
    return [{"name": name} for name in seen]


def _group_of(
    deps: ApiDeps, ctx: RequestContext, options: Mapping[str, Any], action: str
) -> tuple[str, str]:
    name = options.get("name")
    if not isinstance(name, str) or not name:
        raise RequestBodyInvalid(f"Invalid input for field/attribute {action}: give a name")
    project = ctx.project_id or ""
    found = deps.ports.find_security_group(name, project_id=project)
    if found is None:
        raise ComputeSecurityGroupNotFound(name, project)
    return name, found


def add_security_group(
    deps: ApiDeps, ctx: RequestContext, uuid: str, options: Mapping[str, Any], _v: Microversion
) -> Response:
    """Put the group on every port of the server (Nova's 404 when it has no port)."""
    name, group = _group_of(deps, ctx, options, "addSecurityGroup")
    ports = deps.ports.list_ports(device_id=uuid)
    if not ports:
        raise ComputeSecurityGroupNotFound(name, ctx.project_id or "")
    for port in ports:
        if group not in port.security_groups:
            deps.ports.set_port_security_groups(port.id, [*port.security_groups, group])
    return Response(status_code=202)


def remove_security_group(
    deps: ApiDeps, ctx: RequestContext, uuid: str, options: Mapping[str, Any], _v: Microversion
) -> Response:
    """Take the group off every port of the server that has it; Nova's 400 when none has."""
    name, group = _group_of(deps, ctx, options, "removeSecurityGroup")
    found = False
    for port in deps.ports.list_ports(device_id=uuid):
        if group in port.security_groups:
            kept = [g for g in port.security_groups if g != group]
            deps.ports.set_port_security_groups(port.id, kept)
            found = True
    if not found:
        raise SecurityGroupNotAssociated(name, uuid)
    return Response(status_code=202)

"""Neutron's policy on the network API: targets of its rules, attribute rules, hidden attributes.

A request that sets an attribute with a rule of its own must pass that rule
too (`(rule:create_port and rule:create_port:binding:profile)`), as Neutron
checks it; a read leaves out the attributes whose `get_<resource>:<attribute>`
rule refuses the caller. Another project's resource is never a 403: the
service does not show it, so it is a 404.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Final

from offpath.api.errors import HttpFault
from offpath.api.policy import Policy
from offpath.jsonvalue import JsonValue
from offpath.network.caller import Caller
from offpath.network.neutron_json import NetworkChanges, NetworkSpec, PortChanges, Unset
from offpath.network.records import NetworkRecord, PortRecord, SubnetRecord
from offpath.rpc.context import RequestContext

# A port change's field and the attribute Neutron's rules name it by.
_PORT_ATTRIBUTES: Final = {
    "host_id": "binding:host_id",
    "profile": "binding:profile",
    "vnic_type": "binding:vnic_type",
    "mac_address": "mac_address",
    "fixed_ips": "fixed_ips",
    "device_id": "device_id",
    "device_owner": "device_owner",
    "name": "name",
    "admin_state_up": "admin_state_up",
}
# Neutron's words (its "advsvc" is the service role now).
OTHER_PROJECT_REFUSED: Final = (
    "Specifying 'project_id' or 'tenant_id' other than the authenticated project "
    "in request requires admin or advsvc privileges"
)
# Attributes a port read shows only to whom their `get_port:<attribute>` rule allows.
HIDDEN_PORT_ATTRIBUTES: Final = (
    "binding:host_id",
    "binding:profile",
    "binding:vif_type",
    "binding:vif_details",
)


def check_project_choice(ctx: RequestContext, asked: str | None) -> None:
    """Neutron's 400, before any rule, for a create naming a project not the caller's.

    Only the admin and the services create in another project; Neutron refuses
    anyone else with a 400 rather than creating in the caller's own.
    """
    if asked is not None and asked != ctx.project_id and not caller_of(ctx).sees_all:
        raise HttpFault(400, OTHER_PROJECT_REFUSED, error_type="HTTPBadRequest")


def caller_of(ctx: RequestContext) -> Caller:
    """Whose resources the network service shows the caller: the admin and services see all."""
    return Caller(ctx.project_id, sees_all=ctx.is_admin or "service" in ctx.roles)


def network_target(network: NetworkRecord) -> dict[str, object]:
    """What a network rule reads of the network (`rule:shared` reads `shared`)."""
    return {
        "id": network.network.id,
        "project_id": network.project_id,
        "tenant_id": network.project_id,
        "shared": network.shared,
        "router:external": False,
    }


def security_group_target(project_id: str | None) -> dict[str, object]:
    """What a security group (or rule) rule reads: the group's project."""
    return {"project_id": project_id, "tenant_id": project_id}


def owned_target(project_id: str | None, network: NetworkRecord) -> dict[str, object]:
    """A subnet's or port's target: its project and its network's (`rule:network_owner`)."""
    return {
        "project_id": project_id,
        "tenant_id": project_id,
        "network:tenant_id": network.project_id,
        "network:project_id": network.project_id,
        "shared": network.shared,
    }


def port_target(port: PortRecord, network: NetworkRecord) -> dict[str, object]:
    """What a port rule reads of the port."""
    return owned_target(port.port.project_id, network)


def subnet_target(subnet: SubnetRecord, network: NetworkRecord) -> dict[str, object]:
    """What a subnet rule reads of the subnet."""
    return owned_target(subnet.project_id, network)


def new_resource_target(
    ctx: RequestContext, asked: str | None, network: NetworkRecord
) -> dict[str, object]:
    """A create's target: the project the body names, else the caller's."""
    return owned_target(asked or ctx.project_id, network)


def port_rules(policy: Policy, action: str, changes: PortChanges) -> list[str]:
    """`action` and the rules of the attributes `changes` sets that have one."""
    rules = [action]
    for item in fields(changes):
        if isinstance(getattr(changes, item.name), Unset):
            continue
        rule = f"{action}:{_PORT_ATTRIBUTES.get(item.name, item.name)}"
        if rule in policy.names:
            rules.append(rule)
    return rules


def network_create_rules(spec: NetworkSpec) -> list[str]:
    """`create_network` and the rules of the attributes set to other than their defaults."""
    rules = ["create_network"]
    if spec.shared:
        rules.append("create_network:shared")
    for attribute, value in (
        ("provider:network_type", spec.network_type),
        ("provider:physical_network", spec.physical_network),
        ("provider:segmentation_id", spec.segmentation_id),
    ):
        if value is not None:
            rules.append(f"create_network:{attribute}")
    if spec.segments:
        rules.append("create_network:segments")
    return rules


def network_update_rules(changes: NetworkChanges) -> list[str]:
    """`update_network`, and `update_network:shared` when the sharing changes."""
    return ["update_network"] + (
        [] if isinstance(changes.shared, Unset) else ["update_network:shared"]
    )


def shown_port(
    policy: Policy,
    ctx: RequestContext,
    body: Mapping[str, JsonValue],
    target: Mapping[str, object],
) -> dict[str, JsonValue]:
    """The port's body less the attributes the caller may not read."""
    shown = dict(body)
    for attribute in HIDDEN_PORT_ATTRIBUTES:
        if not policy.allows(ctx, f"get_port:{attribute}", target):
            shown.pop(attribute, None)
    return shown

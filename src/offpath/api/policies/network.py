"""The network API's rules: Neutron's names and current defaults, attribute rules included.

A request that sets an attribute with a rule of its own (`create_port:
binding:profile`) must pass both the action's rule and the attribute's, and
a read shows an attribute with a `get_...:<attribute>` rule only to whom it
allows: the binding's host, profile and VIF are the admin's and the
services' (Nova's) business. offpath's own agent and DPU reports are the
admin's and the services'.
"""

from __future__ import annotations

from typing import Final

from oslo_policy.policy import DocumentedRuleDefault

from offpath.api.policies.base import (
    ADMIN_ONLY,
    NETWORK_MEMBER,
    NETWORK_READER,
    PROJECT_MANAGER,
    PROJECT_MEMBER,
    PROJECT_READER,
    SERVICE,
)
from offpath.api.policies.documented import documented

NETWORKS: Final = "/networks"
NETWORK: Final = "/networks/{id}"
SUBNETS: Final = "/subnets"
SUBNET: Final = "/subnets/{id}"
PORTS: Final = "/ports"
PORT: Final = "/ports/{id}"
BINDINGS: Final = "/ports/{port_id}/bindings"
SECURITY_GROUPS: Final = "/security-groups"
SECURITY_GROUP: Final = "/security-groups/{id}"
SECURITY_GROUP_RULES: Final = "/security-group-rules"
SECURITY_GROUP_RULE: Final = "/security-group-rules/{id}"

ADMIN_OR_PROJECT_MEMBER: Final = f"{ADMIN_ONLY} or ({PROJECT_MEMBER})"
ADMIN_OR_SERVICE: Final = f"{ADMIN_ONLY} or ({SERVICE})"
VNIC_TYPE: Final = f"{ADMIN_ONLY} or ({PROJECT_MEMBER}) or {SERVICE}"


def _get_port_attribute(attribute: str) -> DocumentedRuleDefault:
    return documented(
        f"get_port:{attribute}",
        ADMIN_OR_SERVICE,
        f"Get ``{attribute}`` attribute of a port",
        ("GET", PORTS),
        ("GET", PORT),
    )


RULES: Final = (
    documented("create_network", ADMIN_OR_PROJECT_MEMBER, "Create a network", ("POST", NETWORKS)),
    documented(
        "create_network:shared", "rule:admin_only", "Create a shared network", ("POST", NETWORKS)
    ),
    *(
        documented(
            f"create_network:{attribute}",
            "rule:admin_only",
            f"Specify ``{attribute}`` when creating a network",
            ("POST", NETWORKS),
        )
        for attribute in (
            "provider:network_type",
            "provider:physical_network",
            "provider:segmentation_id",
            "segments",
        )
    ),
    documented(
        "get_network",
        f"{ADMIN_ONLY} or ({PROJECT_READER}) or {SERVICE} or rule:shared or rule:external "
        "or rule:context_is_advsvc",
        "Get a network",
        ("GET", NETWORKS),
        ("GET", NETWORK),
    ),
    documented("update_network", ADMIN_OR_PROJECT_MEMBER, "Update a network", ("PUT", NETWORK)),
    documented(
        "update_network:shared",
        "rule:admin_only",
        "Update ``shared`` attribute of a network",
        ("PUT", NETWORK),
    ),
    documented("delete_network", ADMIN_OR_PROJECT_MEMBER, "Delete a network", ("DELETE", NETWORK)),
    documented(
        "create_subnet", f"{ADMIN_ONLY} or ({NETWORK_MEMBER})", "Create a subnet", ("POST", SUBNETS)
    ),
    documented(
        "get_subnet",
        f"{ADMIN_ONLY} or ({PROJECT_READER}) or rule:shared",
        "Get a subnet",
        ("GET", SUBNETS),
        ("GET", SUBNET),
    ),
    documented(
        "update_subnet",
        f"{ADMIN_ONLY} or ({NETWORK_MEMBER})",
        "Update a subnet",
        ("PUT", SUBNET),
    ),
    documented(
        "delete_subnet",
        f"{ADMIN_ONLY} or ({NETWORK_MEMBER})",
        "Delete a subnet",
        ("DELETE", SUBNET),
    ),
    documented(
        "create_port",
        f"{ADMIN_ONLY} or ({SERVICE}) or {NETWORK_MEMBER} or {PROJECT_MEMBER}",
        "Create a port",
        ("POST", PORTS),
    ),
    documented(
        "create_port:fixed_ips",
        f"{ADMIN_ONLY} or ({SERVICE}) or {PROJECT_MANAGER} or {NETWORK_MEMBER}",
        "Specify ``fixed_ips`` information when creating a port",
        ("POST", PORTS),
    ),
    documented(
        "create_port:binding:host_id",
        ADMIN_OR_SERVICE,
        "Specify ``binding:host_id`` attribute when creating a port",
        ("POST", PORTS),
    ),
    documented(
        "create_port:binding:profile",
        SERVICE,
        "Specify ``binding:profile`` attribute when creating a port",
        ("POST", PORTS),
    ),
    documented(
        "create_port:binding:vnic_type",
        VNIC_TYPE,
        "Specify ``binding:vnic_type`` attribute when creating a port",
        ("POST", PORTS),
    ),
    documented(
        "get_port",
        f"{ADMIN_ONLY} or ({SERVICE}) or {NETWORK_READER} or {PROJECT_READER}",
        "Get a port",
        ("GET", PORTS),
        ("GET", PORT),
    ),
    _get_port_attribute("binding:vif_type"),
    _get_port_attribute("binding:vif_details"),
    _get_port_attribute("binding:host_id"),
    _get_port_attribute("binding:profile"),
    documented(
        "update_port",
        f"{ADMIN_ONLY} or ({SERVICE}) or {PROJECT_MEMBER}",
        "Update a port",
        ("PUT", PORT),
    ),
    documented(
        "update_port:device_id",
        f"{ADMIN_ONLY} or ({PROJECT_MEMBER}) or {SERVICE}",
        "Update ``device_id`` attribute of a port",
        ("PUT", PORT),
    ),
    documented(
        "update_port:mac_address",
        f"{ADMIN_ONLY} or ({SERVICE}) or {PROJECT_MANAGER}",
        "Update ``mac_address`` attribute of a port",
        ("PUT", PORT),
    ),
    documented(
        "update_port:binding:host_id",
        ADMIN_OR_SERVICE,
        "Update ``binding:host_id`` attribute of a port",
        ("PUT", PORT),
    ),
    documented(
        "update_port:binding:profile",
        SERVICE,
        "Update ``binding:profile`` attribute of a port",
        ("PUT", PORT),
    ),
    documented(
        "update_port:binding:vnic_type",
        VNIC_TYPE,
        "Update ``binding:vnic_type`` attribute of a port",
        ("PUT", PORT),
    ),
    documented(
        "delete_port",
        f"{ADMIN_ONLY} or ({SERVICE}) or {NETWORK_MEMBER} or {PROJECT_MEMBER}",
        "Delete a port",
        ("DELETE", PORT),
    ),
    documented(
        "get_port_binding",
        ADMIN_OR_SERVICE,
        "Get port binding information",
        ("GET", BINDINGS),
        ("GET", f"{BINDINGS}/{{host}}"),
    ),
    documented(
        "create_port_binding", SERVICE, "Create port binding on the host", ("POST", BINDINGS)
    ),
    documented(
        "activate",
        SERVICE,
        "Activate port binding on the host",
        ("PUT", f"{BINDINGS}/{{host}}/activate"),
    ),
    documented(
        "delete_port_binding",
        SERVICE,
        "Delete port binding on the host",
        ("DELETE", f"{BINDINGS}/{{host}}"),
    ),
    documented(
        "create_security_group",
        ADMIN_OR_PROJECT_MEMBER,
        "Create a security group",
        ("POST", SECURITY_GROUPS),
    ),
    documented(
        "get_security_group",
        # The service role: Nova reads a project's groups to boot and show its servers.
        f"{ADMIN_ONLY} or ({PROJECT_READER}) or {SERVICE}",
        "Get a security group",
        ("GET", SECURITY_GROUPS),
        ("GET", SECURITY_GROUP),
    ),
    documented(
        "update_security_group",
        ADMIN_OR_PROJECT_MEMBER,
        "Update a security group",
        ("PUT", SECURITY_GROUP),
    ),
    documented(
        "delete_security_group",
        ADMIN_OR_PROJECT_MEMBER,
        "Delete a security group",
        ("DELETE", SECURITY_GROUP),
    ),
    documented(
        "create_security_group_rule",
        ADMIN_OR_PROJECT_MEMBER,
        "Create a security group rule",
        ("POST", SECURITY_GROUP_RULES),
    ),
    documented(
        "get_security_group_rule",
        f"{ADMIN_ONLY} or ({PROJECT_READER}) or {SERVICE}",
        "Get a security group rule",
        ("GET", SECURITY_GROUP_RULES),
        ("GET", SECURITY_GROUP_RULE),
    ),
    documented(
        "delete_security_group_rule",
        ADMIN_OR_PROJECT_MEMBER,
        "Delete a security group rule",
        ("DELETE", SECURITY_GROUP_RULE),
    ),
    documented(
        "offpath:network:sriov_host:report",
        ADMIN_OR_SERVICE,
        "An SR-IOV NIC agent reports its host's physnets and its ports up",
        ("PUT", "/offpath/sriov-hosts/{host}"),
        ("POST", "/offpath/sriov-hosts/{host}/ports/{port_id}/up"),
    ),
    documented(
        "offpath:network:chassis:get",
        ADMIN_OR_SERVICE,
        "List or show the DPU chassis",
        ("GET", "/offpath/chassis"),
        ("GET", "/offpath/chassis/{hostname}"),
    ),
    documented(
        "offpath:network:chassis:update",
        ADMIN_OR_SERVICE,
        "Register a DPU chassis or mark it up or down",
        ("POST", "/offpath/chassis"),
        ("PUT", "/offpath/chassis/{hostname}"),
    ),
)

"""The compute API's rules: Nova's names and its current defaults (project personas, manager).

As in Nova 2025.1, a project's manager may cold and live migrate its
servers (the scheduler picks the host) and list their migrations; naming
the destination host stays the admin's.
"""

from __future__ import annotations

from typing import Final

from oslo_policy.policy import DocumentedRuleDefault

from offpath.api.policies.base import (
    ADMIN,
    PROJECT_MANAGER_OR_ADMIN,
    PROJECT_MEMBER_OR_ADMIN,
    PROJECT_READER_OR_ADMIN,
    SERVICE,
)
from offpath.api.policies.documented import documented

SERVERS: Final = "/servers"
# Nova's key pair rules: an admin, or the user whose key pairs they are.
ADMIN_OR_KEYPAIR_OWNER: Final = f"({ADMIN}) or user_id:%(user_id)s"
SERVER: Final = "/servers/{server_id}"
ACTION: Final = "/servers/{server_id}/action"


def _action(name: str, check_str: str, description: str, key: str) -> DocumentedRuleDefault:
    return documented(name, check_str, description, ("POST", f"{ACTION} ({key})"))


RULES: Final = (
    documented(
        "os_compute_api:servers:index",
        PROJECT_READER_OR_ADMIN,
        "List all servers",
        ("GET", SERVERS),
    ),
    documented(
        "os_compute_api:servers:detail",
        PROJECT_READER_OR_ADMIN,
        "List all servers with detailed information",
        ("GET", f"{SERVERS}/detail"),
    ),
    documented(
        "os_compute_api:servers:index:get_all_tenants",
        ADMIN,
        "List all servers for all projects",
        ("GET", SERVERS),
    ),
    documented(
        "os_compute_api:servers:detail:get_all_tenants",
        ADMIN,
        "List all servers with detailed information for all projects",
        ("GET", f"{SERVERS}/detail"),
    ),
    documented(
        "os_compute_api:servers:show", PROJECT_READER_OR_ADMIN, "Show a server", ("GET", SERVER)
    ),
    documented(
        "os_compute_api:os-extended-server-attributes",
        ADMIN,
        "Return extended attributes for server (OS-EXT-SRV-ATTR:host, hypervisor_hostname, "
        "instance_name)",
        ("GET", SERVER),
        ("GET", f"{SERVERS}/detail"),
        ("PUT", SERVER),
    ),
    documented(
        "os_compute_api:servers:show:host_status",
        ADMIN,
        "Show a server with additional host status information (microversion 2.16)",
        ("GET", SERVER),
        ("GET", f"{SERVERS}/detail"),
        ("PUT", SERVER),
    ),
    documented(
        "os_compute_api:servers:create",
        PROJECT_MEMBER_OR_ADMIN,
        "Create a server",
        ("POST", SERVERS),
    ),
    documented(
        "os_compute_api:servers:update",
        PROJECT_MEMBER_OR_ADMIN,
        "Update a server",
        ("PUT", SERVER),
    ),
    documented(
        "os_compute_api:servers:delete",
        PROJECT_MEMBER_OR_ADMIN,
        "Delete a server",
        ("DELETE", SERVER),
    ),
    documented(
        "os_compute_api:server-metadata:index",
        PROJECT_READER_OR_ADMIN,
        "List all metadata of a server",
        ("GET", f"{SERVER}/metadata"),
    ),
    documented(
        "os_compute_api:server-metadata:show",
        PROJECT_READER_OR_ADMIN,
        "Show metadata for a server",
        ("GET", f"{SERVER}/metadata/{{key}}"),
    ),
    documented(
        "os_compute_api:server-metadata:create",
        PROJECT_MEMBER_OR_ADMIN,
        "Create metadata for a server",
        ("POST", f"{SERVER}/metadata"),
    ),
    documented(
        "os_compute_api:server-metadata:update_all",
        PROJECT_MEMBER_OR_ADMIN,
        "Replace metadata for a server",
        ("PUT", f"{SERVER}/metadata"),
    ),
    documented(
        "os_compute_api:server-metadata:update",
        PROJECT_MEMBER_OR_ADMIN,
        "Update metadata from a server",
        ("PUT", f"{SERVER}/metadata/{{key}}"),
    ),
    documented(
        "os_compute_api:server-metadata:delete",
        PROJECT_MEMBER_OR_ADMIN,
        "Delete metadata for a server",
        ("DELETE", f"{SERVER}/metadata/{{key}}"),
    ),
    _action("os_compute_api:servers:start", PROJECT_MEMBER_OR_ADMIN, "Start a server", "os-start"),
    _action("os_compute_api:servers:stop", PROJECT_MEMBER_OR_ADMIN, "Stop a server", "os-stop"),
    _action("os_compute_api:servers:reboot", PROJECT_MEMBER_OR_ADMIN, "Reboot a server", "reboot"),
    _action("os_compute_api:servers:resize", PROJECT_MEMBER_OR_ADMIN, "Resize a server", "resize"),
    _action(
        "os_compute_api:servers:confirm_resize",
        PROJECT_MEMBER_OR_ADMIN,
        "Confirm a server resize",
        "confirmResize",
    ),
    _action(
        "os_compute_api:servers:revert_resize",
        PROJECT_MEMBER_OR_ADMIN,
        "Revert a server resize",
        "revertResize",
    ),
    _action(
        "os_compute_api:os-suspend-server:suspend",
        PROJECT_MEMBER_OR_ADMIN,
        "Suspend server",
        "suspend",
    ),
    _action(
        "os_compute_api:os-suspend-server:resume",
        PROJECT_MEMBER_OR_ADMIN,
        "Resume suspended server",
        "resume",
    ),
    _action("os_compute_api:os-shelve:shelve", PROJECT_MEMBER_OR_ADMIN, "Shelve server", "shelve"),
    _action(
        "os_compute_api:os-shelve:shelve_offload",
        ADMIN,
        "Shelf-offload (remove) server",
        "shelveOffload",
    ),
    _action(
        "os_compute_api:os-shelve:unshelve",
        PROJECT_MEMBER_OR_ADMIN,
        "Unshelve (restore) shelved server",
        "unshelve",
    ),
    _action(
        "os_compute_api:os-shelve:unshelve_to_host",
        ADMIN,
        "Unshelve (restore) shelve offloaded server to a specific host",
        "unshelve",
    ),
    _action(
        "os_compute_api:os-admin-actions:reset_state",
        ADMIN,
        "Reset the state of a given server",
        "os-resetState",
    ),
    _action(
        "os_compute_api:os-admin-actions:inject_network_info",
        ADMIN,
        "Inject network information into the server",
        "injectNetworkInfo",
    ),
    _action(
        "os_compute_api:os-evacuate",
        ADMIN,
        "Evacuate a server from a failed host to a new host",
        "evacuate",
    ),
    _action(
        "os_compute_api:os-migrate-server:migrate",
        PROJECT_MANAGER_OR_ADMIN,
        "Cold migrate a server without specifying a host",
        "migrate",
    ),
    _action(
        "os_compute_api:os-migrate-server:migrate:host",
        ADMIN,
        "Cold migrate a server to a specified host",
        "migrate",
    ),
    _action(
        "os_compute_api:os-migrate-server:migrate_live",
        PROJECT_MANAGER_OR_ADMIN,
        "Live migrate a server to a new host without a reboot without specifying a host.",
        "os-migrateLive",
    ),
    _action(
        "os_compute_api:os-migrate-server:migrate_live:host",
        ADMIN,
        "Live migrate a server to a specified host without a reboot.",
        "os-migrateLive",
    ),
    documented(
        "os_compute_api:os-attach-interfaces:list",
        PROJECT_READER_OR_ADMIN,
        "List port interfaces attached to a server",
        ("GET", f"{SERVER}/os-interface"),
    ),
    documented(
        "os_compute_api:os-attach-interfaces:show",
        PROJECT_READER_OR_ADMIN,
        "Show details of a port interface attached to a server",
        ("GET", f"{SERVER}/os-interface/{{port_id}}"),
    ),
    documented(
        "os_compute_api:os-security-groups:add",
        PROJECT_MEMBER_OR_ADMIN,
        "Add security groups to server",
        ("POST", f"{SERVER}/action (addSecurityGroup)"),
    ),
    documented(
        "os_compute_api:os-security-groups:remove",
        PROJECT_MEMBER_OR_ADMIN,
        "Remove security groups from server",
        ("POST", f"{SERVER}/action (removeSecurityGroup)"),
    ),
    documented(
        "os_compute_api:os-attach-interfaces:create",
        PROJECT_MEMBER_OR_ADMIN,
        "Attach an interface to a server",
        ("POST", f"{SERVER}/os-interface"),
    ),
    documented(
        "os_compute_api:os-attach-interfaces:delete",
        PROJECT_MEMBER_OR_ADMIN,
        "Detach an interface from a server",
        ("DELETE", f"{SERVER}/os-interface/{{port_id}}"),
    ),
    documented(
        "os_compute_api:os-instance-actions:list",
        PROJECT_READER_OR_ADMIN,
        "List actions for a server.",
        ("GET", f"{SERVER}/os-instance-actions"),
    ),
    documented(
        "os_compute_api:os-instance-actions:show",
        PROJECT_READER_OR_ADMIN,
        "Show action details for a server.",
        ("GET", f"{SERVER}/os-instance-actions/{{request_id}}"),
    ),
    documented(
        "os_compute_api:os-instance-actions:events:details",
        ADMIN,
        'Add "details" key in action events for a server (from 2.84).',
        ("GET", f"{SERVER}/os-instance-actions/{{request_id}}"),
    ),
    documented(
        "os_compute_api:os-migrations:index",
        PROJECT_MANAGER_OR_ADMIN,
        "List migrations without host info",
        ("GET", "/os-migrations"),
    ),
    documented(
        "os_compute_api:os-migrations:index:host",
        ADMIN,
        "List migrations with host info",
        ("GET", "/os-migrations"),
    ),
    documented(
        "os_compute_api:os-migrations:index:all_projects",
        ADMIN,
        "List migrations for all or cross projects",
        ("GET", "/os-migrations"),
    ),
    documented(
        "os_compute_api:servers:migrations:index",
        PROJECT_MANAGER_OR_ADMIN,
        "Lists in-progress live migrations for a given server without host info.",
        ("GET", f"{SERVER}/migrations"),
    ),
    documented(
        "os_compute_api:servers:migrations:show",
        ADMIN,
        "Show details for an in-progress live migration for a given server",
        ("GET", f"{SERVER}/migrations/{{migration_id}}"),
    ),
    documented(
        "os_compute_api:os-services:list",
        ADMIN,
        "List all running Compute services in a region.",
        ("GET", "/os-services"),
    ),
    documented(
        "os_compute_api:os-services:update",
        ADMIN,
        "Update a Compute service.",
        ("PUT", "/os-services/{service_id}"),
    ),
    documented(
        "os_compute_api:os-hypervisors:list",
        ADMIN,
        "List all hypervisors.",
        ("GET", "/os-hypervisors"),
    ),
    documented(
        "os_compute_api:os-hypervisors:list-detail",
        ADMIN,
        "List all hypervisors with details",
        ("GET", "/os-hypervisors/detail"),
    ),
    documented(
        "os_compute_api:os-hypervisors:statistics",
        ADMIN,
        "Show summary statistics for all hypervisors over all compute nodes.",
        ("GET", "/os-hypervisors/statistics"),
    ),
    documented(
        "os_compute_api:os-hypervisors:show",
        ADMIN,
        "Show details for a hypervisor.",
        ("GET", "/os-hypervisors/{hypervisor_id}"),
    ),
    documented(
        "os_compute_api:os-hypervisors:uptime",
        ADMIN,
        "Show the uptime of a hypervisor.",
        ("GET", "/os-hypervisors/{hypervisor_id}/uptime"),
    ),
    documented(
        "os_compute_api:os-hypervisors:search",
        ADMIN,
        "Search hypervisor by hypervisor_hostname pattern.",
        ("GET", "/os-hypervisors/{hypervisor_hostname_pattern}/search"),
    ),
    documented(
        "os_compute_api:os-hypervisors:servers",
        ADMIN,
        "List all servers on hypervisors that can match the provided hypervisor_hostname pattern.",
        ("GET", "/os-hypervisors/{hypervisor_hostname_pattern}/servers"),
    ),
    documented(
        "os_compute_api:os-flavor-manage:create",
        ADMIN,
        "Create a flavor",
        ("POST", "/flavors"),
    ),
    documented(
        "os_compute_api:os-flavor-manage:delete",
        ADMIN,
        "Delete a flavor",
        ("DELETE", "/flavors/{flavor_id}"),
    ),
    documented(
        "os_compute_api:os-flavor-extra-specs:index",
        PROJECT_READER_OR_ADMIN,
        "List extra specs for a flavor.",
        ("GET", "/flavors/{flavor_id}/os-extra_specs"),
    ),
    documented(
        "os_compute_api:os-flavor-extra-specs:show",
        PROJECT_READER_OR_ADMIN,
        "Show an extra spec for a flavor",
        ("GET", "/flavors/{flavor_id}/os-extra_specs/{flavor_extra_spec_key}"),
    ),
    documented(
        "os_compute_api:os-flavor-extra-specs:create",
        ADMIN,
        "Create extra specs for a flavor",
        ("POST", "/flavors/{flavor_id}/os-extra_specs"),
    ),
    documented(
        "os_compute_api:os-flavor-extra-specs:update",
        ADMIN,
        "Update an extra spec for a flavor",
        ("PUT", "/flavors/{flavor_id}/os-extra_specs/{flavor_extra_spec_key}"),
    ),
    documented(
        "os_compute_api:os-flavor-extra-specs:delete",
        ADMIN,
        "Delete an extra spec for a flavor",
        ("DELETE", "/flavors/{flavor_id}/os-extra_specs/{flavor_extra_spec_key}"),
    ),
    documented(
        "os_compute_api:os-server-external-events:create",
        SERVICE,
        "Create one or more external events",
        ("POST", "/os-server-external-events"),
    ),
    documented(
        "os_compute_api:os-keypairs:index",
        ADMIN_OR_KEYPAIR_OWNER,
        "List all keypairs",
        ("GET", "/os-keypairs"),
    ),
    documented(
        "os_compute_api:os-keypairs:create",
        ADMIN_OR_KEYPAIR_OWNER,
        "Create a keypair",
        ("POST", "/os-keypairs"),
    ),
    documented(
        "os_compute_api:os-keypairs:delete",
        ADMIN_OR_KEYPAIR_OWNER,
        "Delete a keypair",
        ("DELETE", "/os-keypairs/{keypair_name}"),
    ),
    documented(
        "os_compute_api:os-keypairs:show",
        ADMIN_OR_KEYPAIR_OWNER,
        "Show details of a keypair",
        ("GET", "/os-keypairs/{keypair_name}"),
    ),
)

"""The base rules the API rules are written with: personas of a project, the admin, the services.

Nova's and Neutron's base rule names share one registry; where both
projects define a name (`context_is_admin`, `service_api`) the defaults
are the same.
"""

from __future__ import annotations

from typing import Final

from oslo_policy.policy import RuleDefault

from offpath.api.policies import field

# Nova's composites, as its API rules name them.
ADMIN: Final = "rule:context_is_admin"
PROJECT_READER_OR_ADMIN: Final = "rule:project_reader_or_admin"
PROJECT_MEMBER_OR_ADMIN: Final = "rule:project_member_or_admin"
PROJECT_MANAGER_OR_ADMIN: Final = "rule:project_manager_or_admin"
SERVICE_OR_ADMIN: Final = "rule:service_or_admin"

# Neutron's pieces, as its API rules combine them.
ADMIN_ONLY: Final = "(rule:admin_only)"
SERVICE: Final = "rule:service_api"
PROJECT_MEMBER: Final = "role:member and project_id:%(project_id)s"
PROJECT_READER: Final = "role:reader and project_id:%(project_id)s"
PROJECT_MANAGER: Final = "role:manager and project_id:%(project_id)s"
NETWORK_MEMBER: Final = "role:member and rule:network_owner"
NETWORK_READER: Final = "role:reader and rule:network_owner"

# Read before the rules below: `rule:shared` is written with it.
FIELD_CHECK: Final = field.FieldCheck

RULES: Final = (
    # Nova
    RuleDefault(
        "context_is_admin",
        "role:admin",
        "Decides what is required for the 'is_admin:True' check to succeed.",
    ),
    RuleDefault("admin_api", "is_admin:True", "Default rule for most Admin APIs."),
    RuleDefault(
        "project_manager_api",
        "role:manager and project_id:%(project_id)s",
        "Default rule for Project level management APIs.",
    ),
    RuleDefault(
        "project_member_api",
        "role:member and project_id:%(project_id)s",
        "Default rule for Project level non admin APIs.",
    ),
    RuleDefault(
        "project_reader_api",
        "role:reader and project_id:%(project_id)s",
        "Default rule for Project level read only APIs.",
    ),
    RuleDefault("service_api", "role:service", "Default rule for service-to-service APIs."),
    RuleDefault(
        "project_manager_or_admin",
        "rule:project_manager_api or rule:context_is_admin",
        "Default rule for Project Manager or admin APIs.",
    ),
    RuleDefault(
        "project_member_or_admin",
        "rule:project_member_api or rule:context_is_admin",
        "Default rule for Project Member or admin APIs.",
    ),
    RuleDefault(
        "project_reader_or_admin",
        "rule:project_reader_api or rule:context_is_admin",
        "Default rule for Project reader or admin APIs.",
    ),
    RuleDefault(
        "service_or_admin",
        "rule:service_api or rule:context_is_admin",
        "Default rule for a service or admin APIs.",
    ),
    # Neutron
    RuleDefault("admin_only", "rule:context_is_admin", "Rule for admin-only access."),
    RuleDefault("owner", "project_id:%(project_id)s", "Rule for resource owner access."),
    RuleDefault(
        "admin_or_owner", "rule:context_is_admin or rule:owner", "Rule for admin or owner access."
    ),
    RuleDefault(
        "network_owner",
        "tenant_id:%(network:tenant_id)s",
        "Rule of the owner of the network a resource is on.",
    ),
    RuleDefault(
        "admin_or_network_owner",
        "rule:context_is_admin or tenant_id:%(network:tenant_id)s",
        "Rule for admin or network owner access.",
    ),
    RuleDefault("context_is_advsvc", "role:advsvc", "Rule for advanced services."),
    RuleDefault("shared", "field:networks:shared=True", "Rule of shared network."),
    RuleDefault("external", "field:networks:router:external=True", "Rule of external network."),
    RuleDefault("default", "rule:admin_or_owner", "Default access rule."),
)

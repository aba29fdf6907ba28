"""Every policy rule the API enforces, with its default: Nova's, Neutron's, Glance's, offpath's."""

from __future__ import annotations

from typing import Final

from oslo_policy.policy import RuleDefault

from offpath.api.policies import admin, base, compute, image, network

RULES: Final[tuple[RuleDefault, ...]] = (
    *base.RULES,
    *compute.RULES,
    *network.RULES,
    *image.RULES,
    *admin.RULES,
)

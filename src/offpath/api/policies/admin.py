"""offpath's own admin API (`/offpath/v1`): hosts, devices, pools, explain, chassis; the admin's."""

from __future__ import annotations

from typing import Final

from offpath.api.policies.base import ADMIN
from offpath.api.policies.documented import documented

RULES: Final = (
    documented(
        "offpath:admin:hosts:get",
        ADMIN,
        "List the compute hosts, or show one with its devices (and why not) and pools",
        ("GET", "/offpath/v1/hosts"),
        ("GET", "/offpath/v1/hosts/{host}"),
        ("GET", "/offpath/v1/hosts/{host}/devices"),
        ("GET", "/offpath/v1/hosts/{host}/pools"),
    ),
    documented(
        "offpath:admin:pools:get",
        ADMIN,
        "List every host's device pools",
        ("GET", "/offpath/v1/pools"),
    ),
    documented(
        "offpath:admin:schedule:explain",
        ADMIN,
        "Explain which hosts could serve a hypothetical request, and why not the others",
        ("POST", "/offpath/v1/schedule/explain"),
    ),
    documented(
        "offpath:admin:chassis:get",
        ADMIN,
        "List the DPU chassis as the compute side sees them",
        ("GET", "/offpath/v1/chassis"),
    ),
)

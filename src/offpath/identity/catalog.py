"""The service catalog a token carries: compute, network, image and identity, per interface.

The bootstrap stores it from the public endpoint when one is configured;
without one, each token's catalog points where its request came in, as the
version documents' links already do.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from offpath.identity.records import Endpoint
from offpath.jsonvalue import JsonValue

DEFAULT_REGION: Final = "RegionOne"
INTERFACES: Final = ("public", "internal", "admin")
# (type, name, path under the base URL): what openstacksdk and the CLI look up.
SERVICES: Final = (
    ("compute", "nova", "/compute/v2.1"),
    ("network", "neutron", "/network"),
    ("image", "glance", "/image"),
    ("identity", "keystone", "/identity/v3"),
)


def endpoints_at(base: str, *, region: str = DEFAULT_REGION) -> list[Endpoint]:
    """Every service of offpath at `base`, on each interface."""
    root = base.rstrip("/")
    return [
        Endpoint(kind, name, interface, region, f"{root}{path}")
        for kind, name, path in SERVICES
        for interface in INTERFACES
    ]


def catalog_json(endpoints: Sequence[Endpoint]) -> list[JsonValue]:
    """The `catalog` of a token body, one entry per service type."""
    services: dict[str, list[Endpoint]] = {}
    for endpoint in endpoints:
        services.setdefault(endpoint.service_type, []).append(endpoint)
    catalog: list[JsonValue] = []
    for kind, entries in services.items():
        catalog.append(
            {
                "id": f"{kind}-service",
                "type": kind,
                "name": entries[0].service_name,
                "endpoints": [
                    {
                        "id": f"{kind}-{entry.interface}-{entry.region}",
                        "interface": entry.interface,
                        "region_id": entry.region,
                        "region": entry.region,
                        "url": entry.url,
                    }
                    for entry in entries
                ],
            }
        )
    return catalog

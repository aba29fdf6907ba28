"""What Tempest expects a cloud to have before it starts: two images, two flavors, a network.

Made through the HTTP API as the bootstrap admin, as an operator would.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import httpx

from offpath.service_token import PasswordCredentials, login

PHYSNET: Final = "physnet1"
# Tempest's images are never booted by a real hypervisor here: a few bytes do.
IMAGE_DATA: Final = b"offpath-tempest-image\n" * 64
TIMEOUT: Final = 30.0


@dataclass(frozen=True, slots=True)
class Seeded:
    """The ids tempest.conf names."""

    image: str
    image_alt: str
    flavor: str
    flavor_alt: str
    network: str


def admin_token(base: str, *, password: str) -> str:
    """A project-scoped token of the bootstrap admin (`admin` in project `admin`)."""
    admin = PasswordCredentials(f"{base}/identity/v3", "admin", password, "admin")
    return login(admin, timeout=TIMEOUT).token


def seed(base: str, token: str) -> Seeded:
    """Create the images, flavors and the shared network for direct ports."""
    with httpx.Client(base_url=base, headers={"X-Auth-Token": token}, timeout=TIMEOUT) as api:
        images = [_image(api, name) for name in ("tempest-image", "tempest-image-alt")]
        flavors = [
            _flavor(api, "42", "m1.nano", ram=128),
            _flavor(api, "84", "m1.micro", ram=192),
        ]
        network = _call(
            api,
            "POST",
            "/network/v2.0/networks",
            {
                "network": {
                    "name": "tempest-direct",
                    "shared": True,
                    "provider:network_type": "vlan",
                    "provider:physical_network": PHYSNET,
                    "provider:segmentation_id": 100,
                }
            },
        )["network"]["id"]
        _call(
            api,
            "POST",
            "/network/v2.0/subnets",
            {
                "subnet": {
                    "name": "tempest-direct-v4",
                    "network_id": network,
                    "ip_version": 4,
                    "cidr": "10.100.0.0/24",
                }
            },
        )
    return Seeded(images[0], images[1], flavors[0], flavors[1], network)


def _image(api: httpx.Client, name: str) -> str:
    image = _call(
        api,
        "POST",
        "/image/v2/images",
        {"name": name, "visibility": "public", "disk_format": "qcow2", "container_format": "bare"},
    )
    upload = api.put(
        f"/image/v2/images/{image['id']}/file",
        content=IMAGE_DATA,
        headers={"Content-Type": "application/octet-stream"},
    )
    upload.raise_for_status()
    return str(image["id"])


def _flavor(api: httpx.Client, flavor_id: str, name: str, *, ram: int) -> str:
    body = {"flavor": {"id": flavor_id, "name": name, "ram": ram, "vcpus": 1, "disk": 1}}
    return str(_call(api, "POST", "/compute/v2.1/flavors", body)["flavor"]["id"])


def _call(api: httpx.Client, method: str, path: str, body: dict[str, Any]) -> Any:
    answer = api.request(method, path, json=body)
    if answer.is_error:
        raise RuntimeError(f"{method} {path}: {answer.status_code} {answer.text}")
    return answer.json()

"""The cloud the declarative stories run against, and the values they may name as `$ENVIRON`.

Three simulated hosts: two BlueField-2 (a live migration has somewhere to
go) and a ConnectX-6 Dx without a DPU. Three Keystone logins by password:
the admin (with the service role, as Nova's own calls carry), a member of
the admin project, and a member of another project.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import httpx

from offpath.db.engine import open_engine
from offpath.identity.directory import IdentityDirectory
from offpath.service_token import login_body
from tests.e2e.cloud import OTHER_PASSWORD, running_cloud

DPU_HOST_A: Final = "bfa"
DPU_HOST_B: Final = "bfb"
NIC_HOST: Final = "cx"
HOSTS: Final = (
    f"{DPU_HOST_A}=bluefield2,vfs=1",
    f"{DPU_HOST_B}=bluefield2,vfs=1",
    f"{NIC_HOST}=cx6dx,vfs=1",
)
MEMBER_PASSWORD: Final = "member-secret"
PHYSNET: Final = "physnet1"


@dataclass(frozen=True, slots=True)
class StoryCloud:
    """A client with no credentials of its own (steps send a token), and the `$ENVIRON` values."""

    client: httpx.Client
    environ: dict[str, str]


@contextmanager
def story_cloud(state_dir: Path) -> Iterator[StoryCloud]:
    """A fresh cloud for one story file; stopped after it."""
    with running_cloud(state_dir, HOSTS) as cloud:
        engine = open_engine(cloud.cloud.config.api_database_url)
        try:
            directory = IdentityDirectory(engine)
            directory.create_user("member", password=MEMBER_PASSWORD)
            directory.add_role("member", user="member", project="admin")
        finally:
            engine.dispose()
        net = cloud.sdk.network
        overlay = net.create_network(name="overlay", provider_network_type="geneve")
        net.create_subnet(network_id=overlay.id, ip_version=4, cidr="10.0.0.0/24")
        vlan = net.create_network(
            name="vlan",
            provider_network_type="vlan",
            provider_physical_network=PHYSNET,
            provider_segmentation_id=101,
        )
        net.create_subnet(network_id=vlan.id, ip_version=4, cidr="10.1.0.0/24")
        with httpx.Client(base_url=cloud.endpoints.base, timeout=10.0) as client:
            password = cloud.endpoints.admin_password
            assert password is not None, "the cloud wrote no admin password"
            environ = {
                "ADMIN_TOKEN": login(client, "admin", password, project="admin"),
                "MEMBER_TOKEN": login(client, "member", MEMBER_PASSWORD, project="admin"),
                "OTHER_TOKEN": login(client, "other", OTHER_PASSWORD, project="other"),
                "NETWORK_ID": overlay.id,
                "VLAN_NETWORK_ID": vlan.id,
                "FLAVOR_ID": cloud.flavor_id,
                "IMAGE_ID": cloud.image_id,
                "DPU_HOST_A": DPU_HOST_A,
                "DPU_HOST_B": DPU_HOST_B,
                "NIC_HOST": NIC_HOST,
                "PHYSNET": PHYSNET,
            }
            yield StoryCloud(client, environ)


def login(client: httpx.Client, user: str, password: str, *, project: str) -> str:
    """A Keystone v3 token for `user` scoped to `project`, by password."""
    response = client.post("/identity/v3/auth/tokens", json=login_body(user, password, project))
    assert response.status_code == 201, (user, response.status_code, response.text)
    return response.headers["X-Subject-Token"]

"""The `openstack` CLI, unchanged, with a clouds.yaml of admin_token and endpoint overrides.

The network service is another part's; a stub of its two reads the CLI
makes (discovery and port show), mounted as an extra router, stands in.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request

from offpath.api.app import create_app
from offpath.conductor.port_directory import PortRecords
from offpath.sim.fleet import fleet_reports
from tests.api.world import TOKEN, World, serving

OPENSTACK = Path(sys.executable).with_name("openstack")


def _neutron_stub(ports: PortRecords) -> APIRouter:
    router = APIRouter()

    @router.get("")
    def versions(request: Request) -> dict[str, Any]:
        href = f"{request.base_url}network/v2.0/"
        return {
            "versions": [
                {"id": "v2.0", "status": "CURRENT", "links": [{"rel": "self", "href": href}]}
            ]
        }

    @router.get("/v2.0/ports/{port_id}")
    def show_port(port_id: str) -> dict[str, Any]:
        port = ports.show_port(port_id)
        return {"port": {"id": port.id, "name": "", "network_id": port.network_id}}

    return router


def _clouds(base: str, path: Path) -> Path:
    path.write_text(
        "clouds:\n  dpu:\n    auth_type: admin_token\n    auth:\n"
        f"      token: {TOKEN}\n      endpoint: {base}/compute/v2.1\n"
        f"    compute_endpoint_override: {base}/compute/v2.1\n"
        f"    network_endpoint_override: {base}/network\n"
        f"    image_endpoint_override: {base}/image\n"
        f"    identity_endpoint_override: {base}/identity/v3\n"
    )
    return path


def test_the_cli_creates_lists_shows_and_deletes_a_server(world: World, tmp_path: Path) -> None:
    world.cluster.report(fleet_reports(2, vfs=2))
    world.flavor("m1.small")
    port = world.port()
    deps = world.app.state.deps
    deps.extra_routers = [("/network", _neutron_stub(world.cluster.ports))]
    (tmp_path / "disk.img").write_bytes(b"\0" * 64)
    with serving(create_app(deps)) as base:
        env = dict(
            os.environ,
            OS_CLIENT_CONFIG_FILE=str(_clouds(base, tmp_path / "clouds.yaml")),
            OS_CLOUD="dpu",
        )

        def openstack(*args: str) -> Any:
            done = subprocess.run(
                [str(OPENSTACK), *args, "-f", "json"],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert done.returncode == 0, done.stderr
            return json.loads(done.stdout) if done.stdout.strip() else None

        openstack(
            "image",
            "create",
            "--disk-format",
            "raw",
            "--file",
            str(tmp_path / "disk.img"),
            "cirros",
        )
        created = openstack(
            "server", "create", "--flavor", "m1.small", "--image", "cirros",
            "--nic", f"port-id={port}", "vm1",
        )  # fmt: skip
        assert created["status"] == "BUILD"
        (listed,) = openstack("server", "list")
        assert (listed["Name"], listed["Image"], listed["Flavor"]) == ("vm1", "cirros", "m1.small")
        shown = openstack("server", "show", "vm1")
        assert shown["OS-EXT-SRV-ATTR:host"] in {"compute-00001", "compute-00002"}
        services = openstack("compute", "service", "list")
        assert {(s["Host"], s["State"]) for s in services} == {
            ("compute-00001", "up"),
            ("compute-00002", "up"),
        }
        subprocess.run([str(OPENSTACK), "server", "delete", "vm1"], env=env, check=True, timeout=60)
        assert openstack("server", "list") == []

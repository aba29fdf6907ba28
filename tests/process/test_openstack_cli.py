"""The `openstack` CLI, unchanged, against `offpath serve` and the clouds.yaml it writes.

`offpath serve` runs as a process (embedded default: SQLite, in-process
queue) with one simulated BlueField-2; every CLI command is a process too,
driven through the real network service, image service and compute API.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from offpath.ports.profile import REMOTE_MANAGED_KEYS
from offpath.version import COMPUTE_BINARY
from tests.process.cluster import Process, assert_all_ended, start_process, wait_for_serve

OPENSTACK = Path(sys.executable).with_name("openstack")
HOST = "dpu-cli"
# Nova's remote-managed profile (§5.2): the PCI keys and the DPU's three.
PROFILE_KEYS = {"pci_vendor_info", "pci_slot", "physical_network", *REMOTE_MANAGED_KEYS}


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Process, Path]]:
    """`offpath serve --port 0 --sim-host` in a state dir; stopped by PID afterwards."""
    state = tmp_path / "state"
    serve = start_process(
        tmp_path,
        "serve",
        *("serve", "--state-dir", str(state), "--port", "0"),
        *("--sim-host", f"{HOST}=bluefield2,vfs=2"),
    )
    try:
        wait_for_serve(serve, timeout=60)
        yield serve, state
    finally:
        assert serve.stop(timeout=15) == 0, serve.log.read_text(errors="replace")
        assert_all_ended([serve])


def test_the_cli_boots_shows_and_deletes_a_remote_managed_server(
    served: tuple[Process, Path], tmp_path: Path
) -> None:
    serve, state = served
    env = dict(os.environ, OS_CLIENT_CONFIG_FILE=str(state / "clouds.yaml"), OS_CLOUD="offpath")

    def openstack(*args: str, output: bool = True) -> Any:
        done = subprocess.run(
            [str(OPENSTACK), "--os-cloud", "offpath", *args, *(("-f", "json") if output else ())],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, f"{args}: {done.stderr}\n{serve.log.read_text()}"
        return json.loads(done.stdout) if output else None

    network = openstack("network", "create", "--provider-network-type", "geneve", "overlay")
    assert network["provider:network_type"] == "geneve"
    subnet = openstack(
        "subnet", "create", "--network", "overlay", "--subnet-range", "10.0.0.0/24", "sub"
    )
    assert subnet["network_id"] == network["id"]
    port = openstack(
        "port", "create", "--network", "overlay", "--vnic-type", "remote-managed", "p1"
    )
    assert port["binding_vnic_type"] == "remote-managed"
    (tmp_path / "disk.img").write_bytes(b"\0" * 64)
    image = openstack(
        "image", "create", "--disk-format", "raw", "--file", str(tmp_path / "disk.img"), "cirros"
    )
    assert image["status"] == "active"
    flavor = openstack("flavor", "create", "--ram", "512", "--vcpus", "1", "m1.tiny")
    assert flavor["name"] == "m1.tiny"

    server = openstack(
        "server", "create", "--port", "p1", "--image", "cirros", "--flavor", "m1.tiny",
        "--wait", "vm1",
    )  # fmt: skip
    assert server["status"] == "ACTIVE"
    (listed,) = openstack("server", "list")
    assert (listed["Name"], listed["Status"], listed["Image"], listed["Flavor"]) == (
        "vm1", "ACTIVE", "cirros", "m1.tiny",
    )  # fmt: skip
    shown = openstack("server", "show", "vm1")
    assert shown["OS-EXT-SRV-ATTR:host"] == HOST
    bound = openstack("port", "show", "p1")
    assert bound["status"] == "ACTIVE"
    assert bound["binding_host_id"] == HOST
    assert bound["device_id"] == server["id"]
    assert set(bound["binding_profile"]) == PROFILE_KEYS
    assert bound["binding_profile"]["physical_network"] is None

    openstack("server", "delete", "--wait", "vm1", output=False)
    assert openstack("server", "list") == []
    unbound = openstack("port", "show", "p1")
    assert (unbound["binding_host_id"], unbound["device_id"]) == ("", "")
    assert not set(unbound["binding_profile"]) & PROFILE_KEYS

    services = openstack("compute", "service", "list")
    assert {(s["Binary"], s["Host"], s["State"]) for s in services} >= {
        (COMPUTE_BINARY, HOST, "up")
    }
    hypervisors = openstack("hypervisor", "list")
    assert [h["Hypervisor Hostname"] for h in hypervisors] == [HOST]

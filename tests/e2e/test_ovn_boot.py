"""Remote-managed boots through OVN, end to end with openstacksdk: options, claims, failures."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from openstack.network.v2.network import Network

from offpath.network.ovn.backend import OvnBackend
from offpath.network.ovn.sim_controller import SimOvnController
from offpath.sim.dpu import SimDpu
from tests.e2e.cloud import Cloud, running_cloud, wait_for

HOST = "bf2"
DPU = f"{HOST}-dpu0"
# Short timeouts: a port that never comes up fails its boot in seconds, a silent DPU dies in 2 s.
CONFIG = "[DEFAULT]\nvif_plugging_timeout = 4\nagent_down_time = 2\n"


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    """A cloud on its own OVN with one BlueField-2 host (two PFs, two VFs each)."""
    with running_cloud(
        tmp_path_factory.mktemp("ovn-cloud"), [f"{HOST}=bluefield2,vfs=2"], config=CONFIG, ovn=True
    ) as running:
        yield running


@pytest.fixture(scope="module")
def overlay(cloud: Cloud) -> Network:
    network = cloud.sdk.network.create_network(name="overlay", provider_network_type="geneve")
    cloud.sdk.network.create_subnet(network_id=network.id, ip_version=4, cidr="10.0.0.0/24")
    return network


@pytest.fixture
def clean(cloud: Cloud) -> Iterator[Cloud]:
    """The shared cloud, its DPU answering again and every VF free after each test."""
    yield cloud
    for server in list(cloud.sdk.compute.servers()):
        cloud.delete(server)
    (dpu,) = cloud.cloud.ovn_dpus
    dpu.come_back()
    cloud.all_free(HOST)


def backend(cloud: Cloud) -> OvnBackend:
    found = cloud.cloud.ovn_backend
    assert found is not None
    return found


def dpu(cloud: Cloud) -> SimOvnController:
    (found,) = cloud.cloud.ovn_dpus
    return found


def boot_port(cloud: Cloud, overlay: Network, name: str) -> tuple[Any, Any]:
    port = cloud.sdk.network.create_port(network_id=overlay.id, binding_vnic_type="remote-managed")
    return port, cloud.boot(name, port)


def test_a_boot_writes_exactly_the_plug_options_and_the_dpu_claims_the_binding(
    clean: Cloud, overlay: Network
) -> None:
    port, server = boot_port(clean, overlay, "vm-ovn")
    assert (server.status, server.compute_host) == ("ACTIVE", HOST)
    (vf,) = clean.claimed(HOST)
    row = backend(clean).nb.row("Logical_Switch_Port", port.id)
    assert row is not None
    assert dict(row.options) == {
        "requested-chassis": DPU,
        "vif-plug-type": "representor",
        "vif-plug-mtu-request": "1442",
        "vif-plug:representor:pf-mac": vf["pf_mac_address"],
        "vif-plug:representor:vf-num": str(vf["vf_num"]),
    }
    binding = backend(clean).chassis.port_binding(port.id)
    assert binding is not None
    assert backend(clean).chassis.chassis_name(binding.chassis) == DPU
    assert clean.sdk.network.get_port(port.id).status == "ACTIVE"
    assert port.id in dpu(clean).plugged
    (outcome,) = clean.build_details(server.id)["ports"]
    # No plug event awaited: the agent asked the network service until OVN had the port up.
    assert outcome["waited_for"] is None
    assert outcome["confirmation"] in ("backend", "bind-answer")

    clean.delete(server)
    clean.unbound(port.id)
    row = backend(clean).nb.row("Logical_Switch_Port", port.id)
    assert row is not None
    assert dict(row.options) == {}
    wait_for(lambda: port.id not in dpu(clean).plugged, timeout=10, what="the unplug")


def test_the_admin_api_lists_the_southbound_chassis(clean: Cloud) -> None:
    (chassis,) = clean.get("/offpath/v1/chassis")["chassis"]
    assert chassis["hostname"] == DPU
    assert chassis["card_serial_number"] == dpu(clean).serial
    assert chassis["alive"] is True


def test_the_port_goes_active_only_once_the_dpu_claims_it(clean: Cloud, overlay: Network) -> None:
    dpu(clean).go_down()  # alive for agent_down_time more, but not plugging
    port = clean.sdk.network.create_port(network_id=overlay.id, binding_vnic_type="remote-managed")
    server = clean.sdk.compute.create_server(
        name="vm-late",
        flavor_id=clean.flavor_id,
        image_id=clean.image_id,
        networks=[{"port": port.id}],
    )
    wait_for(
        lambda: clean.sdk.network.get_port(port.id).binding_vif_type == "ovs",
        timeout=10,
        what="the bind",
    )
    assert clean.sdk.network.get_port(port.id).status == "DOWN"
    assert clean.sdk.compute.get_server(server.id).status == "BUILD"
    dpu(clean).come_back()
    settled = clean.settled(server.id)
    assert settled.status == "ACTIVE"
    assert clean.sdk.network.get_port(port.id).status == "ACTIVE"


def test_an_unknown_vf_on_the_dpu_leaves_the_port_down_and_fails_the_boot(
    clean: Cloud, overlay: Network
) -> None:
    controller = dpu(clean)
    real = controller.dpu
    controller.dpu = SimDpu(real.hostname, real.pf_macs, 0, real.serial)  # knows no VF
    try:
        port, server = boot_port(clean, overlay, "vm-unknown-vf")
    finally:
        controller.dpu = real
    assert server.status == "ERROR"
    assert clean.claimed(HOST) == []
    assert not clean.guest_exists(server.id)
    binding = backend(clean).chassis.port_binding(port.id)
    assert binding is None or list(binding.chassis) == []


def _failed_boot(clean: Cloud, overlay: Network, name: str) -> str:
    """Boot, expect ERROR with the VF freed and the port unbound; the fault's message."""
    port, server = boot_port(clean, overlay, name)
    assert server.status == "ERROR"
    assert clean.claimed(HOST) == []
    assert not clean.guest_exists(server.id)
    clean.unbound(port.id)
    message: str = (server.fault or {}).get("message", "")
    assert message.startswith(f"Binding failed for port {port.id}")
    return message


def test_no_chassis_for_the_serial_fails_the_boot_and_frees_the_vf(
    clean: Cloud, overlay: Network
) -> None:
    controller = dpu(clean)
    controller.go_down()
    b = backend(clean)
    b.sb.execute([b.sb.api.chassis_del(controller.name)])
    try:
        message = _failed_boot(clean, overlay, "vm-no-chassis")
        assert "Chassis with ovn-cms-options card-serial-number=" in message
        assert "does not exist" in message
    finally:
        controller.come_back()
        controller.stop(remove=False)
        controller.start()
        wait_for(
            lambda: b.chassis.by_serial(controller.serial),
            timeout=10,
            what="the DPU's chassis back in the backend's replica",
        )


def test_two_chassis_with_the_serial_fail_the_boot(clean: Cloud, overlay: Network) -> None:
    real = dpu(clean).dpu
    twin = SimOvnController(
        backend(clean).config.sb_connection,
        SimDpu("twin-dpu", real.pf_macs, real.vfs, real.serial),
    )
    twin.start()
    wait_for(
        lambda: len(backend(clean).chassis.by_serial(real.serial or "")) == 2,
        timeout=10,
        what="the backend to see both chassis",
    )
    try:
        message = _failed_boot(clean, overlay, "vm-twins")
        assert f"several chassis have ovn-cms-options card-serial-number={real.serial}" in message
    finally:
        twin.stop()


def test_a_dead_chassis_fails_the_boot(clean: Cloud, overlay: Network) -> None:
    dpu(clean).go_down()
    wait_for(
        lambda: not backend(clean).chassis.get(DPU).up,
        timeout=10,
        what="the DPU's chassis to be seen dead",
    )
    message = _failed_boot(clean, overlay, "vm-dead-dpu")
    assert f"to dead agent: chassis {DPU} is down" in message

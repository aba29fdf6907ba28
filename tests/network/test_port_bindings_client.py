"""A port's bindings on two hosts through NeutronClient and openstacksdk, on a loopback server."""

from __future__ import annotations

import logging

import httpx
import openstack
import pytest

from offpath.compute.multiple_bindings import MultipleBindings, bind_ports_to_host
from offpath.errors import (
    PortBindingActivationFailed,
    PortBindingFailed,
    PortBindingNotFound,
    PortNotFound,
)
from offpath.network.client import NeutronClient
from offpath.ports.host_binding import BindingStatus
from offpath.ports.vnic import VnicType
from tests.network.conftest import full_profile
from tests.network.test_client import sdk
from tests.network.test_dpu_sim_binding import bind, make_network, make_port, register_dpu
from tests.network.test_port_bindings import PF_MACS_2, SERIAL_2, destination_profile


@pytest.fixture
def bound_port(http_admin: httpx.Client) -> str:
    """A server's remote-managed port bound to compute-1 on dpu-1; dpu-2 registered too."""
    register_dpu(http_admin)
    register_dpu(http_admin, "dpu-2", serial=SERIAL_2, pf_macs=list(PF_MACS_2))
    port_id = make_port(http_admin, make_network(http_admin))
    assert bind(http_admin, port_id, full_profile())["status"] == "ACTIVE"
    return port_id


def test_the_client_is_a_multiple_bindings(admin: NeutronClient) -> None:
    bindings: MultipleBindings = admin
    assert bindings is admin


def test_the_client_creates_activates_and_deletes_a_binding(
    admin: NeutronClient, bound_port: str
) -> None:
    created = admin.create_port_binding(
        bound_port,
        host="compute-2",
        vnic_type=VnicType.REMOTE_MANAGED,
        profile=destination_profile(),
    )
    assert (created.host, created.status, created.vif_type) == (
        "compute-2",
        BindingStatus.INACTIVE,
        "ovs",
    )
    assert created.profile == destination_profile()
    listed = admin.port_bindings(bound_port)
    assert [(b.host, b.active) for b in listed] == [("compute-1", True), ("compute-2", False)]
    port = admin.activate_port_binding(bound_port, "compute-2")
    assert (port.binding_host_id, port.status, port.vif_type) == ("compute-2", "ACTIVE", "ovs")
    assert port.binding_profile == destination_profile()
    admin.delete_port_binding(bound_port, "compute-1")
    assert [b.host for b in admin.port_bindings(bound_port)] == ["compute-2"]


def test_the_client_reads_refusals_as_nova_does(
    admin: NeutronClient, bound_port: str, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(PortBindingFailed, match="Chassis with ovn-cms-options") as refused:
        admin.create_port_binding(
            bound_port, host="compute-2", profile=destination_profile(card_serial_number="X")
        )
    assert refused.value.message.startswith(f"Binding failed for port {bound_port}")
    with pytest.raises(PortBindingFailed, match="already exists"):
        admin.create_port_binding(bound_port, host="compute-1", profile=full_profile())
    with pytest.raises(PortNotFound):
        admin.create_port_binding("no-such-port", host="compute-2", profile={})
    with pytest.raises(PortNotFound):
        admin.port_bindings("no-such-port")
    with pytest.raises(PortBindingNotFound):
        admin.activate_port_binding(bound_port, "compute-9")
    # Already active: Nova logs it and goes on.
    with caplog.at_level(logging.WARNING, logger="offpath.network.client"):
        assert admin.activate_port_binding(bound_port, "compute-1").binding_host_id == "compute-1"
    assert "is already active" in caplog.text
    # Gone already: a rollback deletes what may not be there.
    admin.delete_port_binding(bound_port, "compute-9")
    admin.delete_port_binding("no-such-port", "compute-9")


def test_an_activation_the_service_refuses_is_an_activation_failure(
    admin: NeutronClient, http_admin: httpx.Client
) -> None:
    register_dpu(http_admin)
    port_id = make_port(http_admin, make_network(http_admin))
    # Not a server's port: Neutron refuses (400) whatever the binding.
    with pytest.raises(PortBindingActivationFailed, match="only valid on compute ports"):
        admin.activate_port_binding(port_id, "compute-2")


def test_bind_ports_to_host_rolls_back_the_bindings_made_when_one_is_refused(
    admin: NeutronClient, http_admin: httpx.Client, bound_port: str
) -> None:
    other = make_port(http_admin, make_network(http_admin))
    bind(http_admin, other, full_profile(vf_num=4, pci_slot="0000:82:00.5"))
    ports = [admin.show_port(bound_port), admin.show_port(other)]
    profiles = {
        bound_port: destination_profile(),
        other: destination_profile(card_serial_number="NOT-A-DPU"),
    }
    with pytest.raises(PortBindingFailed) as caught:
        bind_ports_to_host(admin, ports, "compute-2", profiles=profiles)
    assert caught.value.port_id == other
    for port_id in (bound_port, other):
        assert [b.host for b in admin.port_bindings(port_id)] == ["compute-1"]
    profiles[other] = destination_profile(vf_num=2, pci_slot="0000:83:00.3")
    made = bind_ports_to_host(admin, ports, "compute-2", profiles=profiles)
    assert sorted(made) == sorted([bound_port, other])
    assert {b.status for b in made.values()} == {BindingStatus.INACTIVE}


def test_openstacksdk_creates_lists_activates_and_deletes_bindings(
    base_url: str, bound_port: str
) -> None:
    conn = sdk(base_url)
    try:
        created = conn.network.create_port_binding(
            bound_port,
            host="compute-2",
            vnic_type="remote-managed",
            profile=destination_profile(),
        )
        assert (created.host, created.status, created.vif_type) == ("compute-2", "INACTIVE", "ovs")
        hosts = [(b.host, b.status) for b in conn.network.port_bindings(bound_port)]
        assert hosts == [("compute-1", "ACTIVE"), ("compute-2", "INACTIVE")]
        (only,) = conn.network.port_bindings(bound_port, host="compute-2")
        assert only.profile == destination_profile()
        activated = conn.network.activate_port_binding(bound_port, "compute-2")
        assert activated is not None
        assert (activated.host, activated.status) == ("compute-2", "ACTIVE")
        assert conn.network.get_port(bound_port).binding_host_id == "compute-2"
        conn.network.delete_port_binding(bound_port, "compute-1")
        assert [b.host for b in conn.network.port_bindings(bound_port)] == ["compute-2"]
        conn.network.delete_port_binding(bound_port, "compute-1")  # ignore_missing
        with pytest.raises(openstack.exceptions.NotFoundException):
            conn.network.delete_port_binding(bound_port, "compute-1", ignore_missing=False)
        with pytest.raises(openstack.exceptions.ConflictException, match="already exists"):
            conn.network.create_port_binding(bound_port, host="compute-2", profile={})
    finally:
        conn.close()

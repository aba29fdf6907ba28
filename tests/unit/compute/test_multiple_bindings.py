"""Nova's `bind_ports_to_host`: a binding per port on the destination, or none, over the double."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import pytest

from offpath.compute.multiple_bindings import MultipleBindings, bind_ports_to_host
from offpath.errors import NetworkServiceUnavailable, PortBindingFailed, PortNotFound
from offpath.jsonvalue import JsonValue
from offpath.ports.host_binding import BindingStatus, HostBinding
from offpath.ports.network import Network
from offpath.ports.port import Port
from offpath.ports.vnic import VnicType
from tests.agent.network_double import InMemoryNetworkDouble

OVERLAY = Network("6f1c4a52-5b0e-4c59-9d0e-0a5c2b1d0001", network_type="geneve", mtu=1442)
SERVER = "5b2c7e3a-3f7e-4a55-8f0e-0d8f1c9a7b11"


def profile(serial: str, vf_num: int) -> dict[str, JsonValue]:
    return {
        "pci_vendor_info": "15b3:101e",
        "pci_slot": f"0000:82:00.{vf_num + 1}",
        "physical_network": None,
        "card_serial_number": serial,
        "pf_mac_address": "52:54:00:1e:59:02",
        "vf_num": vf_num,
    }


def bound_ports(double: InMemoryNetworkDouble, count: int) -> list[Port]:
    """`count` remote-managed ports of one server, bound to compute-1."""
    ports = []
    for n in range(count):
        port_id = double.create_port(OVERLAY)
        ports.append(
            double.bind_port(
                port_id,
                host="compute-1",
                profile=profile("SRC", n),
                device_id=SERVER,
                device_owner="compute:nova",
            )
        )
    return ports


def test_the_double_is_a_multiple_bindings() -> None:
    double = InMemoryNetworkDouble([OVERLAY])
    bindings: MultipleBindings = double
    assert bindings is double


def test_each_port_gets_an_inactive_binding_with_its_own_profile_unless_told() -> None:
    double = InMemoryNetworkDouble([OVERLAY])
    first, second = bound_ports(double, 2)
    made = bind_ports_to_host(
        double, [first, second], "compute-2", profiles={second.id: profile("DST", 7)}
    )
    assert made[first.id].profile == first.binding_profile
    assert made[second.id].profile == profile("DST", 7)
    assert {b.status for b in made.values()} == {BindingStatus.INACTIVE}
    assert {b.host for b in made.values()} == {"compute-2"}
    # The ports themselves are still bound to the source.
    assert {double.show_port(p.id).binding_host_id for p in (first, second)} == {"compute-1"}


def test_a_vnic_type_override_is_sent() -> None:
    double = InMemoryNetworkDouble([OVERLAY])
    (port,) = bound_ports(double, 1)
    made = bind_ports_to_host(
        double, [port], "compute-2", vnic_types={port.id: VnicType.REMOTE_MANAGED}
    )
    assert made[port.id].vnic_type is VnicType.REMOTE_MANAGED


def test_a_refused_port_rolls_back_the_bindings_made_before_it() -> None:
    double = InMemoryNetworkDouble([OVERLAY])
    first, second, third = bound_ports(double, 3)
    double.fail_bind.add(second.id)
    with pytest.raises(PortBindingFailed) as caught:
        bind_ports_to_host(double, [first, second, third], "compute-2")
    assert caught.value.port_id == second.id
    assert all(not hosts for hosts in double.inactive.values())
    binding_calls = [call for call in double.calls if call[0].endswith("_binding")]
    assert binding_calls == [
        ("create_binding", first.id),
        ("create_binding", second.id),
        ("delete_binding", first.id),
    ]


def test_a_port_gone_is_a_binding_failure_naming_it() -> None:
    double = InMemoryNetworkDouble([OVERLAY])
    (port,) = bound_ports(double, 1)
    gone = Port("0b7d1e55-0000-4000-8000-000000000000", OVERLAY.id)
    with pytest.raises(PortBindingFailed) as caught:
        bind_ports_to_host(double, [port, gone], "compute-2")
    assert caught.value.port_id == gone.id
    assert isinstance(caught.value.__cause__, PortNotFound)
    assert double.inactive[port.id] == {}


class UndeletableBindings(InMemoryNetworkDouble):
    """A network service that cannot delete bindings any more."""

    def delete_port_binding(self, port_id: str, host: str) -> None:
        raise NetworkServiceUnavailable("http://neutron", "connection refused")

    def create_port_binding(
        self,
        port_id: str,
        *,
        host: str,
        vnic_type: VnicType | None = None,
        profile: Mapping[str, JsonValue],
    ) -> HostBinding:
        if profile.get("card_serial_number") == "BAD":
            raise PortBindingFailed(port_id, "no chassis")
        return super().create_port_binding(port_id, host=host, vnic_type=vnic_type, profile=profile)


def test_a_rollback_that_cannot_delete_logs_and_still_raises_the_refusal(
    caplog: pytest.LogCaptureFixture,
) -> None:
    double = UndeletableBindings([OVERLAY])
    first, second = bound_ports(double, 2)
    with (
        caplog.at_level(logging.WARNING, logger="offpath.compute.multiple_bindings"),
        pytest.raises(PortBindingFailed, match="no chassis"),
    ):
        bind_ports_to_host(
            double, [first, second], "compute-2", profiles={second.id: profile("BAD", 1)}
        )
    assert f"Failed to remove binding for port {first.id} on host compute-2" in caplog.text


def test_the_double_activates_as_the_network_service_does() -> None:
    double = InMemoryNetworkDouble([OVERLAY])
    posted: list[tuple[str, list[dict[str, object]]]] = []
    double.post_events = lambda server, events: posted.append((server, events))
    (port,) = bound_ports(double, 1)
    bind_ports_to_host(double, [port], "compute-2", profiles={port.id: profile("DST", 5)})
    moved = double.activate_port_binding(port.id, "compute-2")
    assert (moved.binding_host_id, moved.status) == ("compute-2", "ACTIVE")
    assert moved.binding_profile == profile("DST", 5)
    assert [(b.host, b.status, b.vif_type) for b in double.port_bindings(port.id)] == [
        ("compute-2", BindingStatus.ACTIVE, "ovs"),
        ("compute-1", BindingStatus.INACTIVE, "unbound"),
    ]
    assert posted[-1] == (
        SERVER,
        [{"name": "network-vif-plugged", "tag": port.id, "status": "completed"}],
    )
    # Activating it again is no error; deleting the source's leaves one binding.
    assert double.activate_port_binding(port.id, "compute-2") == moved
    double.delete_port_binding(port.id, "compute-1")
    assert [b.host for b in double.port_bindings(port.id)] == ["compute-2"]

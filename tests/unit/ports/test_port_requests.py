"""PCI requests from a port and its network, and from flavor aliases (spec §4.2, §4.4)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from offpath.errors import NetworkWithoutPhysnetSegment
from offpath.jsonvalue import JsonValue
from offpath.pci.alias import parse_aliases
from offpath.pci.device import DevType, PciDevice
from offpath.pci.pool_filter import PoolFilter, filter_pools
from offpath.pci.request import NumaPolicy, PciRequest
from offpath.pci.spec_list import DeviceSpecList
from offpath.ports.network import Network, Segment
from offpath.ports.pci_request import request_from_port, requests_from_alias
from offpath.ports.port import Port
from offpath.ports.vnic import VnicType
from tests.unit.pci.selections import pools_of

PORT_ID = "7f3c6f0e-1b7e-4a51-9f1a-3f4f1c0b2a11"
OVERLAY = Network("net-geneve", network_type="geneve")
VLAN = Network("net-vlan", physical_network="physnet1", network_type="vlan")
V = VnicType


def port(vnic: VnicType, **profile: JsonValue) -> Port:
    return Port(PORT_ID, "net", vnic_type=vnic, binding_profile=profile)


def test_a_remote_managed_port_on_an_overlay_asks_remote_managed_and_no_physnet() -> None:
    request = request_from_port(port(V.REMOTE_MANAGED), OVERLAY, request_id="req-1")
    assert request is not None
    assert request.spec == ({"physical_network": None, "remote_managed": "True"},)


def test_a_port_request_is_for_one_device_requested_by_the_port() -> None:
    request = request_from_port(port(V.REMOTE_MANAGED), OVERLAY, request_id="req-1")
    assert request is not None
    assert (request.count, request.requester_id, request.request_id) == (1, PORT_ID, "req-1")


def test_a_port_request_has_no_alias_which_marks_it_as_from_a_port() -> None:
    request = request_from_port(port(V.DIRECT), VLAN)
    assert request is not None
    assert (request.alias_name, request.from_port) == (None, True)


@pytest.mark.parametrize(
    ("vnic", "spec"),
    [
        pytest.param(
            V.DIRECT, {"physical_network": "physnet1", "remote_managed": "False"}, id="direct"
        ),
        pytest.param(
            V.MACVTAP, {"physical_network": "physnet1", "remote_managed": "False"}, id="macvtap"
        ),
        pytest.param(
            V.VIRTIO_FORWARDER,
            {"physical_network": "physnet1", "remote_managed": "False"},
            id="virtio-forwarder",
        ),
        pytest.param(
            V.DIRECT_PHYSICAL,
            {"physical_network": "physnet1", "remote_managed": "False", "dev_type": "type-PF"},
            id="direct-physical",
        ),
        pytest.param(
            V.VDPA,
            {"physical_network": "physnet1", "remote_managed": "False", "dev_type": "vdpa"},
            id="vdpa",
        ),
        pytest.param(
            V.REMOTE_MANAGED,
            {"physical_network": "physnet1", "remote_managed": "True"},
            id="remote-managed-on-vlan",
        ),
    ],
)
def test_the_spec_of_each_sriov_vnic_type(vnic: VnicType, spec: dict[str, JsonValue]) -> None:
    request = request_from_port(port(vnic), VLAN)
    assert request is not None
    assert request.spec == (spec,)


@pytest.mark.parametrize(
    "vnic",
    [V.NORMAL, V.BAREMETAL, V.ACCELERATOR_DIRECT, V.ACCELERATOR_DIRECT_PHYSICAL],
    ids=str,
)
def test_a_port_that_takes_no_pci_device_makes_no_request(vnic: VnicType) -> None:
    assert request_from_port(port(vnic), VLAN) is None


@pytest.mark.parametrize(
    ("trusted", "word"),
    [
        pytest.param(True, "True", id="json-true"),
        pytest.param("yes", "True", id="yes"),
        pytest.param("true", "True", id="true"),
        pytest.param(False, "False", id="json-false"),
        pytest.param("no", "False", id="no"),
        pytest.param("garbage", "False", id="unknown-word-is-false"),
    ],
)
def test_trusted_from_the_profile_is_parsed_leniently(trusted: JsonValue, word: str) -> None:
    request = request_from_port(port(V.REMOTE_MANAGED, trusted=trusted), OVERLAY)
    assert request is not None
    assert request.spec[0]["trusted"] == word


def test_no_trusted_key_without_trusted_in_the_profile() -> None:
    request = request_from_port(port(V.DIRECT, other="x"), VLAN)
    assert request is not None
    assert "trusted" not in request.spec[0]


def test_the_port_numa_policy_wins_over_the_flavor_s() -> None:
    p = Port(PORT_ID, "net", V.DIRECT, numa_affinity_policy=NumaPolicy.REQUIRED)
    request = request_from_port(p, VLAN, flavor_numa_policy=NumaPolicy.PREFERRED)
    assert request is not None
    assert request.numa_policy is NumaPolicy.REQUIRED


def test_the_flavor_numa_policy_applies_when_the_port_has_none() -> None:
    request = request_from_port(port(V.DIRECT), VLAN, flavor_numa_policy=NumaPolicy.SOCKET)
    assert request is not None
    assert request.numa_policy is NumaPolicy.SOCKET


def test_without_any_numa_policy_the_request_leaves_it_unset_meaning_legacy() -> None:
    request = request_from_port(port(V.DIRECT), VLAN)
    assert request is not None
    assert (request.numa_policy, request.effective_numa_policy) == (None, NumaPolicy.LEGACY)


def test_each_request_gets_a_new_uuid_when_none_is_given() -> None:
    first = request_from_port(port(V.DIRECT), VLAN)
    second = request_from_port(port(V.DIRECT), VLAN)
    assert first is not None and second is not None
    assert first.request_id != second.request_id
    assert uuid.UUID(first.request_id).version == 4


def test_a_port_on_a_multi_segment_network_uses_the_segment_physnet() -> None:
    network = Network("n", segments=(Segment(network_type="vxlan"), Segment("physnet7", "vlan")))
    request = request_from_port(port(V.REMOTE_MANAGED), network)
    assert request is not None
    assert request.spec[0]["physical_network"] == "physnet7"


def test_a_port_on_a_multi_segment_overlay_network_is_refused() -> None:
    network = Network("n", segments=(Segment(network_type="vxlan"), Segment(network_type="gre")))
    with pytest.raises(NetworkWithoutPhysnetSegment):
        request_from_port(port(V.REMOTE_MANAGED), network)


# --- flavor aliases ------------------------------------------------------------

ALIASES = parse_aliases(
    [
        '{"name": "nic", "vendor_id": "15b3", "product_id": "101e", "device_type": "type-VF"}',
        '{"name": "nic", "vendor_id": "15b3", "product_id": "1018", "device_type": "type-VF"}',
        '{"name": "gpu", "vendor_id": "10de", "product_id": "1eb8", "numa_policy": "required"}',
    ]
)


def test_an_alias_request_carries_the_alias_specs_and_name() -> None:
    request = requests_from_alias(ALIASES["nic"], 2, request_id="req-a")
    assert (request.count, request.alias_name, request.request_id) == (2, "nic", "req-a")
    assert request.spec == (
        {"vendor_id": "15b3", "product_id": "101e", "dev_type": "type-VF"},
        {"vendor_id": "15b3", "product_id": "1018", "dev_type": "type-VF"},
    )


def test_an_alias_request_is_not_from_a_port() -> None:
    assert requests_from_alias(ALIASES["nic"], 1).from_port is False


def test_an_alias_request_takes_the_alias_numa_policy() -> None:
    assert requests_from_alias(ALIASES["gpu"], 1).numa_policy is NumaPolicy.REQUIRED


def test_the_flavor_numa_policy_wins_over_the_alias_s() -> None:
    request = requests_from_alias(ALIASES["gpu"], 1, flavor_numa_policy=NumaPolicy.PREFERRED)
    assert request.numa_policy is NumaPolicy.PREFERRED


def test_an_alias_request_never_names_remote_managed() -> None:
    request = requests_from_alias(ALIASES["nic"], 1)
    assert not any("remote_managed" in spec for spec in request.spec)


# --- the requests against real pools (spec §3.2) -----------------------------------

SPECS = DeviceSpecList.from_values(
    [
        '{"vendor_id": "15b3", "product_id": "101e", "address": "0000:82:00.*",'
        ' "physical_network": null, "remote_managed": "true"}',
        '{"vendor_id": "15b3", "product_id": "101e", "address": "0000:03:00.*",'
        ' "physical_network": "physnet1"}',
    ],
    sysfs_root=Path("/nonexistent"),
)


def vf(address: str, parent: str) -> PciDevice:
    return PciDevice(
        address=address,
        vendor_id="15b3",
        product_id="101e",
        dev_type=DevType.VF,
        parent_addr=parent,
        card_serial_number="MT2113X00000",
        pf_mac_address="b8:ce:f6:00:00:01",
        vf_num=int(address[-1]),
    )


POOLS = pools_of(
    SPECS,
    [vf("0000:82:00.2", "0000:82:00.0"), vf("0000:03:00.2", "0000:03:00.0")],
)


def served_by(request: PciRequest) -> list[JsonValue]:
    kept = filter_pools(POOLS.pools, request)
    return [] if kept is None else [pool.key.props.get("remote_managed") for pool in kept]


def test_an_alias_request_matches_remote_managed_pools_by_its_specs_alone() -> None:
    request = requests_from_alias(ALIASES["nic"], 1)
    remote = next(p for p in POOLS.pools if p.key.props.get("remote_managed") == "true")
    assert PoolFilter.of(request).spec_match(remote.key)


def test_an_alias_request_is_never_served_by_remote_managed_pools() -> None:
    assert served_by(requests_from_alias(ALIASES["nic"], 1)) == ["false"]


def test_a_remote_managed_port_request_is_served_only_by_remote_managed_pools() -> None:
    request = request_from_port(port(V.REMOTE_MANAGED), OVERLAY)
    assert request is not None
    assert served_by(request) == ["true"]


def test_a_direct_port_request_is_never_served_by_remote_managed_pools() -> None:
    request = request_from_port(port(V.DIRECT), VLAN)
    assert request is not None
    assert served_by(request) == ["false"]

"""binding:profile build, merge (D5), unbind and refresh for moves (D4) (spec §5.1-5.5)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from offpath.errors import BindingProfileInvalid, PortUpdateFailed, RemoteManagedDeviceIncomplete
from offpath.jsonvalue import JsonValue
from offpath.pci.device import DevType, PciDevice
from offpath.pci.spec import DeviceSpec, parse_spec
from offpath.ports.port import Port
from offpath.ports.profile import (
    ADDED,
    UNBIND_KEYS,
    AssignedDevice,
    bind_profile,
    build_profile_fragment,
    check_backend_fields,
    move_mapping,
    profile_for_device,
    refresh_for_move,
    unbind_profile,
)
from offpath.ports.vnic import VnicType

V = VnicType
PORT_ID = "5d2b4a4e-33f1-4f5e-a7a8-6b8d3e9f0c21"

# The remote-managed VF of Nova's functional tests (spec §5.2).
VF = PciDevice(
    address="0000:82:00.4",
    vendor_id="15b3",
    product_id="101e",
    dev_type=DevType.VF,
    parent_addr="0000:82:00.0",
    card_serial_number="MT0000X00002",
    pf_mac_address="52:54:00:1e:59:02",
    vf_num=3,
)
# Another VF of another card, as a move destination.
DEST_VF = replace(
    VF,
    address="0000:03:00.2",
    parent_addr="0000:03:00.0",
    card_serial_number="MT2113X00000",
    pf_mac_address="b8:ce:f6:00:00:01",
    vf_num=0,
    network_caps=("rx", "tx", "switchdev"),
)
PF = PciDevice(
    address="0000:82:00.0",
    vendor_id="15b3",
    product_id="a2d6",
    dev_type=DevType.PF,
    card_serial_number="MT0000X00002",
    mac_address="52:54:00:1e:59:02",
)


def without(device: PciDevice, *fields: str) -> PciDevice:
    """`device` with the named VF fields unknown."""
    return replace(
        device,
        card_serial_number=None if "card_serial_number" in fields else device.card_serial_number,
        pf_mac_address=None if "pf_mac_address" in fields else device.pf_mac_address,
        vf_num=None if "vf_num" in fields else device.vf_num,
    )


def spec(**tags: JsonValue) -> DeviceSpec:
    return parse_spec({"vendor_id": "15b3", **tags}, index=0, sysfs_root=Path("/nonexistent"))


OVERLAY = spec(physical_network=None, remote_managed="true")


def port(vnic: VnicType = V.REMOTE_MANAGED, **profile: JsonValue) -> Port:
    return Port(PORT_ID, "net", vnic_type=vnic, binding_profile=profile)


# --- the fragment (§5.1) -----------------------------------------------------------


def test_the_remote_managed_profile_is_exactly_nova_s() -> None:
    assert profile_for_device(port(), VF, OVERLAY) == {
        "pci_vendor_info": "15b3:101e",
        "pci_slot": "0000:82:00.4",
        "physical_network": None,
        "card_serial_number": "MT0000X00002",
        "pf_mac_address": "52:54:00:1e:59:02",
        "vf_num": 3,
    }


def test_physical_network_comes_from_the_spec_tag() -> None:
    fragment = build_profile_fragment(VF, spec(physical_network="physnet1"))
    assert fragment["physical_network"] == "physnet1"


def test_physical_network_is_present_even_when_the_spec_has_none() -> None:
    fragment = build_profile_fragment(VF, spec())
    assert "physical_network" in fragment
    assert fragment["physical_network"] is None


@pytest.mark.parametrize(
    "field", ["card_serial_number", "pf_mac_address", "vf_num"], ids=lambda f: f"no-{f}"
)
def test_each_vf_field_is_added_on_its_own(field: str) -> None:
    fragment = build_profile_fragment(without(VF, field), OVERLAY)
    others = {"card_serial_number", "pf_mac_address", "vf_num"} - {field}
    assert field not in fragment
    assert others <= fragment.keys()


def test_vf_number_zero_is_a_vf_number() -> None:
    assert build_profile_fragment(replace(VF, vf_num=0), OVERLAY)["vf_num"] == 0


def test_a_vf_s_netdev_features_become_capabilities() -> None:
    fragment = build_profile_fragment(replace(VF, network_caps=("rx", "tx")), OVERLAY)
    assert fragment["capabilities"] == ["rx", "tx"]


def test_a_vf_without_netdev_features_gets_no_capabilities() -> None:
    assert "capabilities" not in build_profile_fragment(VF, OVERLAY)


def test_a_pf_gets_its_own_mac_and_never_a_card_serial() -> None:
    assert build_profile_fragment(PF, spec(physical_network="physnet1")) == {
        "pci_vendor_info": "15b3:a2d6",
        "pci_slot": "0000:82:00.0",
        "physical_network": "physnet1",
        "device_mac_address": "52:54:00:1e:59:02",
    }


def test_a_pf_without_a_known_mac_gets_no_device_mac_address() -> None:
    fragment = build_profile_fragment(replace(PF, mac_address=None), spec())
    assert "device_mac_address" not in fragment


@pytest.mark.parametrize("dev_type", [DevType.VDPA, DevType.PCI], ids=str)
def test_vdpa_and_plain_pci_devices_get_only_the_three_base_keys(dev_type: DevType) -> None:
    device = replace(VF, dev_type=dev_type, network_caps=("rx",), mac_address="52:54:00:00:00:01")
    assert build_profile_fragment(device, OVERLAY).keys() == {
        "pci_vendor_info",
        "pci_slot",
        "physical_network",
    }


# --- bind: merging into the user's profile (§5.2, D5) --------------------------------


def test_bind_keeps_the_user_s_keys() -> None:
    profile = profile_for_device(port(trusted="true", custom={"a": 1}), VF, OVERLAY)
    assert (profile["trusted"], profile["custom"]) == ("true", {"a": 1})


def test_bind_device_keys_override_user_keys_of_the_same_name() -> None:
    profile = profile_for_device(port(physical_network="user-net"), VF, OVERLAY)
    assert profile["physical_network"] is None


def test_d5_bind_keeps_user_capabilities_and_appends_the_device_s() -> None:
    device = replace(VF, network_caps=("rx", "switchdev", "tx"))
    profile = profile_for_device(port(capabilities=["switchdev"]), device, OVERLAY)
    assert profile["capabilities"] == ["switchdev", "rx", "tx"]


def test_d5_bind_records_what_it_appended() -> None:
    device = replace(VF, network_caps=("rx", "switchdev", "tx"))
    profile = profile_for_device(port(capabilities=["switchdev"]), device, OVERLAY)
    assert profile[ADDED] == {"capabilities": ["rx", "tx"]}


def test_d5_bind_records_that_it_created_the_capabilities_key() -> None:
    profile = profile_for_device(port(), replace(VF, network_caps=("rx",)), OVERLAY)
    assert (profile["capabilities"], profile[ADDED]) == (
        ["rx"],
        {"capabilities": ["rx"], "keys": ["capabilities"]},
    )


def test_d5_bind_writes_no_record_when_it_appended_nothing() -> None:
    device = replace(VF, network_caps=("switchdev",))
    profile = profile_for_device(port(capabilities=["switchdev"]), device, OVERLAY)
    assert ADDED not in profile


def test_d5_bind_refuses_user_capabilities_that_are_not_a_list() -> None:
    with pytest.raises(BindingProfileInvalid) as caught:
        profile_for_device(port(capabilities="switchdev"), VF, OVERLAY)
    assert caught.value.message == "Invalid binding:profile. capabilities must be of type list."


def test_d4_rebinding_to_another_device_leaves_nothing_of_the_first() -> None:
    first = profile_for_device(port(V.DIRECT), VF, OVERLAY)
    second = bind_profile(first, build_profile_fragment(PF, spec()))
    assert "card_serial_number" not in second
    assert "vf_num" not in second


def test_bind_is_idempotent() -> None:
    fragment = build_profile_fragment(DEST_VF, OVERLAY)
    once = bind_profile({"capabilities": ["switchdev"], "k": "v"}, fragment)
    assert bind_profile(once, fragment) == once


# --- unbind (§5.3, D5) -------------------------------------------------------------


@pytest.mark.parametrize("key", UNBIND_KEYS)
def test_unbind_removes_each_of_nova_s_keys(key: str) -> None:
    assert unbind_profile({key: "x", "trusted": "true"}) == {"trusted": "true"}


def test_unbind_keeps_capabilities_offpath_did_not_add() -> None:
    # A profile bound by Nova (no record): its capabilities stay, as in Nova.
    assert unbind_profile({"pci_slot": "0000:82:00.4", "capabilities": ["rx"]}) == {
        "capabilities": ["rx"]
    }


def test_d5_unbind_removes_only_the_capabilities_offpath_added() -> None:
    device = replace(VF, network_caps=("rx", "switchdev"))
    bound = profile_for_device(port(capabilities=["switchdev"]), device, OVERLAY)
    assert unbind_profile(bound) == {"capabilities": ["switchdev"]}


def test_d5_unbind_drops_the_capabilities_key_offpath_created() -> None:
    bound = profile_for_device(port(trusted="true"), replace(VF, network_caps=("rx",)), OVERLAY)
    assert unbind_profile(bound) == {"trusted": "true"}


def test_d5_unbind_keeps_a_user_s_empty_capabilities_list() -> None:
    bound = profile_for_device(port(capabilities=[]), replace(VF, network_caps=("rx",)), OVERLAY)
    assert unbind_profile(bound) == {"capabilities": []}


def test_d5_unbind_keeps_capabilities_the_user_added_while_bound() -> None:
    bound = profile_for_device(port(), replace(VF, network_caps=("rx",)), OVERLAY)
    edited: dict[str, JsonValue] = {**bound, "capabilities": ["rx", "switchdev"]}
    assert unbind_profile(edited) == {"capabilities": ["switchdev"]}


@pytest.mark.parametrize(
    "record",
    [
        pytest.param("rx", id="not-an-object"),
        pytest.param({"capabilities": "rx"}, id="caps-not-a-list"),
        pytest.param({}, id="empty"),
    ],
)
def test_d5_unbind_ignores_a_rewritten_record_but_drops_it(record: JsonValue) -> None:
    profile: dict[str, JsonValue] = {"capabilities": ["rx"], ADDED: record}
    assert unbind_profile(profile) == {"capabilities": ["rx"]}


# JSON values without NaN (NaN != NaN would make any equality fail).
json_values: st.SearchStrategy[JsonValue] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
RESERVED = {*UNBIND_KEYS, ADDED, "capabilities"}
user_profiles = st.builds(
    lambda rest, caps: {**rest, **({} if caps is None else {"capabilities": caps})},
    st.dictionaries(st.text(max_size=12).filter(lambda k: k not in RESERVED), json_values),
    st.none() | st.lists(st.sampled_from(["rx", "tx", "switchdev", "sg"]) | json_values),
)
devices = st.builds(
    lambda dev_type, caps, vf_num: replace(VF, dev_type=dev_type, network_caps=caps, vf_num=vf_num),
    st.sampled_from(list(DevType)),
    st.lists(st.sampled_from(["rx", "tx", "switchdev", "sg", "tso"]), max_size=5).map(tuple),
    st.none() | st.integers(min_value=0, max_value=127),
)


@given(user=user_profiles, device=devices)
def test_d5_bind_then_unbind_gives_back_the_user_s_profile_exactly(
    user: dict[str, JsonValue], device: PciDevice
) -> None:
    bound = bind_profile(user, build_profile_fragment(device, OVERLAY))
    assert unbind_profile(bound) == user


@given(st.dictionaries(st.text(max_size=12), json_values))
def test_unbind_takes_any_profile(profile: dict[str, JsonValue]) -> None:
    cleaned = unbind_profile(profile)
    assert not cleaned.keys() & {*UNBIND_KEYS, ADDED}


# --- what the backend needs (D4) -----------------------------------------------------


@pytest.mark.parametrize(
    "missing",
    [
        pytest.param(("card_serial_number",), id="no-serial"),
        pytest.param(("pf_mac_address",), id="no-pf-mac"),
        pytest.param(("vf_num",), id="no-vf-num"),
        pytest.param(("card_serial_number", "vf_num"), id="two"),
    ],
)
def test_d4_a_remote_managed_port_refuses_a_device_lacking_a_backend_field(
    missing: tuple[str, ...],
) -> None:
    device = without(VF, *missing)
    with pytest.raises(RemoteManagedDeviceIncomplete) as caught:
        profile_for_device(port(), device, OVERLAY)
    assert caught.value.missing == missing
    assert caught.value.message == (
        f"PCI device 0000:82:00.4 cannot back remote-managed port {PORT_ID}: "
        f"it has no {', '.join(missing)}"
    )


def test_d4_a_remote_managed_port_refuses_a_device_that_is_not_a_vf() -> None:
    device = replace(VF, dev_type=DevType.PCI)
    with pytest.raises(RemoteManagedDeviceIncomplete) as caught:
        check_backend_fields(port(), build_profile_fragment(device, OVERLAY))
    assert caught.value.missing == ("card_serial_number", "pf_mac_address", "vf_num")


def test_a_direct_port_accepts_a_vf_without_serial() -> None:
    profile = profile_for_device(port(V.DIRECT), replace(VF, card_serial_number=None), OVERLAY)
    assert "card_serial_number" not in profile


# --- moves (§5.4, §5.5, D4) ----------------------------------------------------------

SRC = AssignedDevice("req-1", VF)
DST = AssignedDevice("req-1", DEST_VF)


def test_the_move_mapping_pairs_source_and_destination_by_request() -> None:
    other = AssignedDevice("req-2", replace(VF, address="0000:82:00.5"))
    other_dst = AssignedDevice("req-2", replace(VF, address="0000:03:00.3"))
    mapping = move_mapping([SRC, other], [other_dst, DST])
    assert {k: v.address for k, v in mapping.items()} == {
        "0000:82:00.4": "0000:03:00.2",
        "0000:82:00.5": "0000:03:00.3",
    }


def test_the_move_mapping_of_a_revert_goes_back() -> None:
    mapping = move_mapping([SRC], [DST], reverted=True)
    assert {k: v.address for k, v in mapping.items()} == {"0000:03:00.2": "0000:82:00.4"}


def test_the_move_mapping_leaves_out_a_request_with_no_destination() -> None:
    assert move_mapping([SRC], [AssignedDevice("req-9", DEST_VF)]) == {}


def test_the_move_mapping_pairs_devices_of_one_request_in_order() -> None:
    second = AssignedDevice("req-1", replace(VF, address="0000:82:00.5"))
    second_dst = AssignedDevice("req-1", replace(VF, address="0000:03:00.3"))
    mapping = move_mapping([SRC, second], [DST, second_dst])
    assert {k: v.address for k, v in mapping.items()} == {
        "0000:82:00.4": "0000:03:00.2",
        "0000:82:00.5": "0000:03:00.3",
    }


def bound_port(vnic: VnicType = V.REMOTE_MANAGED, **user: JsonValue) -> Port:
    source_port = port(vnic, **user)
    profile = profile_for_device(source_port, VF, OVERLAY)
    return Port(PORT_ID, "net", vnic_type=vnic, binding_profile=profile)


def test_d4_a_move_rebuilds_the_whole_pci_part_from_the_destination() -> None:
    new = refresh_for_move(
        [bound_port()],
        move_mapping([SRC], [DST]),
        physnet_for=lambda _device: "physnet2",
    )
    assert new[PORT_ID] == {
        "pci_vendor_info": "15b3:101e",
        "pci_slot": "0000:03:00.2",
        "physical_network": "physnet2",
        "card_serial_number": "MT2113X00000",
        "pf_mac_address": "b8:ce:f6:00:00:01",
        "vf_num": 0,
        "capabilities": ["rx", "tx", "switchdev"],
        ADDED: {"capabilities": ["rx", "tx", "switchdev"], "keys": ["capabilities"]},
    }


def test_d4_a_revert_gives_back_the_source_profile() -> None:
    original = bound_port(trusted="true")
    moved = refresh_for_move(
        [original], move_mapping([SRC], [DST]), physnet_for=lambda _: OVERLAY.physical_network
    )
    back = refresh_for_move(
        [replace(original, binding_profile=moved[PORT_ID])],
        move_mapping([SRC], [DST], reverted=True),
        physnet_for=lambda _: OVERLAY.physical_network,
    )
    assert back[PORT_ID] == original.binding_profile


def test_a_move_keeps_the_user_s_keys_and_capabilities() -> None:
    new = refresh_for_move(
        [bound_port(trusted="true", capabilities=["switchdev"])],
        move_mapping([SRC], [DST]),
        physnet_for=lambda _: OVERLAY.physical_network,
    )
    assert new[PORT_ID]["trusted"] == "true"
    assert new[PORT_ID]["capabilities"] == ["switchdev", "rx", "tx"]


def test_a_move_leaves_ports_without_a_pci_device_out() -> None:
    normal = Port("p-normal", "net", V.NORMAL, {"pci_slot": "0000:82:00.4"})
    assert (
        refresh_for_move(
            [normal], move_mapping([SRC], [DST]), physnet_for=lambda _: OVERLAY.physical_network
        )
        == {}
    )


@pytest.mark.parametrize(
    ("profile", "slot"),
    [
        pytest.param({"pci_slot": "0000:82:00.7"}, "0000:82:00.7", id="unknown-slot"),
        pytest.param({}, "None", id="no-slot"),
    ],
)
def test_a_move_refuses_a_port_whose_slot_it_cannot_correlate(
    profile: dict[str, JsonValue], slot: str
) -> None:
    stray = Port(PORT_ID, "net", V.DIRECT, profile)
    with pytest.raises(PortUpdateFailed) as caught:
        refresh_for_move(
            [stray], move_mapping([SRC], [DST]), physnet_for=lambda _: OVERLAY.physical_network
        )
    assert caught.value.message == (
        f"Port update failed for port {PORT_ID}: Unable to correlate PCI slot {slot}"
    )


def test_d4_a_move_checks_every_port_before_giving_any_profile() -> None:
    good = bound_port()
    second = AssignedDevice("req-2", replace(VF, address="0000:82:00.5"))
    bad_dst = AssignedDevice("req-2", replace(DEST_VF, address="0000:03:00.3", pf_mac_address=None))
    bad = Port("p-2", "net", V.REMOTE_MANAGED, {**good.binding_profile, "pci_slot": "0000:82:00.5"})
    with pytest.raises(RemoteManagedDeviceIncomplete) as caught:
        refresh_for_move(
            [good, bad],
            move_mapping([SRC, second], [DST, bad_dst]),
            physnet_for=lambda _: OVERLAY.physical_network,
        )
    assert (caught.value.port_id, caught.value.missing) == ("p-2", ("pf_mac_address",))

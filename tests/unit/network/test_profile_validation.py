"""binding:profile validation: ML2/OVN's parameter sets, all-or-nothing, its types and messages."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from offpath.errors import BindingProfileInvalid
from offpath.jsonvalue import JsonValue
from offpath.network.profile_validation import (
    RemoteManagedProfile,
    remote_managed_profile,
    validate_binding_profile,
)

RM = "remote-managed"
FULL: dict[str, JsonValue] = {
    "pci_vendor_info": "15b3:101e",
    "pci_slot": "0000:82:00.4",
    "physical_network": None,
    "card_serial_number": "MT0000X00002",
    "pf_mac_address": "52:54:00:1e:59:02",
    "vf_num": 3,
}
ALL_REQUIRED = (
    "Invalid binding:profile. dict_keys(['pci_vendor_info', 'pci_slot', 'physical_network', "
    "'card_serial_number', 'pf_mac_address', 'vf_num']) are all required."
)


def test_the_complete_remote_managed_set_is_returned_and_extra_keys_are_pruned() -> None:
    profile: dict[str, JsonValue] = {
        **FULL,
        "trusted": True,
        "capabilities": ["switchdev"],
        "allocation": "rp",
    }
    assert validate_binding_profile(profile, RM) == FULL


@pytest.mark.parametrize("profile", [None, {}], ids=["none", "empty"])
def test_no_profile_is_nothing_to_do(profile: dict[str, JsonValue] | None) -> None:
    assert validate_binding_profile(profile, RM) == {}
    assert remote_managed_profile(profile, RM) is None


def test_a_profile_with_no_remote_managed_key_is_accepted_as_no_dpu_info_yet() -> None:
    assert validate_binding_profile({"trusted": True}, RM) == {}


@pytest.mark.parametrize("missing", sorted(FULL))
def test_a_partial_remote_managed_set_is_refused_with_neutrons_message(missing: str) -> None:
    profile = {k: v for k, v in FULL.items() if k != missing}
    with pytest.raises(BindingProfileInvalid) as caught:
        validate_binding_profile(profile, RM)
    assert caught.value.message == ALL_REQUIRED
    assert caught.value.http_status == 400


@pytest.mark.parametrize(
    ("key", "value", "shown"),
    [
        pytest.param("vf_num", "4", "4", id="vf-num-string"),
        pytest.param("vf_num", 4.0, "4.0", id="vf-num-float"),
        pytest.param("vf_num", True, "True", id="vf-num-bool"),
        pytest.param("card_serial_number", 5, "5", id="serial-int"),
        pytest.param("pf_mac_address", None, "None", id="mac-null"),
        pytest.param("physical_network", ["p"], "['p']", id="physnet-list"),
        pytest.param("pci_slot", {"a": 1}, "{'a': 1}", id="slot-object"),
    ],
)
def test_a_wrong_type_is_refused_naming_key_and_value(key: str, value: Any, shown: str) -> None:
    with pytest.raises(BindingProfileInvalid) as caught:
        validate_binding_profile({**FULL, key: value}, RM)
    assert caught.value.message == f"Invalid binding:profile. {key} {shown} value invalid type"


def test_physical_network_may_be_a_string() -> None:
    assert (
        validate_binding_profile({**FULL, "physical_network": "physnet1"}, RM)["physical_network"]
        == "physnet1"
    )


def test_capabilities_must_be_a_list() -> None:
    with pytest.raises(BindingProfileInvalid, match=r"capabilities must be of type list\.$"):
        validate_binding_profile({"capabilities": "switchdev"}, RM)


def test_remote_managed_keys_are_ignored_on_a_normal_port() -> None:
    assert validate_binding_profile({"card_serial_number": "X"}, "normal") == {}


def test_parent_name_and_tag_go_together_for_any_vnic_type() -> None:
    with pytest.raises(BindingProfileInvalid, match=r"dict_keys\(\['parent_name', 'tag'\]\)"):
        validate_binding_profile({"parent_name": "p"}, RM)
    assert validate_binding_profile({"parent_name": "p", "tag": 1}, "normal") == {
        "parent_name": "p",
        "tag": 1,
    }


def test_the_switchdev_set_applies_to_direct_ports_unless_capabilities_exclude_it() -> None:
    with pytest.raises(BindingProfileInvalid, match="pci_slot"):
        validate_binding_profile({"pci_vendor_info": "15b3:101e"}, "direct")
    assert (
        validate_binding_profile({"pci_vendor_info": "x", "capabilities": ["rx"]}, "direct") == {}
    )


def test_a_profile_too_large_is_refused() -> None:
    with pytest.raises(BindingProfileInvalid, match="too large"):
        validate_binding_profile({"x": "a" * 5000}, RM)


def test_the_typed_remote_managed_part() -> None:
    assert remote_managed_profile(FULL, RM) == RemoteManagedProfile(
        "15b3:101e", "0000:82:00.4", None, "MT0000X00002", "52:54:00:1e:59:02", 3
    )
    assert remote_managed_profile(FULL, "direct") is None


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
keys = st.sampled_from([*FULL, "capabilities", "parent_name", "tag", "trusted", "x"])


@given(st.dictionaries(keys, json_values, max_size=8), st.sampled_from([RM, "direct", "normal"]))
def test_any_profile_is_accepted_as_a_subset_or_refused_with_a_typed_error(
    profile: dict[str, JsonValue], vnic: str
) -> None:
    try:
        found = validate_binding_profile(profile, vnic)
    except BindingProfileInvalid as exc:
        assert exc.message.startswith("Invalid binding:profile. ")
        return
    assert all(profile[key] == value for key, value in found.items())


@given(
    st.fixed_dictionaries({k: st.just(v) for k, v in FULL.items()}), st.sampled_from(sorted(FULL))
)
def test_removing_any_one_key_of_a_complete_set_is_refused(
    profile: dict[str, JsonValue], missing: str
) -> None:
    del profile[missing]
    with pytest.raises(BindingProfileInvalid):
        validate_binding_profile(profile, RM)

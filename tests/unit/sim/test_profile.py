"""Simulator profiles: the built-in cards, user YAML files, and clear errors for bad ones."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from offpath.errors import SimProfileInvalid, SimProfileNotFound
from offpath.sim.profile import (
    EswitchMode,
    HostProfile,
    builtin_profiles,
    load_profile,
    parse_profile,
)

VALID: dict[str, Any] = {
    "name": "mycard",
    "description": "a card of mine",
    "pfs_per_card": 2,
    "pf": {"vendor_id": "15b3", "device_id": "101d", "driver": "mlx5_core"},
    "vf": {"vendor_id": "15b3", "device_id": "101e", "driver": "mlx5_core"},
    "sriov": {"totalvfs": 16, "default_vfs": 4},
    "netdev": {
        "pf_ifname": "ens{slot}f{pf}np{pf}",
        "vf_ifname": "ens{slot}f{pf}v{vf}",
        "pf_mac_oui": "0c:42:a1",
    },
    "vpd": {
        "card_name": "My card",
        "serial_prefix": "MT2113X",
        "read_only": {"PN": "P-1", "SN": "{serial}"},
    },
}


def with_change(path: str, value: object) -> str:
    """VALID as YAML with one key set (value ...) or deleted (value is DELETE)."""
    document = copy.deepcopy(VALID)
    *parents, last = path.split(".")
    node = document
    for part in parents:
        node = node[part]
    if value is DELETE:
        del node[last]
    else:
        node[last] = value
    return yaml.safe_dump(document, sort_keys=False)


DELETE = object()


@pytest.mark.parametrize(
    ("name", "pf", "vf", "drivers", "pfs"),
    [
        pytest.param("bluefield2", "15b3:a2d6", "15b3:101e", ("mlx5_core", "mlx5_core"), 2),
        pytest.param("bluefield3", "15b3:a2dc", "15b3:101e", ("mlx5_core", "mlx5_core"), 2),
        pytest.param("cx6dx", "15b3:101d", "15b3:101e", ("mlx5_core", "mlx5_core"), 2),
        pytest.param("e810", "8086:1592", "8086:1889", ("ice", "iavf"), 2),
    ],
)
def test_built_in_profiles_carry_the_real_ids(
    name: str, pf: str, vf: str, drivers: tuple[str, str], pfs: int
) -> None:
    profile = load_profile(name)
    assert f"{profile.pf.vendor_id}:{profile.pf.device_id}" == pf
    assert f"{profile.vf.vendor_id}:{profile.vf.device_id}" == vf
    assert (profile.pf.driver, profile.vf.driver) == drivers
    assert (profile.name, profile.pfs_per_card, profile.cards) == (name, pfs, 1)


@pytest.mark.parametrize(
    ("name", "mode"),
    [
        pytest.param("bluefield2", None, id="bluefield2"),
        pytest.param("bluefield3", None, id="bluefield3"),
        pytest.param("cx6dx", EswitchMode.LEGACY, id="cx6dx"),
        pytest.param("e810", None, id="e810"),
    ],
)
def test_eswitch_mode_per_profile(name: str, mode: EswitchMode | None) -> None:
    assert load_profile(name).netdev.eswitch_mode is mode


def test_only_the_e810_has_no_serial() -> None:
    prefixes = {name: load_profile(name).vpd.serial_prefix for name in builtin_profiles()}
    assert [name for name, prefix in prefixes.items() if prefix is None] == ["e810"]


def test_a_profile_file_by_path(tmp_path: Path) -> None:
    path = tmp_path / "mycard.yaml"
    path.write_text(yaml.safe_dump(VALID))
    profile = load_profile(path)
    assert (profile.name, profile.source, profile.sriov_totalvfs) == ("mycard", str(path), 16)


def test_a_profile_file_by_path_string(tmp_path: Path) -> None:
    path = tmp_path / "mycard.yaml"
    path.write_text(yaml.safe_dump(VALID))
    assert load_profile(str(path)).name == "mycard"


def test_defaults_of_optional_keys() -> None:
    profile = parse_profile(yaml.safe_dump(VALID), source="t")
    assert profile.cards == 1
    assert profile.pf.subsystem_vendor_id == "15b3"
    assert profile.pf.device_class == 0x020000
    assert profile.first_vf_offset is None
    assert profile.netdev.eswitch_mode is None
    assert (profile.vpd.on_vfs, profile.vpd.read_write, profile.vpd.rw_size) == (False, (), 0)


def test_an_unquoted_numeric_id_is_read_as_its_digits() -> None:
    profile = parse_profile(with_change("pf.device_id", 1592), source="t")
    assert profile.pf.device_id == "1592"


def test_an_unknown_name_is_not_found() -> None:
    with pytest.raises(SimProfileNotFound) as raised:
        load_profile("bluefield9")
    assert raised.value.code == "sim.profile.not_found"
    assert "bluefield2" in raised.value.hint


def test_a_file_that_is_not_yaml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("name: [unclosed\n")
    with pytest.raises(SimProfileInvalid, match="not valid YAML") as raised:
        load_profile(path)
    assert raised.value.source == str(path)


def test_a_directory_is_not_a_readable_profile(tmp_path: Path) -> None:
    with pytest.raises(SimProfileInvalid, match="cannot read the file"):
        load_profile(tmp_path)


@pytest.mark.parametrize(
    ("path", "value", "key", "problem"),
    [
        pytest.param("name", DELETE, "name", "missing", id="missing"),
        pytest.param("colour", "red", "colour", "unknown key", id="unknown-top"),
        pytest.param("pf.colour", "red", "pf.colour", "unknown key", id="unknown-nested"),
        pytest.param("name", "My Card", "name", "is not lowercase", id="name"),
        pytest.param("pf.vendor_id", "15b", "pf.vendor_id", "4 hex digits", id="short-id"),
        pytest.param("pf.vendor_id", "0x15b3", "pf.vendor_id", "4 hex digits", id="0x-id"),
        pytest.param("vf.device_id", True, "vf.device_id", "4 hex digits", id="bool-id"),
        pytest.param("pf.driver", "mlx5 core", "pf.driver", "kernel driver", id="driver"),
        pytest.param("pfs_per_card", 0, "pfs_per_card", "out of range", id="no-pf"),
        pytest.param("pfs_per_card", "2", "pfs_per_card", "must be an integer", id="str-int"),
        pytest.param("sriov.totalvfs", 70000, "sriov.totalvfs", "out of range", id="totalvfs"),
        pytest.param("sriov.default_vfs", 17, "sriov.default_vfs", "out of range", id="default"),
        pytest.param(
            "sriov.first_vf_offset", 1, "sriov.first_vf_offset", "PFs' routing ids", id="offset"
        ),
        pytest.param("sriov", [1], "sriov", "must be a mapping", id="not-mapping"),
        pytest.param(
            "netdev.vf_ifname", "vf{port}", "netdev.vf_ifname", "unknown placeholder", id="field"
        ),
        pytest.param(
            "netdev.vf_ifname", "vf{vf:x}", "netdev.vf_ifname", "unknown placeholder", id="spec"
        ),
        pytest.param("netdev.pf_ifname", "p{", "netdev.pf_ifname", "not a valid", id="brace"),
        pytest.param("netdev.pf_mac_oui", "01:00:5e", "netdev.pf_mac_oui", "unicast", id="oui"),
        pytest.param("netdev.pf_mac_oui", "0c42a1", "netdev.pf_mac_oui", "hex bytes", id="oui2"),
        pytest.param(
            "netdev.eswitch_mode", "offload", "netdev.eswitch_mode", "switchdev", id="mode"
        ),
        pytest.param("netdev.phys_switch_id", "yes", "netdev.phys_switch_id", "true or", id="b"),
        pytest.param(
            "vpd.serial_prefix", None, "vpd.read_only", "serial_prefix is null", id="no-prefix"
        ),
        pytest.param("vpd.serial_prefix", "mt21", "vpd.serial_prefix", "uppercase", id="prefix"),
        pytest.param(
            "vpd.read_only", {"PN": "P-1"}, "vpd.read_only", 'has no SN: "{serial}"', id="no-sn"
        ),
        pytest.param(
            "vpd.read_only",
            {"SN": "{serial}", "RV": "x"},
            "vpd.read_only.RV",
            "not a keyword the caller gives",
            id="rv",
        ),
        pytest.param(
            "vpd.read_only",
            {"SN": "{serial}", "pn": "x"},
            "vpd.read_only.pn",
            "two uppercase",
            id="keyword",
        ),
        pytest.param(
            "vpd.read_only",
            {"SN": "{serial}", "V0": "x" * 256},
            "vpd.read_only.V0",
            "255 fit",
            id="too-long",
        ),
        pytest.param(
            "vpd.read_only",
            {"SN": "{serial}", "V1": "caf\u00e9"},
            "vpd.read_only.V1",
            "not printable ASCII",
            id="not-ascii",
        ),
        pytest.param(
            "vpd.read_write", {"PN": "x"}, "vpd.read_write.PN", "only V* and Y*", id="rw-keyword"
        ),
        pytest.param("vpd.rw_size", 256, "vpd.rw_size", "out of range", id="rw-size"),
    ],
)
def test_a_bad_key_is_named_with_its_file(path: str, value: object, key: str, problem: str) -> None:
    with pytest.raises(SimProfileInvalid) as raised:
        parse_profile(with_change(path, value), source="my.yaml")
    error = raised.value
    assert (error.code, error.source, error.key) == ("sim.profile.invalid", "my.yaml", key)
    assert problem in error.problem
    assert error.message.startswith(f"simulator profile my.yaml: {key}: ")


def test_a_document_that_is_not_a_mapping() -> None:
    with pytest.raises(SimProfileInvalid, match="must be a mapping"):
        parse_profile("- a\n- b\n", source="list.yaml")


@given(st.text(max_size=300))
def test_any_text_is_a_profile_or_a_typed_error(text: str) -> None:
    try:
        profile = parse_profile(text, source="fuzz")
    except SimProfileInvalid:
        return
    assert isinstance(profile, HostProfile)


SCALARS = st.none() | st.booleans() | st.integers() | st.text(max_size=20)


@given(
    st.sampled_from(
        [
            *("name", "pf", "pf.vendor_id", "sriov", "sriov.totalvfs", "netdev.pf_ifname"),
            *(
                "vpd",
                "vpd.read_only",
                "vpd.card_name",
                "cards",
                "vpd.on_vfs",
                "netdev.eswitch_mode",
            ),
        ]
    ),
    st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3), max_leaves=5)
    | st.dictionaries(st.text(max_size=5), SCALARS, max_size=3),
)
def test_any_value_of_a_key_is_accepted_or_a_typed_error(path: str, value: object) -> None:
    try:
        parse_profile(with_change(path, value), source="fuzz")
    except SimProfileInvalid as exc:
        assert exc.source == "fuzz"

"""One `[pci] device_spec` entry: keys, tags, devname, PF rules, remote-managed checks, matching.

nova-behaviour.md §1.3, §1.5, §1.6, §1.7 and decisions D1, D2, D3 of spec/README.md,
on the real-layout sysfs tree of conftest.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from offpath.errors import (
    OffpathError,
    PciConfigInvalidSpec,
    PciDeviceInvalidDeviceName,
    PciDeviceInvalidPFRemoteManaged,
    PciDeviceNotFoundById,
    PciDeviceRemoteManagedNotPresent,
    PciDeviceWrongAddressFormat,
)
from offpath.jsonvalue import JsonValue
from offpath.pci.address import ANY, GlobPattern, PciAddress, PhysicalFunctionPattern, RegexPattern
from offpath.pci.spec import NO_SERIAL, DeviceSpec, SpecVerdict, parse_spec
from offpath.pci.sysfs import device_dir

ACCEPTED = "'0', '1', 'f', 'false', 'n', 'no', 'off', 'on', 't', 'true', 'y', 'yes'"
SERIAL = "MT2113X00000"
PF0 = PciAddress.parse("0000:03:00.0")


@dataclass(frozen=True, slots=True)
class Dev:
    """The facts of a device that matching reads."""

    address: str
    vendor_id: str = "15b3"
    product_id: str = "101e"
    parent_addr: str | None = None
    card_serial_number: str | None = None


BF2_PF = Dev("0000:03:00.0", product_id="a2d6", card_serial_number=SERIAL)
BF2_VF = Dev("0000:03:00.2", parent_addr="0000:03:00.0", card_serial_number=SERIAL)
BF2_VF_NO_SERIAL = Dev("0000:03:00.5", parent_addr="0000:03:00.0")
BF2_P1 = Dev("0000:03:00.1", product_id="a2d6", card_serial_number=SERIAL)
INTEL_VF = Dev("0000:81:10.0", vendor_id="8086", product_id="10ed", parent_addr="0000:81:00.0")

PF_BY_GLOB: dict[str, JsonValue] = {"address": "0000:03:00.0"}
PF_BY_REGEX: dict[str, JsonValue] = {
    "address": {"domain": "0000", "bus": "03", "slot": "00", "function": "0"}
}
PF_BY_DEVNAME: dict[str, JsonValue] = {"devname": "p0"}
PF_WAYS = [
    pytest.param(PF_BY_GLOB, id="glob"),
    pytest.param(PF_BY_REGEX, id="regex"),
    pytest.param(PF_BY_DEVNAME, id="devname"),
]


def _parse(
    spec: dict[str, JsonValue], root: Path, *, placement: bool = False, index: int = 0
) -> DeviceSpec:
    return parse_spec(spec, index=index, sysfs_root=root, report_in_placement=placement)


def _reason(spec: dict[str, JsonValue], root: Path, *, placement: bool = False) -> str:
    with pytest.raises(PciConfigInvalidSpec) as caught:
        _parse(spec, root, placement=placement)
    return caught.value.reason


# --- §1.3 vendor_id and product_id ----------------------------------------------


def test_s1_3_ids_default_to_wildcard(sysfs_root: Path) -> None:
    spec = _parse({}, sysfs_root)
    assert (spec.vendor_id, spec.product_id) == (ANY, ANY)


@pytest.mark.parametrize(
    ("given_spec", "ids"),
    [
        pytest.param({"vendor_id": " 15B3 "}, ("15b3", ANY), id="s1.3-vendor-stripped-lowercased"),
        pytest.param({"vendor_id": "0x15b3"}, ("15b3", ANY), id="s1.3-vendor-0x"),
        pytest.param({"vendor_id": " * "}, (ANY, ANY), id="s1.3-vendor-wildcard-stripped"),
        pytest.param({"product_id": "0X101E"}, (ANY, "101e"), id="s1.3-product-0X"),
        pytest.param({"product_id": "a"}, (ANY, "000a"), id="s1.3-product-padded"),
        pytest.param({"product_id": "ffff"}, (ANY, "ffff"), id="s1.3-product-maximum"),
        # Not written by Nova's docs; a JSON number reads as its digits.
        pytest.param({"vendor_id": 1234}, ("1234", ANY), id="json-number"),
    ],
)
def test_s1_3_ids_are_normalised(
    sysfs_root: Path, given_spec: dict[str, JsonValue], ids: tuple[str, str]
) -> None:
    spec = _parse(given_spec, sysfs_root)
    assert (spec.vendor_id, spec.product_id) == ids


@pytest.mark.parametrize(
    ("given_spec", "reason"),
    [
        pytest.param(
            {"vendor_id": "15g3"},
            "property vendor_id ('15g3') does not parse as a hex number.",
            id="s1.3-vendor-not-hex",
        ),
        pytest.param(
            {"product_id": "101g"},
            "property product_id ('101g') does not parse as a hex number.",
            id="s1.3-product-not-hex",
        ),
        pytest.param(
            {"vendor_id": "10000"},
            "property vendor_id (10000) is greater than the maximum allowable value (FFFF).",
            id="s1.3-vendor-above-ffff",
        ),
        pytest.param(
            {"product_id": "0x10000"},
            "property product_id (0x10000) is greater than the maximum allowable value (FFFF).",
            id="s1.3-product-above-ffff",
        ),
        pytest.param(
            {"product_id": " * "},
            "property product_id (' * ') does not parse as a hex number.",
            id="s1.3-product-not-stripped",
        ),
        pytest.param(
            {"vendor_id": None},
            "property vendor_id ('None') does not parse as a hex number.",
            id="null",
        ),
    ],
)
def test_s1_3_id_errors(sysfs_root: Path, given_spec: dict[str, JsonValue], reason: str) -> None:
    assert _reason(given_spec, sysfs_root) == reason


# --- §1.3 devname and address ---------------------------------------------------


def test_s1_5_devname_and_address_conflict(sysfs_root: Path) -> None:
    with pytest.raises(PciDeviceInvalidDeviceName) as caught:
        _parse({"devname": "p0", "address": "0000:03:00.0"}, sysfs_root)
    assert str(caught.value) == (
        "Invalid PCI Whitelist: The PCI whitelist can specify devname or address, but not both"
    )
    assert caught.value.code == "pci.devspec.devname_and_address"


def test_s1_3_empty_devname_is_absent(sysfs_root: Path) -> None:
    spec = _parse({"devname": "", "address": "0000:81:10.0"}, sysfs_root)
    assert spec.devname is None
    assert spec.address == GlobPattern("0000", "81", "10", "0")


def test_s1_3_empty_address_beside_a_devname_is_no_conflict(sysfs_root: Path) -> None:
    spec = _parse({"devname": "eno1", "address": ""}, sysfs_root)
    assert spec.address == GlobPattern("0000", "00", "1f", "6")


def test_devname_must_be_a_string(sysfs_root: Path) -> None:
    # Nova crashes with a TypeError; offpath names the bad value.
    assert _reason({"devname": 5}, sysfs_root) == "devname (5) must be a string"


@pytest.mark.parametrize(
    "given_spec",
    [
        pytest.param({}, id="s1.3-absent"),
        pytest.param({"address": None}, id="null"),
        pytest.param({"address": ""}, id="empty-string"),
    ],
)
def test_s1_3_absent_address_is_every_address(
    sysfs_root: Path, given_spec: dict[str, JsonValue]
) -> None:
    spec = _parse(given_spec, sysfs_root)
    assert spec.address == GlobPattern()
    assert spec.matches(Dev("ffff:ff:1f.7", vendor_id="1af4", product_id="1000"))


def test_s1_4_address_list_is_wrong_format(sysfs_root: Path) -> None:
    with pytest.raises(PciDeviceWrongAddressFormat):
        _parse({"address": ["0000:03:00.0"]}, sysfs_root)


def test_s1_4_regex_address_object(sysfs_root: Path) -> None:
    spec = _parse({"address": {"bus": "8"}}, sysfs_root)
    assert isinstance(spec.address, RegexPattern)
    assert spec.matches(INTEL_VF)


# --- §1.3 tags ------------------------------------------------------------------


def test_s1_3_other_keys_are_tags_with_raw_values(sysfs_root: Path) -> None:
    given_tags: dict[str, JsonValue] = {
        "physical_network": "physnet1",
        "custom": 3,
        "nested": {"a": [1, None]},
    }
    spec = _parse({"vendor_id": "15b3", "address": "03:00.*", **given_tags}, sysfs_root)
    assert spec.tags == given_tags


@pytest.mark.parametrize(
    ("given_spec", "physnet"),
    [
        pytest.param({"physical_network": "physnet1"}, "physnet1", id="s1.3-named"),
        pytest.param({"physical_network": None}, None, id="s1.3-null-is-overlay"),
        pytest.param({}, None, id="s1.3-absent-is-overlay"),
    ],
)
def test_s1_3_physical_network(
    sysfs_root: Path, given_spec: dict[str, JsonValue], physnet: str | None
) -> None:
    assert _parse(given_spec, sysfs_root).physical_network == physnet


def test_s1_3_resource_class_and_traits_are_no_pool_keys(sysfs_root: Path) -> None:
    spec = _parse(
        {"physical_network": "physnet1", "resource_class": "CUSTOM_X", "traits": "CUSTOM_Y"},
        sysfs_root,
    )
    assert spec.pool_tags() == {"physical_network": "physnet1"}
    assert spec.tags["resource_class"] == "CUSTOM_X"


BOOL_TAGS = [
    pytest.param("managed", id="s1.3-managed"),
    pytest.param("live_migratable", id="s1.3-live_migratable"),
    pytest.param("one_time_use", id="s1.3-one_time_use"),
    pytest.param("remote_managed", id="D3-remote_managed"),
    pytest.param("trusted", id="D3-trusted"),
]


@pytest.mark.parametrize("tag", BOOL_TAGS)
@pytest.mark.parametrize(
    ("value", "word"),
    [
        pytest.param("yes", "true", id="yes"),
        pytest.param(" TRUE ", "true", id="spaced-TRUE"),
        pytest.param("1", "true", id="1"),
        pytest.param("on", "true", id="on"),
        pytest.param(True, "true", id="json-true"),
        pytest.param("No", "false", id="No"),
        pytest.param("off", "false", id="off"),
        pytest.param("0", "false", id="0"),
        pytest.param(False, "false", id="json-false"),
    ],
)
def test_s1_3_boolean_tags_are_normalised(
    sysfs_root: Path, tag: str, value: JsonValue, word: str
) -> None:
    spec = _parse({tag: value}, sysfs_root, placement=True)
    assert spec.tags[tag] == word


@pytest.mark.parametrize("tag", BOOL_TAGS)
def test_s1_3_boolean_tag_unparseable_is_novas_message(sysfs_root: Path, tag: str) -> None:
    assert _reason({tag: "maybe"}, sysfs_root, placement=True) == (
        f"Cannot parse tag '{tag}': Unrecognized value 'maybe', acceptable values are: {ACCEPTED}"
    )


def test_s1_3_boolean_tag_error_quotes_a_non_string_value(sysfs_root: Path) -> None:
    # JSON null is no value and is left alone (tests/unit/pci/test_review_spec_tags.py).
    assert _reason({"managed": 2}, sysfs_root).startswith(
        "Cannot parse tag 'managed': Unrecognized value '2',"
    )


def test_d3_boolean_tag_error_hint_names_the_spec(sysfs_root: Path) -> None:
    with pytest.raises(PciConfigInvalidSpec) as caught:
        _parse({"address": "03:00.*", "remote_managed": "maybe"}, sysfs_root)
    assert caught.value.hint == (
        'in the spec {"address": "03:00.*", "remote_managed": "maybe"}, '
        'write "remote_managed": "true" or "false"'
    )


@pytest.mark.parametrize(
    ("value", "remote_managed"),
    [
        pytest.param("yes", True, id="D3-yes"),
        pytest.param("True", True, id="D3-True"),
        pytest.param("1", True, id="D3-1"),
        pytest.param("no", False, id="D3-no"),
        pytest.param(False, False, id="D3-json-false"),
    ],
)
def test_d3_remote_managed_spellings(
    sysfs_root: Path, value: JsonValue, remote_managed: bool
) -> None:
    assert _parse({"remote_managed": value}, sysfs_root).remote_managed is remote_managed


def test_s1_3_remote_managed_absent_is_false(sysfs_root: Path) -> None:
    spec = _parse({}, sysfs_root)
    assert spec.remote_managed is False
    assert "remote_managed" not in spec.tags


@pytest.mark.parametrize("value", ["true", "yes", True])
def test_s1_3_one_time_use_true_requires_report_in_placement(
    sysfs_root: Path, value: JsonValue
) -> None:
    assert _reason({"one_time_use": value}, sysfs_root) == (
        "one_time_use=true requires pci.report_in_placement to be enabled"
    )


def test_s1_3_one_time_use_true_with_report_in_placement(sysfs_root: Path) -> None:
    spec = _parse({"one_time_use": "true"}, sysfs_root, placement=True)
    assert spec.tags["one_time_use"] == "true"


def test_s1_3_one_time_use_false_needs_no_placement(sysfs_root: Path) -> None:
    assert _parse({"one_time_use": "false"}, sysfs_root).tags["one_time_use"] == "false"


# --- §1.5 devname ----------------------------------------------------------------


def test_s1_5_devname_of_a_pf_selects_the_pf_and_its_vfs(sysfs_root: Path) -> None:
    spec = _parse(PF_BY_DEVNAME, sysfs_root)
    assert spec.address == PhysicalFunctionPattern(PF0)
    assert [spec.matches(d) for d in (BF2_PF, BF2_VF, BF2_P1)] == [True, True, False]


def test_s1_5_devname_of_a_vf_selects_only_that_function(sysfs_root: Path) -> None:
    spec = _parse({"devname": "enp3s0f0v1"}, sysfs_root)
    assert spec.address == GlobPattern("0000", "03", "00", "3")
    vf1 = Dev("0000:03:00.3", parent_addr="0000:03:00.0")
    assert [spec.matches(d) for d in (vf1, BF2_VF, BF2_PF)] == [True, False, False]


def test_s1_5_devname_of_a_nic_without_sriov_is_its_address(sysfs_root: Path) -> None:
    assert _parse({"devname": "eno1"}, sysfs_root).address == GlobPattern("0000", "00", "1f", "6")


def test_s1_5_unresolved_devname_matches_nothing(sysfs_root: Path) -> None:
    spec = _parse({"devname": "nope0"}, sysfs_root)
    assert spec.address is None
    assert spec.verdict(BF2_PF) == SpecVerdict(
        0, False, "spec #0: devname nope0 is not present on this host"
    )


def test_s1_5_devname_is_looked_up_at_every_match(sysfs_root: Path) -> None:
    spec = _parse({"devname": "eth9"}, sysfs_root)
    assert not spec.matches(BF2_PF)
    # The netdev appears later (a driver loaded after start-up).
    p0 = sysfs_root / "class" / "net" / "p0"
    (sysfs_root / "class" / "net" / "eth9").symlink_to(p0.readlink())
    assert spec.matches(BF2_PF)


def test_s1_5_devname_that_disappears_stops_matching(sysfs_root: Path) -> None:
    spec = _parse(PF_BY_DEVNAME, sysfs_root)
    (sysfs_root / "class" / "net" / "p0").unlink()
    assert spec.verdict(BF2_VF).reason == "spec #0: devname p0 is not present on this host"


# --- §1.5 PF detection of an address ---------------------------------------------


@pytest.mark.parametrize(
    ("address", "pf"),
    [
        pytest.param("0000:03:00.0", True, id="s1.5-glob-pf"),
        pytest.param("0:3:0.0", True, id="s1.5-glob-pf-short-fields"),
        pytest.param("0000:03:00.1", True, id="s1.5-glob-pf-without-vfs-enabled"),
        pytest.param("0000:03:00.2", False, id="s1.5-glob-vf"),
        pytest.param("0000:05:00.0", False, id="s1.5-totalvfs-0"),
        pytest.param("0000:06:00.0", False, id="s1.5-totalvfs-garbage"),
        pytest.param("03:00.0", False, id="s1.5-wildcard-domain-not-single"),
        pytest.param("0000:03:00.*", False, id="s1.5-wildcard-function-not-single"),
    ],
)
def test_s1_5_single_address_of_a_pf_is_flagged(sysfs_root: Path, address: str, pf: bool) -> None:
    spec = _parse({"address": address}, sysfs_root)
    assert isinstance(spec.address, PhysicalFunctionPattern) is pf


def test_s1_5_single_regex_address_of_a_pf_is_flagged(sysfs_root: Path) -> None:
    assert _parse(PF_BY_REGEX, sysfs_root).address == PhysicalFunctionPattern(PF0)


def test_s1_5_regex_with_a_wildcard_is_not_flagged(sysfs_root: Path) -> None:
    spec = _parse({"address": {"domain": "0000", "bus": "03", "slot": "00"}}, sysfs_root)
    assert isinstance(spec.address, RegexPattern)


def test_s1_5_without_a_pci_tree_no_address_is_a_pf(empty_sysfs_root: Path) -> None:
    assert _parse(PF_BY_GLOB, empty_sysfs_root).address == GlobPattern("0000", "03", "00", "0")


@pytest.mark.parametrize("pf_spec", PF_WAYS)
@pytest.mark.parametrize(
    ("device", "selected"),
    [
        pytest.param(BF2_PF, True, id="the-pf"),
        pytest.param(BF2_VF, True, id="its-vf"),
        pytest.param(Dev("0000:99:00.1", parent_addr="0000:03:00.0"), True, id="parent-trusted"),
        pytest.param(BF2_P1, False, id="the-other-pf"),
        pytest.param(INTEL_VF, False, id="another-pfs-vf"),
    ],
)
def test_s1_5_pf_flagged_spec_matches_the_pf_and_its_vfs(
    sysfs_root: Path, pf_spec: dict[str, JsonValue], device: Dev, selected: bool
) -> None:
    assert _parse(pf_spec, sysfs_root).matches(device) is selected


def test_s1_5_non_pf_spec_compares_only_the_devices_own_address(sysfs_root: Path) -> None:
    spec = _parse({"address": "0000:05:00.0"}, sysfs_root)
    assert not spec.matches(Dev("0000:05:00.1", parent_addr="0000:05:00.0"))


# --- §1.6 remote-managed checks ---------------------------------------------------


def test_s1_6_unresolved_remote_managed_devname_is_not_present(sysfs_root: Path) -> None:
    with pytest.raises(PciDeviceRemoteManagedNotPresent) as caught:
        _parse({"devname": "nope0", "remote_managed": "true"}, sysfs_root)
    assert str(caught.value) == (
        'Invalid PCI Whitelist: A device specified as "remote_managed" is not actually '
        "present on the host"
    )
    assert "'nope0'" in caught.value.hint


def test_s1_6_unresolved_devname_not_remote_managed_is_accepted(sysfs_root: Path) -> None:
    assert _parse({"devname": "nope0", "remote_managed": "false"}, sysfs_root).address is None


def test_s1_6_remote_managed_devname_of_a_vf_is_accepted(sysfs_root: Path) -> None:
    spec = _parse({"devname": "enp3s0f0v1", "remote_managed": "true"}, sysfs_root)
    assert spec.remote_managed


def test_d1_the_tree_has_no_product_file(sysfs_root: Path) -> None:
    assert not (device_dir(sysfs_root, PF0) / "product").exists()
    assert (device_dir(sysfs_root, PF0) / "device").read_text() == "0xa2d6\n"


@pytest.mark.parametrize("pf_spec", PF_WAYS)
@pytest.mark.parametrize(
    "ids",
    [
        pytest.param({"product_id": "101e"}, id="vf-product"),
        pytest.param({"vendor_id": "15b3", "product_id": "101e"}, id="vf-vendor-and-product"),
        pytest.param({"vendor_id": "0x15B3", "product_id": "0x101E"}, id="spelt-differently"),
    ],
)
def test_d1_vf_by_pf_selection_is_accepted(
    sysfs_root: Path, pf_spec: dict[str, JsonValue], ids: dict[str, JsonValue]
) -> None:
    spec = _parse({**pf_spec, **ids, "remote_managed": "true"}, sysfs_root)
    assert spec.remote_managed
    assert [spec.matches(d) for d in (BF2_VF, BF2_PF)] == [True, False]


@pytest.mark.parametrize("pf_spec", PF_WAYS)
@pytest.mark.parametrize(
    "ids",
    [
        pytest.param({}, id="any-vendor-any-product"),
        pytest.param({"vendor_id": "15b3"}, id="pf-vendor-any-product"),
        pytest.param({"product_id": "a2d6"}, id="pf-product"),
        pytest.param({"vendor_id": "15b3", "product_id": "a2d6"}, id="pf-vendor-and-product"),
    ],
)
def test_d2_remote_managed_pf_is_refused_naming_the_pf(
    sysfs_root: Path, pf_spec: dict[str, JsonValue], ids: dict[str, JsonValue]
) -> None:
    with pytest.raises(PciDeviceInvalidPFRemoteManaged) as caught:
        _parse({**pf_spec, **ids, "remote_managed": "true"}, sysfs_root)
    assert str(caught.value) == (
        "PF 0000:03:00.0 is tagged remote_managed: a PF cannot be remote-managed, "
        "tag its VFs instead"
    )


def test_d2_hint_says_how_to_select_the_vfs(sysfs_root: Path) -> None:
    with pytest.raises(PciDeviceInvalidPFRemoteManaged) as caught:
        _parse({**PF_BY_GLOB, "remote_managed": "true"}, sysfs_root)
    assert caught.value.code == "pci.devspec.remote_managed_pf"
    assert caught.value.hint.startswith(
        'add "product_id": "101e" (the VF product id of this PF) so the spec selects its VFs'
    )


def test_d2_pf_without_vfs_enabled_is_refused_too(sysfs_root: Path) -> None:
    with pytest.raises(PciDeviceInvalidPFRemoteManaged) as caught:
        _parse({"address": "0000:03:00.1", "remote_managed": "true"}, sysfs_root)
    assert caught.value.pf_address == "0000:03:00.1"


@pytest.mark.parametrize(
    ("ids", "shown"),
    [
        pytest.param({"product_id": "1234"}, ("*", "1234"), id="s1.6-other-product"),
        pytest.param(
            {"vendor_id": "8086", "product_id": "101e"}, ("8086", "101e"), id="s1.6-other-vendor"
        ),
        pytest.param(
            {"vendor_id": "8086", "product_id": "a2d6"}, ("8086", "a2d6"), id="s1.6-pf-product"
        ),
        pytest.param({"vendor_id": "8086"}, ("8086", "*"), id="s1.6-other-vendor-any-product"),
    ],
)
def test_s1_6_ids_matching_neither_pf_nor_vfs(
    sysfs_root: Path, ids: dict[str, JsonValue], shown: tuple[str, str]
) -> None:
    assert _reason({**PF_BY_GLOB, **ids, "remote_managed": "true"}, sysfs_root) == (
        f"the specified VF vendor ID {shown[0]} and product ID {shown[1]} do not match the "
        "expected VF IDs based on the corresponding PF identified by PCI address 0000:03:00.0"
    )


def test_s1_6_mismatch_hint_gives_the_vf_ids(sysfs_root: Path) -> None:
    with pytest.raises(PciConfigInvalidSpec) as caught:
        _parse({**PF_BY_GLOB, "product_id": "1234", "remote_managed": "true"}, sysfs_root)
    assert caught.value.hint == "the VFs of PF 0000:03:00.0 are 15b3:101e"


@pytest.mark.parametrize("missing", ["sriov_vf_device", "vendor", "device"])
def test_s1_6_unreadable_pf_ids_are_device_not_found(sysfs_root: Path, missing: str) -> None:
    (device_dir(sysfs_root, PF0) / missing).unlink()
    with pytest.raises(PciDeviceNotFoundById) as caught:
        _parse({**PF_BY_GLOB, "product_id": "101e", "remote_managed": "true"}, sysfs_root)
    assert str(caught.value) == "PCI device 0000:03:00.0 not found"


@pytest.mark.parametrize(
    "given_spec",
    [
        pytest.param({"remote_managed": "false"}, id="s1.6-false"),
        pytest.param({}, id="s1.6-untagged"),
        pytest.param({"remote_managed": "no"}, id="D3-no"),
    ],
)
def test_s1_6_pf_not_remote_managed_needs_no_check(
    sysfs_root: Path, given_spec: dict[str, JsonValue]
) -> None:
    # Without the VF id file any PF check would fail: none runs.
    (device_dir(sysfs_root, PF0) / "sriov_vf_device").unlink()
    assert _parse({**PF_BY_GLOB, **given_spec}, sysfs_root).matches(BF2_PF)


@pytest.mark.parametrize(
    "address",
    [
        pytest.param("0000:03:00.*", id="s1.6-glob-with-wildcard"),
        pytest.param("0000:03:00.2", id="s1.6-vf-address"),
        pytest.param({"bus": "03"}, id="s1.6-regex-with-wildcards"),
    ],
)
def test_s1_6_non_pf_addresses_are_accepted_without_checks(
    sysfs_root: Path, address: JsonValue
) -> None:
    (device_dir(sysfs_root, PF0) / "sriov_vf_device").unlink()
    assert _parse({"address": address, "remote_managed": "true"}, sysfs_root).remote_managed


# --- §1.6 order of the checks: the first failure wins ------------------------------


@pytest.mark.parametrize(
    ("given_spec", "error", "starts"),
    [
        pytest.param(
            {"vendor_id": "x", "product_id": "y"},
            PciConfigInvalidSpec,
            "Invalid [pci]device_spec config: property vendor_id",
            id="vendor-before-product",
        ),
        pytest.param(
            {"product_id": "y", "devname": "p0", "address": "0000:03:00.0"},
            PciConfigInvalidSpec,
            "Invalid [pci]device_spec config: property product_id",
            id="product-before-conflict",
        ),
        pytest.param(
            {"devname": "p0", "address": "0000:0a:0b:00.5"},
            PciDeviceInvalidDeviceName,
            "Invalid PCI Whitelist",
            id="conflict-before-address",
        ),
        pytest.param(
            {"address": "0000:0a:0b:00.5", "managed": "maybe"},
            PciDeviceWrongAddressFormat,
            "The PCI address 0000:0a:0b:00.5",
            id="address-before-tags",
        ),
        pytest.param(
            {"managed": "maybe", "live_migratable": "maybe"},
            PciConfigInvalidSpec,
            "Invalid [pci]device_spec config: Cannot parse tag 'managed'",
            id="managed-before-live_migratable",
        ),
        pytest.param(
            {"live_migratable": "maybe", "one_time_use": "maybe"},
            PciConfigInvalidSpec,
            "Invalid [pci]device_spec config: Cannot parse tag 'live_migratable'",
            id="live_migratable-before-one_time_use",
        ),
        pytest.param(
            {"devname": "nope0", "remote_managed": "true", "managed": "maybe"},
            PciConfigInvalidSpec,
            "Invalid [pci]device_spec config: Cannot parse tag 'managed'",
            id="tags-before-remote-managed-presence",
        ),
        pytest.param(
            {"devname": "nope0", "remote_managed": "true", "one_time_use": "true"},
            PciConfigInvalidSpec,
            "Invalid [pci]device_spec config: one_time_use=true requires",
            id="placement-before-remote-managed-presence",
        ),
        pytest.param(
            {**PF_BY_GLOB, "remote_managed": "true", "one_time_use": "true"},
            PciConfigInvalidSpec,
            "Invalid [pci]device_spec config: one_time_use=true requires",
            id="placement-before-pf-prohibition",
        ),
        pytest.param(
            {"devname": "nope0", "remote_managed": "maybe"},
            PciConfigInvalidSpec,
            "Invalid [pci]device_spec config: Cannot parse tag 'remote_managed'",
            id="D3-value-before-presence",
        ),
    ],
)
def test_s1_6_order_of_checks(
    sysfs_root: Path, given_spec: dict[str, JsonValue], error: type[Exception], starts: str
) -> None:
    with pytest.raises(error) as caught:
        _parse(given_spec, sysfs_root)
    assert str(caught.value).startswith(starts)


# --- §1.7 matching a device ----------------------------------------------------------


@pytest.mark.parametrize(
    ("given_spec", "device", "verdict"),
    [
        pytest.param(
            {"vendor_id": "15b3"},
            INTEL_VF,
            SpecVerdict(0, False, "spec #0: vendor_id 8086 is not 15b3"),
            id="s1.7-vendor",
        ),
        pytest.param(
            {"product_id": "101d"},
            BF2_VF,
            SpecVerdict(0, False, "spec #0: product_id 101e is not 101d"),
            id="s1.7-product",
        ),
        pytest.param(
            {"address": "0000:03:00.*"},
            INTEL_VF,
            SpecVerdict(0, False, "spec #0: address 0000:81:10.0 is not in 0000:03:00.*"),
            id="s1.7-address",
        ),
        pytest.param(
            {"vendor_id": "15b3", "product_id": "101e", "address": "03:00.*"},
            BF2_VF,
            SpecVerdict(0, True, "spec #0 matches"),
            id="s1.7-all-hold",
        ),
        pytest.param(
            {"vendor_id": "15b3"},
            Dev("0000:03:00.2", vendor_id="15B3"),
            SpecVerdict(0, False, "spec #0: vendor_id 15B3 is not 15b3"),
            id="s1.7-exact-string",
        ),
        pytest.param(
            {"vendor_id": "8086", "address": "0000:03:00.*"},
            Dev("10000:03:00.2"),
            SpecVerdict(0, False, "spec #0: vendor_id 15b3 is not 8086"),
            id="s1.7-ids-before-address",
        ),
    ],
)
def test_s1_7_verdicts(
    sysfs_root: Path, given_spec: dict[str, JsonValue], device: Dev, verdict: SpecVerdict
) -> None:
    spec = _parse(given_spec, sysfs_root)
    assert spec.verdict(device) == verdict
    assert spec.matches(device) is verdict.matched


@pytest.mark.parametrize(
    "given_spec",
    [pytest.param({}, id="every-address"), pytest.param({"address": {"bus": ".*"}}, id="regex")],
)
def test_s1_7_device_with_a_32_bit_domain_is_not_matched(
    sysfs_root: Path, given_spec: dict[str, JsonValue]
) -> None:
    verdict = _parse(given_spec, sysfs_root).verdict(Dev("10000:03:00.2"))
    assert verdict == SpecVerdict(
        0,
        False,
        "spec #0: 10000:03:00.2 cannot be matched: Invalid [pci]device_spec config: "
        "property domain (10000) is greater than the maximum allowable value (FFFF).",
    )


def test_s1_7_bad_parent_address_spoils_only_a_pf_spec(sysfs_root: Path) -> None:
    orphan = Dev("0000:03:00.2", parent_addr="garbage")
    assert _parse({"address": "0000:03:00.*"}, sysfs_root).matches(orphan)
    assert "cannot be matched" in _parse(PF_BY_GLOB, sysfs_root).verdict(orphan).reason


@pytest.mark.parametrize(
    ("serial", "verdict"),
    [
        pytest.param(SERIAL, SpecVerdict(0, True, "spec #0 matches"), id="s1.7-serial"),
        pytest.param(
            None,
            SpecVerdict(
                0,
                False,
                "remote_managed spec #0 rejected 0000:03:00.5: no card serial number in its VPD "
                "nor in its PF's",
            ),
            id="s1.7-no-serial",
        ),
        pytest.param(
            "",
            SpecVerdict(0, False, f"remote_managed spec #0 rejected 0000:03:00.5: {NO_SERIAL}"),
            id="s1.7-empty-serial",
        ),
    ],
)
def test_s1_7_remote_managed_spec_needs_a_card_serial(
    sysfs_root: Path, serial: str | None, verdict: SpecVerdict
) -> None:
    spec = _parse({"address": "0000:03:00.*", "remote_managed": "true"}, sysfs_root)
    device = Dev("0000:03:00.5", parent_addr="0000:03:00.0", card_serial_number=serial)
    assert spec.verdict(device) == verdict


@pytest.mark.parametrize("remote_managed", ["false", None])
def test_s1_7_other_specs_ignore_vpd(sysfs_root: Path, remote_managed: str | None) -> None:
    given_spec: dict[str, JsonValue] = {"address": "0000:03:00.*"}
    if remote_managed is not None:
        given_spec["remote_managed"] = remote_managed
    assert _parse(given_spec, sysfs_root).matches(BF2_VF_NO_SERIAL)


def test_verdict_carries_the_spec_index(sysfs_root: Path) -> None:
    assert _parse({}, sysfs_root, index=3).verdict(BF2_VF) == SpecVerdict(
        3, True, "spec #3 matches"
    )


# --- rendering ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given_spec", "text"),
    [
        pytest.param({}, "vendor_id=* product_id=*", id="empty"),
        pytest.param(
            {"vendor_id": "15B3", "address": "03:00.*", "remote_managed": "yes"},
            'vendor_id=15b3 product_id=* address=*:03:00.* remote_managed="true"',
            id="glob-and-tag",
        ),
        pytest.param(
            {"devname": "p0", "product_id": "101e", "physical_network": None},
            "vendor_id=* product_id=101e devname=p0 (0000:03:00.0 (PF and its VFs)) "
            "physical_network=null",
            id="devname-pf",
        ),
        pytest.param(
            {"devname": "nope0"}, "vendor_id=* product_id=* devname=nope0 (unresolved)", id="nope"
        ),
    ],
)
def test_describe(sysfs_root: Path, given_spec: dict[str, JsonValue], text: str) -> None:
    assert _parse(given_spec, sysfs_root).describe() == text


def test_source_is_the_spec_as_json(sysfs_root: Path) -> None:
    given_spec: dict[str, JsonValue] = {"address": "03:00.*", "remote_managed": "yes"}
    assert json.loads(_parse(given_spec, sysfs_root).source) == given_spec


# --- any input --------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**64), 2**64) | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)
SPEC_KEYS = st.sampled_from(
    [
        "vendor_id",
        "product_id",
        "address",
        "devname",
        "remote_managed",
        "managed",
        "live_migratable",
        "one_time_use",
        "trusted",
        "physical_network",
    ]
)
SPEC_VALUES = st.sampled_from(
    [
        "",
        "*",
        "15b3",
        "101e",
        "a2d6",
        "0000:03:00.0",
        "0000:03:00.1",
        "03:00.*",
        "p0",
        "enp3s0f0v1",
        "nope0",
        "true",
        "yes",
        "maybe",
    ]
)
REGEX_ADDRESS = st.fixed_dictionaries(
    {},
    optional={
        k: st.sampled_from(["0000", "03", "00", "0", ".*", "*", "["])
        for k in ("domain", "bus", "slot", "function")
    },
)
SPECS = st.dictionaries(SPEC_KEYS, SPEC_VALUES | REGEX_ADDRESS | JSON, max_size=6)
DEVICES = st.builds(
    Dev,
    st.sampled_from(["0000:03:00.0", "0000:03:00.2", "10000:03:00.2", "garbage", "0000:81:10.0"]),
    st.sampled_from(["15b3", "8086"]),
    st.sampled_from(["101e", "a2d6", "10ed"]),
    st.sampled_from([None, "0000:03:00.0", "junk"]),
    st.sampled_from([None, "", SERIAL]),
)


@given(SPECS, st.booleans(), DEVICES)
def test_any_spec_raises_only_offpath_errors_and_matching_never_raises(
    shared_sysfs_root: Path, given_spec: dict[str, JsonValue], placement: bool, device: Dev
) -> None:
    try:
        spec = _parse(given_spec, shared_sysfs_root, placement=placement)
    except OffpathError:
        return
    verdict = spec.verdict(device)
    assert verdict.matched is spec.matches(device)
    assert verdict.reason

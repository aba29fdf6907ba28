"""The ordered `[pci] device_spec` list: values, first match wins, explanations.

nova-behaviour.md §1.1, §1.2 and decision D9 of spec/README.md.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from offpath.errors import OffpathError, PciConfigInvalidSpec
from offpath.pci.spec import SpecVerdict
from offpath.pci.spec_list import DeviceSpecList, Explanation, parse_spec_values

SERIAL = "MT2113X00000"
NO_SERIAL_REASON = (
    "remote_managed spec #0 rejected 0000:03:00.5: no card serial number in its VPD nor in its PF's"
)
RM_VFS = '{"vendor_id": "15b3", "product_id": "101e", "remote_managed": "true"}'
ANY_BF2_VF = '{"vendor_id": "15b3", "product_id": "101e"}'


@dataclass(frozen=True, slots=True)
class Dev:
    """The facts of a device that matching reads."""

    address: str
    vendor_id: str = "15b3"
    product_id: str = "101e"
    parent_addr: str | None = "0000:03:00.0"
    card_serial_number: str | None = None


VF_WITH_SERIAL = Dev("0000:03:00.2", card_serial_number=SERIAL)
VF_NO_SERIAL = Dev("0000:03:00.5")


def _specs(*values: str, root: Path) -> DeviceSpecList:
    return DeviceSpecList.from_values(values, sysfs_root=root)


def _reason(*values: str, root: Path) -> str:
    with pytest.raises(PciConfigInvalidSpec) as caught:
        _specs(*values, root=root)
    return caught.value.reason


# --- §1.1 the option -------------------------------------------------------------


def test_s1_1_no_value_means_no_device_is_assignable(sysfs_root: Path) -> None:
    specs = _specs(root=sysfs_root)
    assert len(specs) == 0
    assert specs.first_match(VF_WITH_SERIAL) is None
    assert specs.explain(VF_WITH_SERIAL).reason == "no [pci] device_spec is configured"


def test_s1_1_report_in_placement_defaults_to_false(sysfs_root: Path) -> None:
    assert _reason('{"one_time_use": "true"}', root=sysfs_root) == (
        "one_time_use=true requires pci.report_in_placement to be enabled"
    )


def test_s1_1_report_in_placement_passed_on(sysfs_root: Path) -> None:
    specs = DeviceSpecList.from_values(
        ['{"one_time_use": "true"}'], sysfs_root=sysfs_root, report_in_placement=True
    )
    assert specs[0].tags["one_time_use"] == "true"


# --- §1.2 decoding the values ------------------------------------------------------


def test_s1_2_json_decode_error(sysfs_root: Path) -> None:
    with pytest.raises(PciConfigInvalidSpec) as caught:
        _specs('{"vendor_id": 15b3}', root=sysfs_root)
    assert str(caught.value) == (
        "Invalid [pci]device_spec config: Invalid entry: '{\"vendor_id\": 15b3}'"
    )


@pytest.mark.parametrize("raw", ['"0000:03:00.0"', "3", "null", "true"])
def test_s1_2_value_neither_list_nor_object(sysfs_root: Path, raw: str) -> None:
    assert _reason(raw, root=sysfs_root) == f"Invalid entry: '{raw}'; Expecting list or dict"


@pytest.mark.parametrize(
    ("raw", "element"),
    [
        pytest.param('[{"vendor_id": "15b3"}, "x"]', "x", id="string"),
        pytest.param("[3]", "3", id="number"),
        pytest.param("[[1]]", "[1]", id="list"),
        pytest.param("[null]", "None", id="null"),
    ],
)
def test_s1_2_list_element_not_an_object(sysfs_root: Path, raw: str, element: str) -> None:
    assert _reason(raw, root=sysfs_root) == f"Invalid entry: '{element}'; Expecting dict"


def test_s1_2_object_is_one_spec(sysfs_root: Path) -> None:
    specs = _specs(ANY_BF2_VF, root=sysfs_root)
    assert [(s.index, s.vendor_id, s.product_id) for s in specs] == [(0, "15b3", "101e")]


def test_s1_2_list_is_several_specs_numbered_across_values(sysfs_root: Path) -> None:
    specs = _specs(
        '[{"product_id": "101e"}, {"product_id": "a2d6"}]', '{"vendor_id": "8086"}', root=sysfs_root
    )
    assert [(s.index, s.vendor_id, s.product_id) for s in specs] == [
        (0, "*", "101e"),
        (1, "*", "a2d6"),
        (2, "8086", "*"),
    ]


def test_s1_2_empty_list_is_no_spec(sysfs_root: Path) -> None:
    assert len(_specs("[]", root=sysfs_root)) == 0


def test_s1_2_from_values_raises_the_first_error_in_config_order(sysfs_root: Path) -> None:
    assert _reason(ANY_BF2_VF, '{"vendor_id": "x"}', "nope", root=sysfs_root) == (
        "property vendor_id ('x') does not parse as a hex number."
    )


def test_parse_spec_values_collects_every_error_and_keeps_valid_specs(sysfs_root: Path) -> None:
    parsed = parse_spec_values(
        [ANY_BF2_VF, "nope", '[{"vendor_id": "x"}, {"vendor_id": "8086"}, 7]'],
        sysfs_root=sysfs_root,
    )
    assert [s.index for s in parsed.specs] == [0, 3]
    assert [(e.value_index, e.spec_index, e.error.code) for e in parsed.errors] == [
        (1, 1, "pci.devspec.invalid"),
        (2, 2, "pci.devspec.invalid"),
        (2, 4, "pci.devspec.invalid"),
    ]


def test_parse_spec_values_keeps_other_error_kinds(sysfs_root: Path) -> None:
    parsed = parse_spec_values(
        ['{"address": "0000:03:00.0", "remote_managed": "true"}'], sysfs_root=sysfs_root
    )
    assert [e.error.code for e in parsed.errors] == ["pci.devspec.remote_managed_pf"]


@pytest.mark.parametrize("depth", range(850, 1001, 3))
def test_deeply_nested_value_is_an_invalid_spec(sysfs_root: Path, depth: int) -> None:
    raw = '{"custom": ' + "[" * depth + "]" * depth + "}"
    parsed = parse_spec_values([raw], sysfs_root=sysfs_root)
    assert len(parsed.specs) + len(parsed.errors) == 1
    assert all(e.error.code == "pci.devspec.invalid" for e in parsed.errors)


def test_spec_list_is_a_sequence(sysfs_root: Path) -> None:
    specs = _specs(ANY_BF2_VF, RM_VFS, root=sysfs_root)
    assert len(specs) == 2
    assert specs[1].remote_managed
    assert [s.index for s in specs] == [0, 1]


# --- §1.2 first match wins, and D9 explanations -----------------------------------


def test_s1_2_first_match_wins(sysfs_root: Path) -> None:
    specs = _specs('{"physical_network": "a"}', '{"physical_network": "b"}', root=sysfs_root)
    found = specs.first_match(VF_WITH_SERIAL)
    assert found is not None
    assert found.physical_network == "a"


def test_s1_2_no_spec_matches(sysfs_root: Path) -> None:
    assert _specs('{"vendor_id": "8086"}', root=sysfs_root).first_match(VF_WITH_SERIAL) is None


def test_d9_device_rejected_by_a_remote_managed_spec_taken_by_a_later_generic_one(
    sysfs_root: Path,
) -> None:
    specs = _specs(RM_VFS, ANY_BF2_VF, root=sysfs_root)
    found = specs.first_match(VF_NO_SERIAL)
    assert found is not None
    assert (found.index, found.remote_managed) == (1, False)


def test_d9_explain_shows_the_rejection_before_the_match(sysfs_root: Path) -> None:
    specs = _specs(RM_VFS, ANY_BF2_VF, root=sysfs_root)
    assert specs.explain(VF_NO_SERIAL) == Explanation(
        "0000:03:00.5",
        specs[1],
        (SpecVerdict(0, False, NO_SERIAL_REASON), SpecVerdict(1, True, "spec #1 matches")),
    )


def test_d9_explain_stops_at_the_first_match(sysfs_root: Path) -> None:
    specs = _specs(RM_VFS, ANY_BF2_VF, root=sysfs_root)
    explanation = specs.explain(VF_WITH_SERIAL)
    assert explanation.spec is specs[0]
    assert explanation.verdicts == (SpecVerdict(0, True, "spec #0 matches"),)
    assert explanation.reason == ""


def test_d9_remote_managed_rejection_is_the_reason(sysfs_root: Path) -> None:
    assert _specs(RM_VFS, root=sysfs_root).explain(VF_NO_SERIAL).reason == NO_SERIAL_REASON


def test_d9_remote_managed_rejection_wins_over_plainer_misses(sysfs_root: Path) -> None:
    specs = _specs('{"vendor_id": "8086"}', RM_VFS, root=sysfs_root)
    assert specs.explain(VF_NO_SERIAL).reason == (
        "remote_managed spec #1 rejected 0000:03:00.5: "
        "no card serial number in its VPD nor in its PF's"
    )


def test_d9_device_with_an_out_of_range_domain_gets_its_reason(sysfs_root: Path) -> None:
    specs = _specs('{"vendor_id": "8086"}', ANY_BF2_VF, root=sysfs_root)
    explanation = specs.explain(Dev("10000:03:00.2", card_serial_number=SERIAL))
    assert explanation.spec is None
    assert explanation.reason == (
        "spec #1: 10000:03:00.2 cannot be matched: Invalid [pci]device_spec config: "
        "property domain (10000) is greater than the maximum allowable value (FFFF)."
    )


def test_d9_plain_miss(sysfs_root: Path) -> None:
    explanation = _specs('{"vendor_id": "8086"}', root=sysfs_root).explain(VF_WITH_SERIAL)
    assert explanation.reason == "no [pci] device_spec matches it"
    assert explanation.verdicts == (SpecVerdict(0, False, "spec #0: vendor_id 15b3 is not 8086"),)


def test_d9_every_verdict_is_kept_when_nothing_matches(sysfs_root: Path) -> None:
    specs = _specs('{"vendor_id": "8086"}', '{"product_id": "a2d6"}', RM_VFS, root=sysfs_root)
    assert [v.index for v in specs.explain(VF_NO_SERIAL).verdicts] == [0, 1, 2]


# --- any input ---------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**64), 2**64) | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=10,
)
SPEC_LIKE = st.dictionaries(
    st.sampled_from(
        ["vendor_id", "product_id", "address", "devname", "remote_managed", "managed", "x"]
    ),
    st.sampled_from(["*", "15b3", "101e", "0000:03:00.0", "03:00.*", "p0", "nope0", "yes", "?"])
    | JSON,
    max_size=5,
)
VALUES = st.lists(
    st.one_of(JSON, SPEC_LIKE, st.lists(SPEC_LIKE, max_size=3)).map(json.dumps) | st.text(),
    max_size=4,
)


@given(VALUES)
def test_parse_spec_values_never_raises(shared_sysfs_root: Path, values: list[str]) -> None:
    parsed = parse_spec_values(values, sysfs_root=shared_sysfs_root)
    assert all(isinstance(e.error, OffpathError) for e in parsed.errors)
    assert [s.index for s in parsed.specs] == sorted({s.index for s in parsed.specs})


@given(VALUES)
def test_from_values_raises_only_offpath_errors(shared_sysfs_root: Path, values: list[str]) -> None:
    try:
        specs = DeviceSpecList.from_values(values, sysfs_root=shared_sysfs_root)
    except OffpathError:
        return
    assert specs.explain(VF_NO_SERIAL).address == "0000:03:00.5"

"""PCI addresses and the address patterns of device specs (nova-behaviour.md §1.4, §1.5, §2)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from offpath.errors import OffpathError, PciConfigInvalidSpec, PciDeviceWrongAddressFormat
from offpath.pci.address import (
    ANY,
    GlobPattern,
    PciAddress,
    PhysicalFunctionPattern,
    RegexPattern,
    parse_address_pattern,
    parse_hex_field,
)

PF = PciAddress(0, 3, 0, 0)
VF = PciAddress(0, 3, 0, 2)


def _invalid_spec_reason(text: str) -> str:
    with pytest.raises(PciConfigInvalidSpec) as caught:
        GlobPattern.parse(text)
    return caught.value.reason


# --- concrete addresses -------------------------------------------------------


def test_s2_parse_address_example() -> None:
    assert PciAddress.parse("0000:04:12.6").fields == ("0000", "04", "12", "6")


def test_s1_4_concrete_string_form() -> None:
    assert str(PciAddress(0x10, 0x3, 0x1F, 7)) == "0010:03:1f.7"


@pytest.mark.parametrize(
    ("text", "normalised"),
    [
        pytest.param("0000:0A:00.1", "0000:0a:00.1", id="s1.4-lowercase"),
        pytest.param("0:3:0.0", "0000:03:00.0", id="s1.4-widths"),
        pytest.param("ffff:ff:1f.7", "ffff:ff:1f.7", id="s1.4-every-maximum"),
        pytest.param("0x0:0x3:0x0.0x0", "0000:03:00.0", id="s1.3-0x-prefix"),
    ],
)
def test_s1_4_concrete_address_is_normalised(text: str, normalised: str) -> None:
    assert str(PciAddress.parse(text)) == normalised


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("0000:04.12:6", id="s2-example-dot-in-bus"),
        pytest.param("0000:h4.12:6", id="s2-example-h4"),
        pytest.param("0000:0a:0b:00.5", id="s1.4-four-colon-parts"),
        pytest.param("0a:00.5", id="s1.4-two-parts"),
        pytest.param("0000:0a:00", id="s1.4-no-function"),
        pytest.param("", id="empty"),
        pytest.param("0000:*:00.0", id="decision-wildcard-is-not-one-address"),
    ],
)
def test_s1_4_concrete_address_wrong_format(text: str) -> None:
    with pytest.raises(PciDeviceWrongAddressFormat) as caught:
        PciAddress.parse(text)
    assert caught.value.code == "pci.address.format"


def test_s1_4_wrong_format_message() -> None:
    with pytest.raises(PciDeviceWrongAddressFormat) as caught:
        PciAddress.parse("0000:04.12:6")
    assert str(caught.value) == "The PCI address 0000:04.12:6 has an incorrect format."


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        pytest.param(
            "10000:00:00.0",
            "property domain (10000) is greater than the maximum allowable value (FFFF).",
            id="s1.7-32-bit-domain",
        ),
        pytest.param(
            "0000:100:00.0",
            "property bus (100) is greater than the maximum allowable value (FF).",
            id="s1.4-bus",
        ),
        pytest.param(
            "0000:00:20.0",
            "property slot (20) is greater than the maximum allowable value (1F).",
            id="s1.4-slot",
        ),
        pytest.param(
            "0000:00:00.8",
            "property func (8) is greater than the maximum allowable value (7).",
            id="s1.4-func",
        ),
        pytest.param(
            "zzzz:zz:zz.z", "property func ('z') does not parse as a hex number.", id="order-func"
        ),
        pytest.param(
            "zzzz:zz:zz.0",
            "property domain ('zzzz') does not parse as a hex number.",
            id="order-domain",
        ),
        pytest.param(
            "0000:zz:zz.0", "property bus ('zz') does not parse as a hex number.", id="order-bus"
        ),
        pytest.param(
            "0000:00:zz.0", "property slot ('zz') does not parse as a hex number.", id="order-slot"
        ),
    ],
)
def test_s1_4_concrete_address_field_errors(text: str, reason: str) -> None:
    with pytest.raises(PciConfigInvalidSpec) as caught:
        PciAddress.parse(text)
    assert caught.value.reason == reason


def test_concrete_addresses_sort_by_domain_bus_slot_function() -> None:
    texts = ["0001:00:00.0", "0000:81:10.0", "0000:03:00.2", "0000:03:00.1", "0000:03:01.0"]
    ordered = sorted(PciAddress.parse(t) for t in texts)
    assert [str(a) for a in ordered] == [
        "0000:03:00.1",
        "0000:03:00.2",
        "0000:03:01.0",
        "0000:81:10.0",
        "0001:00:00.0",
    ]


ADDRESSES = st.builds(
    PciAddress,
    st.integers(0, 0xFFFF),
    st.integers(0, 0xFF),
    st.integers(0, 0x1F),
    st.integers(0, 7),
)


@given(ADDRESSES)
def test_s1_4_concrete_address_str_parse_round_trip(address: PciAddress) -> None:
    assert PciAddress.parse(str(address)) == address


@given(ADDRESSES)
def test_s1_4_str_is_the_normalised_fields(address: PciAddress) -> None:
    domain, bus, slot, func = address.fields
    assert str(address) == f"{domain}:{bus}:{slot}.{func}"


@given(st.text())
def test_concrete_parse_raises_only_offpath_errors(text: str) -> None:
    try:
        address = PciAddress.parse(text)
    except OffpathError:
        return
    assert PciAddress.parse(str(address)) == address


# --- hex fields -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "normalised"),
    [
        pytest.param("*", "*", id="s1.4-wildcard-left-as-is"),
        pytest.param("15B3", "15b3", id="s1.3-lowercase"),
        pytest.param("a", "000a", id="s1.3-padded"),
        pytest.param("0x15b3", "15b3", id="s1.3-0x-prefix"),
        pytest.param("0X15B3", "15b3", id="s1.3-0X-prefix"),
        pytest.param(" 15b3 ", "15b3", id="surrounding-space"),
        pytest.param("ffff", "ffff", id="s1.3-maximum"),
        pytest.param("0000ffff", "ffff", id="leading-zeros"),
    ],
)
def test_s1_3_parse_hex_field(value: str, normalised: str) -> None:
    assert parse_hex_field("vendor_id", value, 0xFFFF, 4) == normalised


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("", id="empty"),
        pytest.param("0x", id="bare-0x"),
        pytest.param("15g3", id="s1.3-not-hex"),
        pytest.param("0*", id="s1.4-partial-glob"),
        # int(x, 16) takes these; none of them is a PCI field.
        pytest.param("-1", id="decision-sign"),
        pytest.param("+1", id="decision-plus"),
        pytest.param("1_0", id="decision-underscore"),
        pytest.param("\u0661", id="decision-non-ascii-digit"),
    ],
)
def test_s1_3_parse_hex_field_not_hex(value: str) -> None:
    with pytest.raises(PciConfigInvalidSpec) as caught:
        parse_hex_field("vendor_id", value, 0xFFFF, 4)
    assert caught.value.reason == f"property vendor_id ('{value}') does not parse as a hex number."


def test_s1_3_parse_hex_field_above_maximum_quotes_the_raw_value() -> None:
    with pytest.raises(PciConfigInvalidSpec) as caught:
        parse_hex_field("product_id", "0x10000", 0xFFFF, 4)
    assert caught.value.reason == (
        "property product_id (0x10000) is greater than the maximum allowable value (FFFF)."
    )


def test_s1_2_invalid_spec_message_prefix() -> None:
    with pytest.raises(PciConfigInvalidSpec) as caught:
        parse_hex_field("bus", "zz", 0xFF, 2)
    assert str(caught.value) == (
        "Invalid [pci]device_spec config: property bus ('zz') does not parse as a hex number."
    )
    assert caught.value.code == "pci.devspec.invalid"


# --- glob patterns --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fields"),
    [
        pytest.param(".5", ("*", "*", "*", "5"), id="s1.4-example-.5"),
        pytest.param(":0a:00.", ("*", "0a", "00", "*"), id="s1.4-example-:0a:00."),
        pytest.param("*: *: *.5", ("*", "*", "*", "5"), id="s1.4-example-spaced-wildcards"),
        pytest.param("0a:00", ("*", "0a", "00", "*"), id="s1.4-example-0a:00"),
        pytest.param("00", ("*", "*", "00", "*"), id="s1.4-slot-only"),
        pytest.param("", ("*", "*", "*", "*"), id="s1.4-empty-is-everything"),
        pytest.param("*:*:*.*", ("*", "*", "*", "*"), id="s1.3-absent-address"),
        pytest.param("0000:0a:00.1", ("0000", "0a", "00", "1"), id="s1.4-full"),
        pytest.param("0000:0A:00.1", ("0000", "0a", "00", "1"), id="s1.4-lowercased"),
        pytest.param("0:a:0.1", ("0000", "0a", "00", "1"), id="s1.4-widths"),
        pytest.param("0000:03:00. 5 ", ("0000", "03", "00", "5"), id="s1.4-function-stripped"),
        pytest.param(" 0000 : 03 : 00 .0", ("0000", "03", "00", "0"), id="s1.4-parts-stripped"),
        pytest.param("0000::00.0", ("0000", "*", "00", "0"), id="s1.4-empty-part-is-wildcard"),
        pytest.param("ffff:ff:1f.7", ("ffff", "ff", "1f", "7"), id="s1.4-every-maximum"),
    ],
)
def test_s1_4_glob_parse(text: str, fields: tuple[str, str, str, str]) -> None:
    glob = GlobPattern.parse(text)
    assert (glob.domain, glob.bus, glob.slot, glob.func) == fields


def test_s1_4_example_func_12_6_does_not_parse() -> None:
    assert _invalid_spec_reason("0000:h4.12:6") == (
        "property func ('12:6') does not parse as a hex number."
    )


def test_s1_4_example_four_colon_parts_is_wrong_format() -> None:
    with pytest.raises(PciDeviceWrongAddressFormat) as caught:
        GlobPattern.parse("0000:0a:0b:00.5")
    assert str(caught.value) == "The PCI address 0000:0a:0b:00.5 has an incorrect format."


def test_s1_4_function_is_checked_before_the_colon_count() -> None:
    assert (
        _invalid_spec_reason("0:0:0:0.z") == "property func ('z') does not parse as a hex number."
    )


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        pytest.param(
            "0000:03:00. ",
            "property func ('') does not parse as a hex number.",
            id="s1.4-whitespace-function",
        ),
        pytest.param("0*", "property slot ('0*') does not parse as a hex number.", id="s1.4-0*"),
        pytest.param(
            "0000:0*:00.0",
            "property bus ('0*') does not parse as a hex number.",
            id="s1.4-partial-glob-bus",
        ),
        pytest.param(
            "0000:03:00.*5",
            "property func ('*5') does not parse as a hex number.",
            id="s1.4-partial-glob-func",
        ),
        pytest.param(
            "zz:zz:zz.z", "property func ('z') does not parse as a hex number.", id="func"
        ),
        pytest.param(
            "zz:zz:zz.1", "property domain ('zz') does not parse as a hex number.", id="then-domain"
        ),
        pytest.param(
            "0:zz:zz.1", "property bus ('zz') does not parse as a hex number.", id="then-bus"
        ),
        pytest.param(
            "0:0:zz.1", "property slot ('zz') does not parse as a hex number.", id="then-slot"
        ),
        pytest.param(
            "10000:00:00.0",
            "property domain (10000) is greater than the maximum allowable value (FFFF).",
            id="s1.4-domain-limit",
        ),
        pytest.param(
            "100:00.0",
            "property bus (100) is greater than the maximum allowable value (FF).",
            id="s1.4-bus-limit",
        ),
        pytest.param(
            "20.0",
            "property slot (20) is greater than the maximum allowable value (1F).",
            id="s1.4-slot-limit",
        ),
        pytest.param(
            ".8",
            "property func (8) is greater than the maximum allowable value (7).",
            id="s1.4-func-limit",
        ),
    ],
)
def test_s1_4_glob_field_errors(text: str, reason: str) -> None:
    assert _invalid_spec_reason(text) == reason


@pytest.mark.parametrize(
    ("glob", "address", "selected"),
    [
        pytest.param("*:*:*.*", VF, True, id="everything"),
        pytest.param(".2", VF, True, id="function"),
        pytest.param(".3", VF, False, id="other-function"),
        pytest.param("03:00", VF, True, id="bus-slot"),
        pytest.param("04:00", VF, False, id="other-bus"),
        pytest.param("0001:03:00.2", VF, False, id="other-domain"),
        pytest.param("0000:03:00.2", VF, True, id="exact"),
        pytest.param("0000:03:01.2", VF, False, id="other-slot"),
    ],
)
def test_s1_4_glob_match(glob: str, address: PciAddress, selected: bool) -> None:
    assert GlobPattern.parse(glob).matches(address, None) is selected


def test_s1_5_glob_ignores_the_parent() -> None:
    assert GlobPattern.parse("0000:03:00.0").matches(VF, PF) is False


@pytest.mark.parametrize(
    ("glob", "single"),
    [
        pytest.param("0000:03:00.0", PF, id="s1.5-single"),
        pytest.param("0:3:0.0", PF, id="s1.5-single-short-fields"),
        pytest.param("03:00.0", None, id="s1.5-any-domain"),
        pytest.param("0000:03:00.*", None, id="s1.5-any-function"),
        pytest.param("0000:03:00", None, id="s1.5-no-function"),
    ],
)
def test_s1_5_glob_single_address(glob: str, single: PciAddress | None) -> None:
    assert GlobPattern.parse(glob).single_address() == single


def test_glob_describe_and_as_json() -> None:
    glob = GlobPattern.parse(":0A:00.")
    assert glob.describe() == "*:0a:00.*"
    assert glob.as_json() == {
        "kind": "glob",
        "domain": "*",
        "bus": "0a",
        "slot": "00",
        "function": "*",
    }


@given(st.text())
def test_glob_parse_raises_only_offpath_errors(text: str) -> None:
    try:
        glob = GlobPattern.parse(text)
    except OffpathError:
        return
    assert GlobPattern.parse(glob.describe()) == glob


GLOB_TEXT = st.lists(
    st.sampled_from(["", "*", " ", "0", "03", "0A", "ffff", "1f", "0x", "z", "0*", "10000"]),
    min_size=1,
    max_size=5,
).map(lambda parts: ":".join(parts[:-1]) + "." + parts[-1])


@given(GLOB_TEXT)
def test_glob_shaped_text_raises_only_offpath_errors(text: str) -> None:
    try:
        glob = GlobPattern.parse(text)
    except OffpathError:
        return
    assert all(f == ANY or f == f.lower() for f in (glob.domain, glob.bus, glob.slot, glob.func))


# --- regex patterns -------------------------------------------------------------


def _regex(**fields: str) -> RegexPattern:
    return RegexPattern.parse(dict(fields))


def test_s1_4_regex_keys_default_to_dot_star() -> None:
    assert _regex().sources == (".*", ".*", ".*", ".*")
    assert _regex().matches(PciAddress(0xFFFF, 0xFF, 0x1F, 7), None)


@pytest.mark.parametrize(
    ("fields", "address", "selected"),
    [
        pytest.param({"bus": "0"}, PciAddress(0, 0x0A, 0, 0), True, id="s1.4-bus-0-prefix-of-0a"),
        pytest.param({"bus": "0A"}, PciAddress(0, 0x0A, 0, 0), False, id="s1.4-uppercase-0A"),
        pytest.param({"bus": "0a"}, PciAddress(0, 0x0A, 0, 0), True, id="s1.4-lowercase-0a"),
        pytest.param({"bus": "3"}, PciAddress(0, 3, 0, 0), False, id="s1.4-not-normalised"),
        pytest.param({"bus": "0[3-4]"}, PciAddress(0, 4, 0, 0), True, id="class"),
        pytest.param({"function": "[2-5]"}, VF, True, id="function-range"),
        pytest.param({"function": "[3-5]"}, VF, False, id="function-out-of-range"),
        pytest.param({"domain": "0000", "bus": "03", "slot": "00"}, VF, True, id="all-but-func"),
        pytest.param({"slot": "0$"}, VF, False, id="anchored-end"),
    ],
)
def test_s1_4_regex_match(fields: dict[str, str], address: PciAddress, selected: bool) -> None:
    assert _regex(**fields).matches(address, None) is selected


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"domain": "*"}, id="s1.4-example-domain-star"),
        pytest.param({"function": "[6[-7]"}, id="s1.4-example-function-bad-range"),
        pytest.param({"bus": "("}, id="unbalanced"),
        pytest.param({"slot": "a{4294967296}"}, id="repeat-overflow"),
        pytest.param({"slot": "(" * 2000 + ")" * 2000}, id="nesting-recursion"),
    ],
)
def test_s1_4_regex_syntax_error_is_wrong_format(fields: dict[str, str]) -> None:
    with pytest.raises(PciDeviceWrongAddressFormat) as caught:
        _regex(**fields)
    assert caught.value.address == fields


@pytest.mark.parametrize(
    "value",
    [pytest.param(3, id="number"), pytest.param(None, id="null"), pytest.param([], id="list")],
)
def test_s1_4_regex_non_string_value_is_wrong_format(value: object) -> None:
    # Nova fails with an untyped error here; offpath says what is wrong.
    with pytest.raises(PciDeviceWrongAddressFormat):
        RegexPattern.parse({"bus": value})


def test_s1_4_regex_extra_keys_are_ignored() -> None:
    assert RegexPattern.parse({"bus": "03", "vendor": "x"}).sources == (".*", "03", ".*", ".*")


@pytest.mark.parametrize(
    ("fields", "single"),
    [
        pytest.param(
            {"domain": "0000", "bus": "03", "slot": "00", "function": "0"}, PF, id="s1.5-single"
        ),
        pytest.param({"domain": "0000", "bus": "03", "slot": "00"}, None, id="s1.5-any-function"),
        pytest.param(
            {"domain": "0000", "bus": "0A", "slot": "00", "function": "0"},
            None,
            id="s1.5-uppercase-matches-nothing",
        ),
        pytest.param(
            {"domain": "0", "bus": "03", "slot": "00", "function": "0"},
            None,
            id="s1.5-short-is-a-prefix",
        ),
        pytest.param(
            {"domain": "0000", "bus": "0[3]", "slot": "00", "function": "0"},
            None,
            id="s1.5-regex-syntax",
        ),
    ],
)
def test_s1_5_regex_single_address(fields: dict[str, str], single: PciAddress | None) -> None:
    assert _regex(**fields).single_address() == single


def test_regex_describe_and_as_json() -> None:
    regex = _regex(bus="0[34]")
    assert regex.describe() == '{"domain": ".*", "bus": "0[34]", "slot": ".*", "function": ".*"}'
    assert regex.as_json() == {
        "kind": "regex",
        "domain": ".*",
        "bus": "0[34]",
        "slot": ".*",
        "function": ".*",
    }


@given(
    st.dictionaries(st.sampled_from(["domain", "bus", "slot", "function"]), st.text()), ADDRESSES
)
def test_regex_parse_raises_only_offpath_errors(
    fields: dict[str, str], address: PciAddress
) -> None:
    try:
        regex = RegexPattern.parse(dict(fields))
    except OffpathError:
        return
    assert regex.matches(address, None) in (True, False)


# --- PF patterns and the address value of a spec --------------------------------


@pytest.mark.parametrize(
    ("address", "parent", "selected"),
    [
        pytest.param(PF, None, True, id="s1.5-the-pf-itself"),
        pytest.param(VF, PF, True, id="s1.5-its-vf"),
        pytest.param(PciAddress(0, 0x99, 0, 1), PF, True, id="s1.5-parent-not-verified"),
        pytest.param(VF, None, False, id="s1.5-vf-without-parent"),
        pytest.param(PciAddress(0, 0x81, 0x10, 0), PciAddress(0, 0x81, 0, 0), False, id="other"),
    ],
)
def test_s1_5_pf_pattern_matches_the_pf_and_its_vfs(
    address: PciAddress, parent: PciAddress | None, selected: bool
) -> None:
    assert PhysicalFunctionPattern(PF).matches(address, parent) is selected


def test_pf_pattern_single_address_describe_and_as_json() -> None:
    pattern = PhysicalFunctionPattern(PF)
    assert pattern.single_address() == PF
    assert pattern.describe() == "0000:03:00.0 (PF and its VFs)"
    assert pattern.as_json() == {
        "kind": "pf",
        "domain": "0000",
        "bus": "03",
        "slot": "00",
        "function": "0",
    }


def test_s1_4_address_string_is_a_glob() -> None:
    assert parse_address_pattern("03:00.2") == GlobPattern(ANY, "03", "00", "2")


def test_s1_4_address_object_is_a_regex() -> None:
    assert isinstance(parse_address_pattern({"bus": "03"}), RegexPattern)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(["0000:03:00.0"], id="s1.4-list"),
        pytest.param(3, id="s1.4-number"),
        pytest.param(True, id="s1.4-bool"),
        pytest.param(None, id="s1.4-null"),
    ],
)
def test_s1_4_address_of_another_json_type_is_wrong_format(value: object) -> None:
    with pytest.raises(PciDeviceWrongAddressFormat):
        parse_address_pattern(value)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)


@given(JSON | st.dictionaries(st.sampled_from(["domain", "bus", "slot", "function"]), JSON))
def test_address_pattern_of_any_json_raises_only_offpath_errors(value: object) -> None:
    try:
        pattern = parse_address_pattern(value)
    except OffpathError:
        return
    assert json.dumps(pattern.as_json())

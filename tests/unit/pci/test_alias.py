"""`[pci] alias` values (nova-behaviour.md §4.4, last bullet; §2 id pattern)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from offpath.errors import PciInvalidAlias
from offpath.pci.alias import ALIAS_SCHEMA, PciAlias, check_aliases, parse_aliases

ACCEPTED = "'0', '1', 'f', 'false', 'n', 'no', 'off', 'on', 't', 'true', 'y', 'yes'"


def _value(**fields: Any) -> str:
    return json.dumps(fields)


def _reason(*values: str) -> str:
    with pytest.raises(PciInvalidAlias) as caught:
        parse_aliases(values)
    return caught.value.reason


def test_s4_4_schema_is_a_valid_json_schema() -> None:
    Draft202012Validator.check_schema(dict(ALIAS_SCHEMA))
    validator = Draft202012Validator(dict(ALIAS_SCHEMA))
    assert validator.is_valid({"name": "bf2-vf", "vendor_id": "15b3", "product_id": "101e"})
    assert not validator.is_valid({"name": 7})


def test_s4_4_full_alias_keeps_every_key_as_given() -> None:
    value = _value(
        name="bf2-vf",
        capability_type="pci",
        vendor_id="15B3",
        product_id="101e",
        device_type="type-VF",
        numa_policy="preferred",
        resource_class="CUSTOM_BF2",
        traits="CUSTOM_DPU",
        live_migratable="true",
    )
    alias = parse_aliases([value])["bf2-vf"]
    assert alias == PciAlias(
        "bf2-vf",
        "preferred",
        (
            {
                "capability_type": "pci",
                "vendor_id": "15B3",
                "product_id": "101e",
                "dev_type": "type-VF",
                "resource_class": "CUSTOM_BF2",
                "traits": "CUSTOM_DPU",
                "live_migratable": "true",
            },
        ),
    )


def test_s4_4_error_message_prefix() -> None:
    with pytest.raises(PciInvalidAlias) as caught:
        parse_aliases([_value(vendor_id="15b3")])
    assert str(caught.value) == "Invalid PCI alias definition: 'name' is a required property"
    assert caught.value.code == "pci.alias.invalid"


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        pytest.param({}, "'name' is a required property", id="s4.4-name-required"),
        pytest.param(
            {"name": "a", "foo": "x"},
            "Additional properties are not allowed ('foo' was unexpected)",
            id="s4.4-extra-key",
        ),
        pytest.param(
            {"name": "a", "remote_managed": "true"},
            "Additional properties are not allowed ('remote_managed' was unexpected)",
            id="s4.4-no-remote-managed",
        ),
        pytest.param({"name": ""}, "'' should be non-empty", id="s4.4-name-empty"),
        pytest.param({"name": "x" * 257}, f"'{'x' * 257}' is too long", id="s4.4-name-257"),
        pytest.param({"name": 7}, "7 is not of type 'string'", id="s4.4-name-not-string"),
        pytest.param(
            {"name": "a", "capability_type": "usb"},
            "'usb' is not one of ['pci']",
            id="s4.4-capability-type",
        ),
        pytest.param(
            {"name": "a", "vendor_id": "15b"},
            "'15b' does not match '^([0-9a-fA-F]{4})$'",
            id="s2-vendor-id-3-digits",
        ),
        pytest.param(
            {"name": "a", "vendor_id": "0x15b3"},
            "'0x15b3' does not match '^([0-9a-fA-F]{4})$'",
            id="s2-vendor-id-0x",
        ),
        pytest.param(
            {"name": "a", "product_id": "101g"},
            "'101g' does not match '^([0-9a-fA-F]{4})$'",
            id="s2-product-id-not-hex",
        ),
        pytest.param(
            {"name": "a", "product_id": "101e0"},
            "'101e0' does not match '^([0-9a-fA-F]{4})$'",
            id="s2-product-id-5-digits",
        ),
        pytest.param(
            {"name": "a", "device_type": "vdpa"},
            "'vdpa' is not one of ['type-PCI', 'type-PF', 'type-VF']",
            id="s4.4-device-type-vdpa",
        ),
        pytest.param(
            {"name": "a", "numa_policy": "strict"},
            "'strict' is not one of ['required', 'legacy', 'preferred', 'socket']",
            id="s4.4-numa-policy",
        ),
        pytest.param(
            {"name": "a", "numa_policy": None},
            "None is not of type 'string'",
            id="s4.4-numa-policy-null",
        ),
        pytest.param(
            {"name": "a", "resource_class": 1},
            "1 is not of type 'string'",
            id="s4.4-resource-class",
        ),
        pytest.param({"name": "a", "traits": ["A"]}, "['A'] is not of type 'string'", id="traits"),
        pytest.param(
            {"name": "a", "live_migratable": True},
            "True is not of type 'string'",
            id="s4.4-live-migratable-json-bool",
        ),
    ],
)
def test_s4_4_schema_reasons_are_jsonschemas(fields: dict[str, object], reason: str) -> None:
    assert _reason(json.dumps(fields)) == reason


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param('["a"]', id="list"),
        pytest.param('"a"', id="string"),
        pytest.param("null", id="null"),
    ],
)
def test_s4_4_value_must_be_an_object(raw: str) -> None:
    assert _reason(raw) == f"{json.loads(raw)!r} is not of type 'object'"


def test_s4_4_json_decode_error_names_the_raw_value() -> None:
    assert _reason("{name: a}") == (
        "Invalid entry: '{name: a}': Expecting property name enclosed in double quotes: "
        "line 1 column 2 (char 1)"
    )


@pytest.mark.parametrize("policy", ["required", "legacy", "preferred", "socket"])
def test_s4_4_numa_policies(policy: str) -> None:
    assert parse_aliases([_value(name="a", numa_policy=policy)])["a"].numa_policy == policy


def test_s4_4_missing_numa_policy_is_legacy() -> None:
    assert parse_aliases([_value(name="a")])["a"].numa_policy == "legacy"


def test_s4_4_name_is_stripped() -> None:
    assert list(parse_aliases([_value(name="  bf2 ")])) == ["bf2"]


@pytest.mark.parametrize("device_type", ["type-PCI", "type-PF", "type-VF"])
def test_s4_4_device_type_is_stored_as_dev_type(device_type: str) -> None:
    alias = parse_aliases([_value(name="a", device_type=device_type)])["a"]
    assert alias.specs == ({"dev_type": device_type},)
    assert alias.dev_type == device_type


def test_s4_4_missing_device_type_is_none() -> None:
    assert parse_aliases([_value(name="a")])["a"].dev_type is None


@pytest.mark.parametrize(
    ("given_value", "stored"),
    [
        pytest.param("yes", "true", id="yes"),
        pytest.param("TRUE", "true", id="TRUE"),
        pytest.param("1", "true", id="1"),
        pytest.param("off", "false", id="off"),
        pytest.param(" No ", "false", id="spaced-No"),
    ],
)
def test_s4_4_live_migratable_is_normalised(given_value: str, stored: str) -> None:
    alias = parse_aliases([_value(name="a", live_migratable=given_value)])["a"]
    assert alias.specs[0]["live_migratable"] == stored


def test_s4_4_live_migratable_unparseable_names_alias_and_value() -> None:
    assert _reason(_value(name="a", live_migratable="maybe")) == (
        f"Cannot parse 'live_migratable' of alias 'a': Unrecognized value 'maybe', "
        f"acceptable values are: {ACCEPTED}"
    )


def test_s4_4_same_name_twice_is_an_or_of_specs_in_config_order() -> None:
    alias = parse_aliases(
        [
            _value(name="nic", vendor_id="15b3", product_id="101e", device_type="type-VF"),
            _value(name="nic", vendor_id="8086", product_id="10ed", device_type="type-VF"),
        ]
    )["nic"]
    assert [spec["vendor_id"] for spec in alias.specs] == ["15b3", "8086"]


def test_s4_4_same_name_after_strip_is_the_same_alias() -> None:
    aliases = parse_aliases(
        [_value(name="nic", product_id="101e"), _value(name=" nic", product_id="10ed")]
    )
    assert len(aliases["nic"].specs) == 2


def test_s4_4_aliases_keep_config_order() -> None:
    aliases = parse_aliases([_value(name=n) for n in ("b", "a", "c")])
    assert list(aliases) == ["b", "a", "c"]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param({"numa_policy": "required"}, {"numa_policy": "preferred"}, id="two-given"),
        pytest.param({}, {"numa_policy": "required"}, id="default-legacy-vs-required"),
    ],
)
def test_s4_4_numa_policy_mismatch(first: dict[str, str], second: dict[str, str]) -> None:
    reason = _reason(_value(name="nic", **first), _value(name="nic", **second))
    assert reason == "NUMA policy mismatch for alias 'nic'"


def test_s4_4_explicit_legacy_equals_the_default() -> None:
    aliases = parse_aliases([_value(name="nic"), _value(name="nic", numa_policy="legacy")])
    assert len(aliases["nic"].specs) == 2


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param({"device_type": "type-VF"}, {"device_type": "type-PF"}, id="two-given"),
        # Nova raises KeyError here; offpath compares a missing type as None.
        pytest.param({}, {"device_type": "type-VF"}, id="missing-vs-given"),
        pytest.param({"device_type": "type-PCI"}, {}, id="given-vs-missing"),
    ],
)
def test_s4_4_device_type_mismatch(first: dict[str, str], second: dict[str, str]) -> None:
    reason = _reason(_value(name="nic", **first), _value(name="nic", **second))
    assert reason == "Device type mismatch for alias 'nic'"


def test_s4_4_numa_mismatch_is_checked_before_device_type() -> None:
    reason = _reason(
        _value(name="nic", device_type="type-VF", numa_policy="required"),
        _value(name="nic", device_type="type-PF", numa_policy="socket"),
    )
    assert reason == "NUMA policy mismatch for alias 'nic'"


def test_s4_4_both_missing_device_types_agree() -> None:
    aliases = parse_aliases([_value(name="nic", vendor_id="15b3"), _value(name="nic")])
    assert aliases["nic"].dev_type is None
    assert len(aliases["nic"].specs) == 2


def test_check_aliases_collects_every_error_with_its_index() -> None:
    aliases, errors = check_aliases(
        [
            _value(name="ok"),
            "not json",
            _value(name="bad", foo="x"),
            _value(name="ok", numa_policy="required"),
            _value(name="ok2"),
        ]
    )
    assert list(aliases) == ["ok", "ok2"]
    assert [(e.index, e.error.reason.split(":")[0]) for e in errors] == [
        (1, "Invalid entry"),
        (2, "Additional properties are not allowed ('foo' was unexpected)"),
        (3, "NUMA policy mismatch for alias 'ok'"),
    ]


def test_check_aliases_keeps_an_alias_its_conflicting_value_left_alone() -> None:
    aliases, _ = check_aliases([_value(name="nic"), _value(name="nic", device_type="type-VF")])
    assert aliases["nic"].specs == ({},)


def test_parse_aliases_raises_the_first_error_in_config_order() -> None:
    assert _reason(_value(name="a", foo="x"), "{") == (
        "Additional properties are not allowed ('foo' was unexpected)"
    )


def test_no_alias_configured_is_no_alias() -> None:
    assert parse_aliases([]) == {}


def test_alias_as_json() -> None:
    alias = parse_aliases(
        [
            _value(name="nic", vendor_id="15b3", device_type="type-VF"),
            _value(name="nic", device_type="type-VF"),
        ]
    )["nic"]
    assert alias.as_json() == {
        "name": "nic",
        "numa_policy": "legacy",
        "specs": [{"vendor_id": "15b3", "dev_type": "type-VF"}, {"dev_type": "type-VF"}],
    }


def test_alias_as_json_is_json() -> None:
    alias = parse_aliases([_value(name="nic", product_id="101e")])["nic"]
    assert json.loads(json.dumps(alias.as_json())) == alias.as_json()


def test_alias_describe() -> None:
    alias = parse_aliases(
        [_value(name="nic", vendor_id="15b3", product_id="101e"), _value(name="nic")]
    )["nic"]
    assert (
        alias.describe() == "numa_policy=legacy specs: vendor_id=15b3 product_id=101e | any device"
    )


def test_alias_specs_are_read_only() -> None:
    alias = parse_aliases([_value(name="nic", product_id="101e")])["nic"]
    with pytest.raises(TypeError):
        alias.specs[0]["product_id"] = "0000"  # type: ignore[index]


@pytest.mark.parametrize("depth", range(850, 1001, 3))
def test_deeply_nested_value_is_an_alias_error(depth: int) -> None:
    raw = '{"name": "a", "traits": ' + "[" * depth + "]" * depth + "}"
    _, errors = check_aliases([raw])
    assert len(errors) == 1


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**64), 2**64) | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)
KEYS = st.sampled_from(
    [
        "name",
        "capability_type",
        "vendor_id",
        "product_id",
        "device_type",
        "numa_policy",
        "resource_class",
        "traits",
        "live_migratable",
        "remote_managed",
    ]
)
VALUES = st.sampled_from(
    ["a", " a ", "", "pci", "15b3", "101E", "type-VF", "type-PF", "vdpa", "legacy", "yes", "maybe"]
)
ALIAS_LIKE = st.dictionaries(KEYS, VALUES | JSON, max_size=6)


@given(st.lists(st.one_of(JSON, ALIAS_LIKE).map(json.dumps), max_size=4))
def test_any_json_raises_nothing_but_pci_invalid_alias(values: list[str]) -> None:
    try:
        aliases = parse_aliases(values)
    except PciInvalidAlias:
        return
    assert all(alias.specs for alias in aliases.values())


@given(st.lists(st.text(), max_size=3))
def test_any_text_raises_nothing_but_pci_invalid_alias(values: list[str]) -> None:
    aliases, errors = check_aliases(values)
    assert len(errors) + sum(len(a.specs) for a in aliases.values()) == len(values)

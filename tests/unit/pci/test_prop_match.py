"""Nova's pci_device_prop_match (spec §2): lists by inclusion, strings case-insensitively."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from offpath.jsonvalue import JsonValue
from offpath.pci.prop_match import any_spec_matches, spec_matches

POOL: dict[str, JsonValue] = {
    "vendor_id": "15b3",
    "product_id": "101e",
    "numa_node": 0,
    "remote_managed": "true",
    "physical_network": None,
    "capabilities_network": ["rx", "tx", "tso"],
}


@pytest.mark.parametrize(
    ("spec", "matched"),
    [
        pytest.param({}, True, id="empty-spec-matches-everything"),
        pytest.param({"vendor_id": "15b3"}, True, id="equal-string"),
        pytest.param({"remote_managed": "True"}, True, id="string-case-ignored"),
        pytest.param({"vendor_id": "15B3", "product_id": "101E"}, True, id="every-key-agrees"),
        pytest.param({"vendor_id": "15b3", "product_id": "a2d6"}, False, id="one-key-differs"),
        pytest.param({"capabilities_network": ["tx", "rx"]}, True, id="list-subset"),
        pytest.param({"capabilities_network": ["rx", "gro"]}, False, id="list-not-subset"),
        pytest.param({"capabilities_network": "rx"}, False, id="string-against-list"),
        pytest.param({"physical_network": None}, True, id="null-equals-null"),
        pytest.param({"trusted": None}, True, id="missing-key-reads-null"),
        pytest.param({"trusted": "true"}, False, id="missing-key-against-value"),
        pytest.param({"numa_node": 0}, True, id="equal-int"),
        pytest.param({"numa_node": "0"}, False, id="int-against-string"),
    ],
)
def test_spec_matches(spec: dict[str, JsonValue], matched: bool) -> None:
    assert spec_matches(POOL, spec) is matched


@pytest.mark.parametrize(
    ("specs", "matched"),
    [
        pytest.param([], False, id="no-spec"),
        pytest.param([{"vendor_id": "8086"}], False, id="one-miss"),
        pytest.param([{"vendor_id": "8086"}, {"product_id": "101e"}], True, id="second-matches"),
    ],
)
def test_any_spec_matches(specs: list[dict[str, JsonValue]], matched: bool) -> None:
    assert any_spec_matches(POOL, specs) is matched


# ASCII only: a few Unicode letters do not survive swapcase().lower() unchanged.
words = st.text(alphabet=string.ascii_letters + string.digits + "-_", max_size=5)
scalars = st.one_of(st.none(), st.booleans(), st.integers(), words)
props_strategy = st.dictionaries(st.text(max_size=4), scalars, max_size=5)


@given(props_strategy, st.data())
def test_a_spec_taken_from_the_pool_matches_it(
    props: dict[str, JsonValue], data: st.DataObject
) -> None:
    keys = data.draw(
        st.lists(st.sampled_from(sorted(props)), unique=True) if props else st.just([])
    )
    spec: dict[str, JsonValue] = {}
    for key in keys:
        value = props[key]
        spec[key] = value.swapcase() if isinstance(value, str) else value
    assert spec_matches(props, spec)

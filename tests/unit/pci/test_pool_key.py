"""Pool keys made once and reused: a reused key is the one a fresh make gives."""

from __future__ import annotations

from collections.abc import Mapping

from hypothesis import given
from hypothesis import strategies as st

from offpath.jsonvalue import JsonValue
from offpath.pci import pool_key as keys
from offpath.pci.device import DevType, PciDevice

_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.text(max_size=4))
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=6,
)
_TAGS = st.dictionaries(st.sampled_from(["physical_network", "remote_managed", "x"]), _VALUES)


def _vf(numa: int | None) -> PciDevice:
    return PciDevice(
        "0000:43:00.2",
        "15b3",
        "101e",
        DevType.VF,
        parent_addr="0000:03:00.0",
        parent_ifname="p0",
        numa_node=numa,
    )


@given(tags=_TAGS, numa=st.one_of(st.none(), st.integers(0, 1)))
def test_a_key_equals_a_freshly_made_one_and_string_tags_reuse_it(
    tags: dict[str, JsonValue], numa: int | None
) -> None:
    device = _vf(numa)
    first = keys.pool_key(device, tags)
    again = keys.pool_key(device, dict(tags))
    fresh = keys._make_key(device, tags)
    # repr tells True from 1, which == does not; the order of the props is no part of a key.
    assert first == fresh
    assert _described(first.props) == _described(fresh.props)
    assert (first is again) == all(v is None or isinstance(v, str) for v in tags.values())


def _described(props: object) -> list[tuple[str, str]]:
    assert isinstance(props, Mapping)
    return sorted((str(key), repr(value)) for key, value in props.items())


def test_the_reuse_table_stays_bounded() -> None:
    for index in range(keys._MADE_MAX + 10):
        keys.pool_key(_vf(0), {"x": str(index)})
    assert len(keys._MADE) <= keys._MADE_MAX

"""The JSON path language: what parses, what it reaches, and that nothing but our errors escape."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.api.declarative.errors import PathNotFound, PathSyntaxError
from tests.api.declarative.paths import (
    Index,
    JsonPath,
    Key,
    Match,
    Segment,
    evaluate,
    parse_path,
    render_path,
)

PORT: Any = {
    "port": {
        "id": "p1",
        "binding:profile": {"vf_num": 0, "card_serial_number": "MT2113X00000"},
        "fixed_ips": [{"ip_address": "10.0.0.3"}, {"ip_address": "10.0.0.4"}],
    },
    "devices": [
        {"address": "0000:03:00.2", "claimed": True},
        {"address": "0000:04:00.2", "claimed": 1},
        {"address": "0000:05:00.2"},
    ],
}


@pytest.mark.parametrize(
    ("path", "value"),
    [
        pytest.param("$", PORT, id="root"),
        pytest.param("$.port.id", "p1", id="dotted"),
        pytest.param("$.port.binding:profile.vf_num", 0, id="colon-in-a-name"),
        pytest.param("$.port['binding:profile'].card_serial_number", "MT2113X00000", id="quoted"),
        pytest.param('$.port["binding:profile"].vf_num', 0, id="double-quoted"),
        pytest.param("$.port.fixed_ips[1].ip_address", "10.0.0.4", id="index"),
        pytest.param("$.port.fixed_ips[-1].ip_address", "10.0.0.4", id="negative-index"),
        pytest.param("$.port.fixed_ips.`len`", 2, id="len"),
        pytest.param("$.port.binding:profile.`len`", 2, id="len-of-an-object"),
        pytest.param('$.devices[?address="0000:04:00.2"][0].claimed', 1, id="filter"),
        pytest.param("$.devices[?claimed=true]", [PORT["devices"][0]], id="true-is-not-1"),
        pytest.param("$.devices[?claimed=1].`len`", 1, id="1-is-not-true"),
        pytest.param("$.devices[?address='none']", [], id="filter-matching-nothing"),
    ],
)
def test_a_path_reaches_its_value(path: str, value: object) -> None:
    assert evaluate(parse_path(path), PORT) == value


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        pytest.param("$.port.name", "no member 'name' among", id="no-member"),
        pytest.param("$.port.fixed_ips[2]", "no element 2 in a list of 2", id="out-of-range"),
        pytest.param("$.port.id[0]", "a string, not a list", id="index-a-string"),
        pytest.param("$.port.id.x", "a string, not an object", id="member-of-a-string"),
        pytest.param("$.port[?id=1]", "not a list, cannot be filtered", id="filter-an-object"),
        pytest.param("$.port.binding:profile.vf_num.`len`", "a number has no length", id="len"),
    ],
)
def test_a_path_to_nothing_says_where_it_stopped(path: str, reason: str) -> None:
    with pytest.raises(PathNotFound, match=reason):
        evaluate(parse_path(path), PORT)


@pytest.mark.parametrize(
    "path",
    ["", "port.id", "$.", "$..x", "$[", "$[x]", "$['a]", "$['a'b']", "$[?a]", "$[?a=b]", "$x"],
)
def test_a_bad_path_is_a_syntax_error(path: str) -> None:
    with pytest.raises(PathSyntaxError):
        parse_path(path)


@given(st.text())
def test_any_text_parses_or_is_a_syntax_error(text: str) -> None:
    with contextlib.suppress(PathSyntaxError):
        parse_path(text)


_NAMES = st.text(min_size=1, max_size=8).filter(lambda s: not ('"' in s and "'" in s))
_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), _NAMES)
_SEGMENTS: st.SearchStrategy[Segment] = st.one_of(
    st.builds(Key, _NAMES),
    st.builds(Index, st.integers(-5, 5)),
    st.builds(Match, st.from_regex(r"[a-z_:]{1,6}", fullmatch=True), _SCALARS),
)


@given(st.lists(_SEGMENTS, max_size=5).map(tuple), st.booleans())
def test_a_rendered_path_parses_back(segments: tuple[Segment, ...], length: bool) -> None:
    path = JsonPath(segments, length)
    assert parse_path(render_path(path)) == path


_JSON = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_NAMES, inner, max_size=4),
    max_leaves=12,
)


def _paths_in(value: object) -> list[tuple[tuple[Segment, ...], object]]:
    found: list[tuple[tuple[Segment, ...], object]] = [((), value)]
    children: list[tuple[Segment, object]] = []
    if isinstance(value, dict):
        children = [(Key(k), v) for k, v in value.items()]
    elif isinstance(value, list):
        children = [(Index(i), v) for i, v in enumerate(value)]
    for segment, child in children:
        found.extend(((segment, *rest), leaf) for rest, leaf in _paths_in(child))
    return found


@given(_JSON, st.data())
def test_every_path_in_a_document_reaches_its_value(document: object, data: st.DataObject) -> None:
    segments, value = data.draw(st.sampled_from(_paths_in(document)))
    assert evaluate(parse_path(render_path(JsonPath(segments))), document) == value


@given(_JSON, st.text())
def test_evaluating_anything_gives_a_value_or_our_errors(document: object, text: str) -> None:
    with contextlib.suppress(PathSyntaxError, PathNotFound):
        evaluate(parse_path(text), document)

"""The story format: what a file may say, and that a bad one is refused with where and why."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from tests.api.declarative.errors import DeclarativeError, StoryInvalid
from tests.api.declarative.runner import check, matches
from tests.api.declarative.story import Poll, parse_story
from tests.api.declarative.substitution import Exchange, Scope

STORY = """
defaults:
  request_headers: {x-auth-token: t, accept: application/json}
tests:
- name: create
  POST: /network/v2.0/ports
  data: {port: {binding:vnic_type: remote-managed}}
  status: 201
- name: show
  method: get
  url: /network/v2.0/ports/p1
  request_headers: {x-auth-token: other}
  poll: {count: 3}
  response_json_paths: {$.port.status: ACTIVE}
  response_absent_paths: [$.port.binding:profile]
"""


def test_a_story_reads_into_steps_with_defaults_merged() -> None:
    create, show = parse_story(STORY, source="s.yaml").steps
    assert (create.method, create.url, create.status) == ("POST", "/network/v2.0/ports", 201)
    assert create.data == {"port": {"binding:vnic_type": "remote-managed"}}
    assert create.request_headers == {"x-auth-token": "t", "accept": "application/json"}
    assert (show.method, show.status, show.poll) == ("GET", 200, Poll(3, 0.1))
    assert show.request_headers == {"x-auth-token": "other", "accept": "application/json"}
    assert show.response_json_paths == {"$.port.status": "ACTIVE"}
    assert show.response_absent_paths == ("$.port.binding:profile",)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        pytest.param("tests: [", "not YAML", id="not-yaml"),
        pytest.param("[]", "the document is a mapping", id="a-list"),
        pytest.param("tests: []", "non-empty list", id="no-steps"),
        pytest.param("fixtures: [x]\ntests: [{name: a, GET: /}]", "unknown top-level", id="top"),
        pytest.param("defaults: {url: /}\ntests: [{name: a, GET: /}]", "defaults may set only"),
        pytest.param("tests: [{GET: /}]", "every step has a `name`", id="no-name"),
        pytest.param("tests: [{name: a, GET: /, stauts: 200}]", "unknown keys", id="typo"),
        pytest.param("tests: [{name: a, GET: /}, {name: a, GET: /}]", "is taken", id="same-name"),
        pytest.param("tests: [{name: a, GET: /, url: /}]", "either one", id="two-spellings"),
        pytest.param("tests: [{name: a, method: FETCH, url: /}]", "not one of", id="verb"),
        pytest.param("tests: [{name: a}]", "URL None", id="no-url"),
        pytest.param("tests: [{name: a, GET: /, status: 99}]", "not an HTTP status"),
        pytest.param("tests: [{name: a, GET: /, status: true}]", "not an HTTP status"),
        pytest.param("tests: [{name: a, GET: /, poll: {count: 0}}]", "poll count"),
        pytest.param("tests: [{name: a, GET: /, poll: {count: 9999}}]", "poll count"),
        pytest.param("tests: [{name: a, GET: /, poll: {count: 2, delay: 60}}]", "poll delay"),
        pytest.param("tests: [{name: a, GET: /, poll: {count: 2, every: 1}}]", "nothing else"),
        pytest.param("tests: [{name: a, GET: /, request_headers: {x: 1}}]", "string to a string"),
        pytest.param("tests: [{name: a, GET: /, response_strings: x}]", "list of strings"),
        pytest.param("tests: [{name: a, GET: /, response_json_paths: {1: x}}]", "not a string"),
    ],
)
def test_a_bad_story_is_refused_saying_where(text: str, reason: str) -> None:
    with pytest.raises(StoryInvalid, match=reason) as refused:
        parse_story(text, source="bad.yaml")
    assert str(refused.value).startswith("bad.yaml: ")


_YAML_DATA = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=6),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["tests", "defaults", "name", "GET", "url", "status", "poll", "count"])
            | st.text(max_size=4),
            inner,
            max_size=4,
        )
    ),
    max_leaves=10,
)


@given(_YAML_DATA)
def test_any_yaml_data_is_a_story_or_refused(data: object) -> None:
    with contextlib.suppress(StoryInvalid):
        parse_story(yaml.safe_dump(data), source="any.yaml")


@given(st.text())
def test_any_text_is_a_story_or_refused(text: str) -> None:
    with contextlib.suppress(StoryInvalid):
        parse_story(text, source="any.yaml")


@pytest.mark.parametrize(
    ("actual", "expected", "ok"),
    [
        pytest.param(0, False, False, id="0-is-not-false"),
        pytest.param(1, 1.0, False, id="json-int-is-not-float"),
        pytest.param({"a": 1, "b": "bfb"}, {"b": "/^bf[ab]$/", "a": 1}, True, id="nested-regex"),
        pytest.param({"a": 1, "b": 2}, {"a": 1}, False, id="extra-key"),
        pytest.param([1, "x"], [1, "/x/"], True, id="list"),
        pytest.param([1], [1, 2], False, id="list-length"),
        pytest.param(7, "/^7$/", True, id="regex-on-a-number"),
        pytest.param(None, None, True, id="null"),
    ],
)
def test_matches(actual: object, expected: object, ok: bool) -> None:
    assert matches(actual, expected) is ok


def test_a_bad_regex_is_the_storys_error() -> None:
    with pytest.raises(DeclarativeError, match="not a regular expression"):
        matches("x", "/(/")


def test_check_lists_every_failure_and_may_name_its_own_answer() -> None:
    (step,) = parse_story(
        """
tests:
- name: show
  GET: /ports/p1
  status: 200
  response_json_paths:
    $.port.id: p1
    $.port.name: $RESPONSE['$.port.id']
    $.port.nope: 1
  response_absent_paths: [$.port.id]
  response_headers: {content-type: /json/}
  response_strings: [ACTIVE]
""",
        source="c.yaml",
    ).steps
    body: Any = {"port": {"id": "p1", "name": "p2"}}
    answer = Exchange("show", 404, {"content-type": "text/plain"}, body, '{"port": ...}')
    assert check(step, answer, Scope({})) == [
        "status 404, expected 200",
        '$.port.name is "p2", expected "p1"',
        "$.port.nope: at $.port, no member 'nope' among ['id', 'name']",
        '$.port.id is "p1", expected absent',
        "header content-type is 'text/plain', expected '/json/'",
        "the body does not contain 'ACTIVE'",
    ]

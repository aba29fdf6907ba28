"""References to earlier answers and fixture values: replaced, typed, and refused when they miss."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.api.declarative.errors import SubstitutionError
from tests.api.declarative.substitution import Exchange, Scope, substitute, substitute_text

CREATED = Exchange(
    "create a port",
    201,
    {"location": "/network/v2.0/ports/p1"},
    {"port": {"id": "p1", "binding:profile": {"vf_num": 3}}},
    "",
)
BOOTED = Exchange("boot", 202, {}, {"server": {"id": "s1"}}, "")
EMPTY = Exchange("delete", 204, {}, None, "")
SCOPE = Scope({"NETWORK_ID": "n1"}, (CREATED, BOOTED))


@pytest.mark.parametrize(
    ("text", "value"),
    [
        pytest.param("$ENVIRON['NETWORK_ID']", "n1", id="environ"),
        pytest.param("$RESPONSE['$.server.id']", "s1", id="previous-response"),
        pytest.param("$HISTORY['create a port'].$RESPONSE['$.port.id']", "p1", id="history"),
        pytest.param("$HISTORY['create a port'].$HEADERS['Location']", "/network/v2.0/ports/p1"),
        pytest.param("$HISTORY['create a port'].$RESPONSE['$.port.binding:profile.vf_num']", 3),
        pytest.param(
            "/servers/$RESPONSE['$.server.id']/os-interface/$HISTORY['create a port']"
            ".$RESPONSE['$.port.id']",
            "/servers/s1/os-interface/p1",
            id="inside-text",
        ),
        pytest.param(
            "vf $HISTORY['create a port'].$RESPONSE['$.port.binding:profile']",
            'vf {"vf_num": 3}',
            id="json-inside-text",
        ),
        pytest.param("$.port.id costs $5", "$.port.id costs $5", id="no-reference"),
    ],
)
def test_a_reference_is_replaced(text: str, value: object) -> None:
    assert substitute_text(text, SCOPE) == value


def test_keys_and_nested_values_are_replaced() -> None:
    data = {"port": {"$ENVIRON['NETWORK_ID']": ["$RESPONSE['$.server.id']", 1, None]}}
    assert substitute(data, SCOPE) == {"port": {"n1": ["s1", 1, None]}}


@pytest.mark.parametrize(
    ("text", "scope", "reason"),
    [
        pytest.param("$ENVIRON['NOPE']", SCOPE, "has no 'NOPE'", id="unknown-environ"),
        pytest.param("$RESPONSE['$.x']", Scope({}), "no answer yet", id="first-step"),
        pytest.param("$HISTORY['later'].$RESPONSE['$.x']", SCOPE, "no earlier step 'later'"),
        pytest.param("$RESPONSE['$.server.name']", SCOPE, "no member 'name'", id="no-such-path"),
        pytest.param("$RESPONSE['port']", SCOPE, "starts with '\\$'", id="bad-path"),
        pytest.param("$RESPONSE['$.x']", Scope({}, (EMPTY,)), "no JSON body", id="no-body"),
        pytest.param("$HEADERS['etag']", SCOPE, "no header 'etag'", id="no-header"),
        pytest.param("$RESPONSE[$.server.id]", SCOPE, "not followed by", id="unquoted"),
        pytest.param("$HISTORY['boot'].$ENVIRON['NETWORK_ID']", SCOPE, "not a step's"),
    ],
)
def test_a_reference_to_nothing_is_an_error(text: str, scope: Scope, reason: str) -> None:
    with pytest.raises(SubstitutionError, match=reason):
        substitute_text(text, scope)


@given(st.text())
def test_any_text_is_replaced_or_refused_with_our_error(text: str) -> None:
    with contextlib.suppress(SubstitutionError):
        substitute_text(text, SCOPE)


@given(st.text().filter(lambda s: "$" not in s))
def test_text_without_a_dollar_is_left_alone(text: str) -> None:
    assert substitute_text(text, SCOPE) == text


@given(st.integers() | st.booleans() | st.none() | st.text())
def test_a_whole_reference_keeps_the_value_type(value: object) -> None:
    scope = Scope({}, (Exchange("s", 200, {}, {"v": value}, ""),))
    assert substitute_text("$RESPONSE['$.v']", scope) == value
    shown = value if isinstance(value, str) else json.dumps(value)
    assert substitute_text("is $RESPONSE['$.v']", scope) == f"is {shown}"

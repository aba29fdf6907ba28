"""The login body parser: Keystone's shapes read, anything else a clear 400 or 401."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from offpath.errors import AuthenticationFailed, IdentityInvalid
from offpath.identity.auth_request import AuthRequest, Named, parse_auth_request


def _password(user: dict[str, Any], scope: dict[str, Any] | None = None) -> dict[str, Any]:
    auth: dict[str, Any] = {
        "identity": {"methods": ["password"], "password": {"user": user}},
    }
    if scope is not None:
        auth["scope"] = scope
    return {"auth": auth}


def test_the_clis_body_with_domains_names_user_project_and_domains() -> None:
    body = _password(
        {"name": "alice", "password": "pw", "domain": {"name": "Default"}},
        {"project": {"name": "demo", "domain": {"name": "Default"}}},
    )
    assert parse_auth_request(body) == AuthRequest(
        ("password",),
        Named(name="alice", domain="Default"),
        "pw",
        None,
        Named(name="demo", domain="Default"),
    )


def test_without_domains_the_default_domain_is_meant() -> None:
    parsed = parse_auth_request(
        _password({"name": "a", "password": "p"}, {"project": {"name": "x"}})
    )
    assert parsed.user == Named(name="a", domain="default")
    assert parsed.project == Named(name="x", domain="default")


def test_ids_win_over_names_and_no_scope_is_unscoped() -> None:
    parsed = parse_auth_request(_password({"id": "u1", "name": "ignored", "password": "p"}))
    assert (parsed.user, parsed.project) == (Named(id="u1"), None)


def test_the_token_method_takes_the_header_when_the_body_has_no_id() -> None:
    body = {"auth": {"identity": {"methods": ["token"], "token": {}}}}
    assert parse_auth_request(body, header_token="t0k").token == "t0k"
    with pytest.raises(IdentityInvalid, match="Expecting to find id in token"):
        parse_auth_request(body)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "Expecting to find auth in the request"),
        ({"auth": {}}, "Expecting to find identity in auth"),
        ({"auth": {"identity": {"methods": []}}}, "Expecting to find methods in identity"),
        (_password({"name": "a"}), "Expecting to find password in user"),
        (_password({"password": "p"}), "Expecting to find id or name in user"),
        (
            _password({"name": "a", "password": "p"}, {"system": {"all": True}}),
            "project-scoped tokens only, not system-scoped",
        ),
        (
            _password({"name": "a", "password": "p"}, {"domain": {"id": "default"}}),
            "not domain-scoped",
        ),
    ],
)
def test_malformed_bodies_are_refused_with_keystones_words(body: Any, message: str) -> None:
    with pytest.raises(IdentityInvalid, match=message):
        parse_auth_request(body)


def test_an_unknown_method_is_an_authentication_failure() -> None:
    body = {"auth": {"identity": {"methods": ["totp"], "totp": {}}}}
    with pytest.raises(AuthenticationFailed):
        parse_auth_request(body)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)


@given(JSON)
def test_any_json_is_read_or_refused_with_an_offpath_error(body: Any) -> None:
    try:
        parsed = parse_auth_request(body)
    except (IdentityInvalid, AuthenticationFailed) as exc:
        assert exc.message
    else:
        assert parsed.methods and set(parsed.methods) <= {"password", "token"}


@given(
    st.sampled_from(["password", "token"]),
    st.text(min_size=1, max_size=20),
    st.text(min_size=1, max_size=20),
)
def test_well_formed_logins_round_trip_their_fields(method: str, name: str, secret: str) -> None:
    identity: dict[str, Any] = {"methods": [method]}
    if method == "password":
        identity["password"] = {"user": {"name": name, "password": secret}}
    else:
        identity["token"] = {"id": secret}
    parsed = parse_auth_request(
        {"auth": {"identity": identity, "scope": {"project": {"id": name}}}}
    )
    assert parsed.project == Named(id=name)
    if method == "password":
        assert (parsed.user, parsed.password) == (Named(name=name), secret)
    else:
        assert parsed.token == secret

"""Tokens: sealed, opened, refused when forged, damaged or expired; passwords hashed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from offpath.errors import AuthenticationFailed, IdentityInvalid
from offpath.identity.passwords import hash_password, password_matches
from offpath.identity.tokens import TokenCodec, TokenPayload, new_audit_id, new_key

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def _payload(**changes: object) -> TokenPayload:
    fields: dict[str, object] = {
        "user_id": "u1",
        "project_id": "p1",
        "methods": ("password",),
        "audit_ids": (new_audit_id(),),
        "issued_at": NOW,
        "expires_at": NOW + timedelta(hours=1),
    }
    fields.update(changes)
    return TokenPayload(**fields)  # type: ignore[arg-type]


def test_a_sealed_payload_opens_to_itself_with_microseconds() -> None:
    codec = TokenCodec([new_key()])
    payload = _payload(issued_at=NOW.replace(microsecond=123456))
    token = codec.seal(payload)
    assert "=" not in token and token.isascii()
    assert codec.open(token, now=NOW) == payload


def test_an_expired_token_is_refused() -> None:
    codec = TokenCodec([new_key()])
    token = codec.seal(_payload())
    with pytest.raises(AuthenticationFailed) as caught:
        codec.open(token, now=NOW + timedelta(hours=1))
    assert "expired" in caught.value.reason


def test_a_token_of_another_key_is_refused_and_old_keys_still_open() -> None:
    old, new = new_key(), new_key()
    token = TokenCodec([old]).seal(_payload())
    with pytest.raises(AuthenticationFailed) as caught:
        TokenCodec([new]).open(token, now=NOW)
    assert "no key" in caught.value.reason
    assert TokenCodec([new, old]).open(token, now=NOW).user_id == "u1"


@given(st.text(max_size=300))
def test_any_text_is_refused_as_a_token(text: str) -> None:
    codec = TokenCodec([new_key()])
    with pytest.raises(AuthenticationFailed):
        codec.open(text, now=NOW)


def test_a_flipped_character_is_refused() -> None:
    codec = TokenCodec([new_key()])
    token = codec.seal(_payload())
    middle = len(token) // 2
    flipped = token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1 :]
    with pytest.raises(AuthenticationFailed):
        codec.open(flipped, now=NOW)


def test_passwords_are_hashed_salted_and_checked() -> None:
    first, second = hash_password("s3cret"), hash_password("s3cret")
    assert first != second and first.startswith("$argon2id$")
    assert password_matches("s3cret", first)
    assert not password_matches("s3cret!", first)
    assert not password_matches("s3cret", None)
    assert not password_matches("s3cret", "not a hash")


def test_an_empty_or_huge_password_is_refused() -> None:
    with pytest.raises(IdentityInvalid, match="empty"):
        hash_password("")
    with pytest.raises(IdentityInvalid, match="at most 4096"):
        hash_password("x" * 4097)

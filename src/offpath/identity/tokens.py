"""Tokens as Keystone's Fernet provider makes them: encrypted, signed, self-describing.

The payload names the user, the project, the methods and the audit ids; the
database is asked at each validation only what can change: whether the user
and project are still enabled, the roles, and the revocations.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from offpath.errors import AuthenticationFailed

# Keystone's audit ids: 16 random bytes, URL-safe base64 without padding (22 characters).
_AUDIT_BYTES: Final = 16
# A token longer than this is not one of ours; refused before any cryptography.
MAX_TOKEN_LENGTH: Final = 4096


def new_audit_id() -> str:
    """A new audit id, shaped like Keystone's."""
    return base64.urlsafe_b64encode(secrets.token_bytes(_AUDIT_BYTES)).rstrip(b"=").decode()


def new_key() -> str:
    """A new Fernet key (what `keystone-manage fernet_setup` writes)."""
    return Fernet.generate_key().decode()


@dataclass(frozen=True, slots=True)
class TokenPayload:
    """What a token says of itself; `audit_ids` is its own, then its parent's if rescoped."""

    user_id: str
    project_id: str | None
    methods: tuple[str, ...]
    audit_ids: tuple[str, ...]
    issued_at: datetime
    expires_at: datetime


class TokenCodec:
    """Seals payloads with the newest key and opens them with any key still kept."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ValueError("a token codec needs at least one key")
        self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])

    def seal(self, payload: TokenPayload) -> str:
        """The token for `payload`."""
        body = {
            "u": payload.user_id,
            "p": payload.project_id,
            "m": list(payload.methods),
            "a": list(payload.audit_ids),
            "i": payload.issued_at.timestamp(),
            "e": payload.expires_at.timestamp(),
        }
        data = json.dumps(body, separators=(",", ":")).encode()
        sealed = self._fernet.encrypt_at_time(data, int(payload.issued_at.timestamp()))
        # Keystone's Fernet tokens drop the base64 padding; so do these.
        return sealed.decode().rstrip("=")

    def open(self, token: str, *, now: datetime) -> TokenPayload:
        """The payload of `token`; AuthenticationFailed when forged, damaged or expired."""
        if not token or len(token) > MAX_TOKEN_LENGTH or not token.isascii():
            raise AuthenticationFailed("not a token offpath issued")
        padded = token + "=" * (-len(token) % 4)
        try:
            data = self._fernet.decrypt(padded.encode())
            body = json.loads(data)
            payload = TokenPayload(
                user_id=str(body["u"]),
                project_id=None if body["p"] is None else str(body["p"]),
                methods=tuple(str(m) for m in body["m"]),
                audit_ids=tuple(str(a) for a in body["a"]),
                issued_at=datetime.fromtimestamp(float(body["i"]), UTC),
                expires_at=datetime.fromtimestamp(float(body["e"]), UTC),
            )
        except (InvalidToken, ValueError, KeyError, TypeError):
            raise AuthenticationFailed("a token that no key of this cloud opens") from None
        if payload.expires_at <= now:
            raise AuthenticationFailed(f"a token that expired at {payload.expires_at:%FT%TZ}")
        return payload

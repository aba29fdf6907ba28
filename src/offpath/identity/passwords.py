"""Password hashes: argon2id, as the OWASP guidance and Keystone's newer releases prefer."""

from __future__ import annotations

from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from offpath.errors import IdentityInvalid

# Keystone's `[identity] max_password_length` default.
MAX_PASSWORD_LENGTH: Final = 4096

_HASHER: Final = PasswordHasher()


def hash_password(password: str) -> str:
    """The argon2id hash of `password`, salt and parameters included."""
    if not password:
        raise IdentityInvalid("A password must not be empty.", hint="give --password")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise IdentityInvalid(
            f"A password is at most {MAX_PASSWORD_LENGTH} characters; this one has "
            f"{len(password)}.",
            hint="choose a shorter password",
        )
    return _HASHER.hash(password)


def password_matches(password: str, stored: str | None) -> bool:
    """True when `password` is the one `stored` was hashed from; False for no hash."""
    if stored is None or len(password) > MAX_PASSWORD_LENGTH:
        return False
    try:
        return _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


# A hash to verify against when the user does not exist, so a wrong name and a
# wrong password take the same time.
DECOY_HASH: Final = _HASHER.hash("offpath-decoy-password")

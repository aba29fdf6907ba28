"""Users' key pairs in the API database, read back as records.

Reads and writes take a session (the caller's transaction); a name the
user already has is KeypairExists, an unknown one KeypairNotFound.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from offpath.db.api_schema import KeyPairRow
from offpath.db.columns import utcnow
from offpath.errors import KeypairExists, KeypairNotFound, RequestBodyInvalid


@dataclass(frozen=True, slots=True)
class KeyPairRecord:
    """A key pair as the compute API shows it: never a private key."""

    id: int
    name: str
    user_id: str
    fingerprint: str
    public_key: str
    type: str
    created_at: datetime


def _record(row: KeyPairRow) -> KeyPairRecord:
    return KeyPairRecord(
        id=row.id,
        name=row.name,
        user_id=row.user_id,
        fingerprint=row.fingerprint,
        public_key=row.public_key,
        type=row.type,
        created_at=row.created_at,
    )


def _row(session: Session, user_id: str, name: str) -> KeyPairRow | None:
    return session.scalars(
        select(KeyPairRow).where(KeyPairRow.user_id == user_id, KeyPairRow.name == name)
    ).first()


def create_key_pair(
    session: Session, *, user_id: str, name: str, fingerprint: str, public_key: str, key_type: str
) -> KeyPairRecord:
    """Add the user's key pair; KeypairExists when the user has one of that name."""
    if _row(session, user_id, name) is not None:
        raise KeypairExists(name)
    row = KeyPairRow(
        name=name,
        user_id=user_id,
        fingerprint=fingerprint,
        public_key=public_key,
        type=key_type,
        created_at=utcnow(),
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        # Another worker created it between our check and our insert.
        raise KeypairExists(name) from None
    return _record(row)


def get_key_pair(session: Session, user_id: str, name: str) -> KeyPairRecord:
    """The user's key pair of that name; KeypairNotFound otherwise."""
    row = _row(session, user_id, name)
    if row is None:
        raise KeypairNotFound(name, user_id)
    return _record(row)


def list_key_pairs(
    session: Session, user_id: str, *, limit: int | None = None, marker: str | None = None
) -> list[KeyPairRecord]:
    """The user's key pairs by name, after the one named `marker`, at most `limit` of them."""
    query = select(KeyPairRow).where(KeyPairRow.user_id == user_id)
    if marker is not None:
        if _row(session, user_id, marker) is None:
            raise RequestBodyInvalid(f"Marker {marker} could not be found.")
        query = query.where(KeyPairRow.name > marker)
    query = query.order_by(KeyPairRow.name, KeyPairRow.id)
    if limit is not None:
        query = query.limit(limit)
    return [_record(row) for row in session.scalars(query)]


def delete_key_pair(session: Session, user_id: str, name: str) -> None:
    """Remove the user's key pair; KeypairNotFound when there is none."""
    row = _row(session, user_id, name)
    if row is None:
        raise KeypairNotFound(name, user_id)
    session.delete(row)

"""`/compute/v2.1/os-keypairs`: a user's key pairs, as Nova keeps them in its API database.

A key pair is its user's: another user's is not found, and only an admin
names another user (`user_id`, 2.10+). Before 2.92 a create without a
public key generates the pair and answers its private key, once.
"""

from __future__ import annotations

import re
import string
from datetime import UTC
from typing import Annotated, Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Body, Request, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from offpath.api.auth import Ctx
from offpath.api.compute.context import Version, at_least
from offpath.api.compute.names import NAME_PATTERN
from offpath.api.compute.paging import limit_param
from offpath.api.deps import ApiDeps, Deps, base_url
from offpath.api.errors import validation_message
from offpath.api.microversion import Microversion
from offpath.compute.key_pair import KeyType, fingerprint, generate_key_pair
from offpath.db.engine import reading, writing
from offpath.db.key_pairs import (
    KeyPairRecord,
    create_key_pair,
    delete_key_pair,
    get_key_pair,
    list_key_pairs,
)
from offpath.errors import RequestBodyInvalid
from offpath.rpc.context import RequestContext

router = APIRouter(prefix="/compute/v2.1/os-keypairs", tags=["compute"])

_RULE: Final = "os_compute_api:os-keypairs"
# Nova's [api] max_limit: a page is never longer, asked or not.
MAX_LIMIT: Final = 1000
# The characters Nova allows in a key pair's name, in the order its message lists them.
_SAFE_CHARS: Final = "_- " + string.digits + string.ascii_letters
_SAFE_CHARS_292: Final = "@._- " + string.digits + string.ascii_letters


class KeypairCreate(BaseModel):
    """The `keypair` object of a create at 2.1."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=255)
    public_key: str | None = None


class KeypairCreateV22(KeypairCreate):
    """2.2 adds the key's type."""

    type: KeyType = KeyType.SSH


class KeypairCreateV210(KeypairCreateV22):
    """2.10 lets an admin create a key pair for another user."""

    user_id: str | None = None


class KeypairCreateV292(KeypairCreateV210):
    """2.92 generates no key pair: the public key is required."""

    public_key: str


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Body21(_Body):
    keypair: KeypairCreate


class _Body22(_Body):
    keypair: KeypairCreateV22


class _Body210(_Body):
    keypair: KeypairCreateV210


class _Body292(_Body):
    keypair: KeypairCreateV292


def _parsed(body: dict[str, Any], version: Microversion) -> KeypairCreateV210:
    """The create's `keypair`, checked against the schema of `version`."""
    schema: type[_Body]
    if at_least(version, 92):
        schema = _Body292
    elif at_least(version, 10):
        schema = _Body210
    elif at_least(version, 2):
        schema = _Body22
    else:
        schema = _Body21
    try:
        checked = schema.model_validate(body)
    except ValidationError as exc:
        raise RequestBodyInvalid(validation_message(exc.errors())) from None
    keypair = checked.model_dump()["keypair"]
    _check_name(keypair["name"], version)
    return KeypairCreateV210.model_validate(keypair)


def _check_name(name: str, version: Microversion) -> None:
    """Nova's two name formats: printable without outer blanks, then its safe characters."""
    if not re.match(NAME_PATTERN, name):
        raise RequestBodyInvalid(
            "An invalid 'name' value was provided. The name must be: printable characters. "
            "Can not start or end with whitespace."
        )
    safe = _SAFE_CHARS_292 if at_least(version, 92) else _SAFE_CHARS
    if any(char not in safe for char in name):
        raise RequestBodyInvalid(
            "An invalid 'name' value was provided. The name must be: "
            f"Only expected characters: [{safe}]"
        )


def _user(ctx: RequestContext, asked: str | None, rule: str, deps: ApiDeps) -> str:
    """Whose key pairs: `asked` (an admin's choice) or the caller's; the rule checked on them."""
    user_id = asked or ctx.user_id or ""
    deps.policy.authorize(ctx, f"{_RULE}:{rule}", {"user_id": user_id})
    return user_id


def _asked_user(request: Request, version: Microversion) -> str | None:
    # Nova reads `user_id` from 2.10 on, and ignores it before.
    return request.query_params.get("user_id") if at_least(version, 10) else None


def _brief(record: KeyPairRecord, version: Microversion) -> dict[str, Any]:
    """The keys every view of a key pair has."""
    body: dict[str, Any] = {
        "name": record.name,
        "public_key": record.public_key,
        "fingerprint": record.fingerprint,
    }
    if at_least(version, 2):
        body["type"] = record.type
    return body


def _limit(value: str | None) -> int | None:
    asked = limit_param(value)
    return None if asked is None else min(asked, MAX_LIMIT)


def _next_links(
    request: Request, deps: ApiDeps, shown: list[KeyPairRecord], limit: int | None
) -> list[dict[str, str]]:
    """Nova's `next` link when the page is full: the same query, marked at its last name."""
    page = MAX_LIMIT if limit is None else limit
    if not page or len(shown) != page:
        return []
    params = dict(sorted(request.query_params.items()))
    params["marker"] = shown[-1].name
    href = f"{base_url(request, deps)}/compute/v2.1/os-keypairs?{urlencode(params)}"
    return [{"rel": "next", "href": href}]


@router.post("")
def create(
    body: Annotated[dict[str, Any], Body()], response: Response, ctx: Ctx, deps: Deps, v: Version
) -> dict[str, Any]:
    """Import a public key, or (before 2.92) generate a key pair; 201 from 2.2 (200 before)."""
    asked = _parsed(body, v)
    user_id = _user(ctx, asked.user_id, "create", deps)
    private_key: str | None = None
    if asked.public_key is None:
        generated = generate_key_pair(asked.type, user_id=user_id)
        public_key, print_, private_key = (
            generated.public_key,
            generated.fingerprint,
            generated.private_key,
        )
    else:
        public_key, print_ = asked.public_key, fingerprint(asked.public_key, asked.type)
    with writing(deps.cells.api) as session:
        record = create_key_pair(
            session,
            user_id=user_id,
            name=asked.name,
            fingerprint=print_,
            public_key=public_key,
            key_type=asked.type,
        )
    shown = {**_brief(record, v), "user_id": record.user_id}
    if private_key is not None:
        shown["private_key"] = private_key
    response.status_code = 201 if at_least(v, 2) else 200
    return {"keypair": shown}


@router.get("")
def index(request: Request, ctx: Ctx, deps: Deps, v: Version) -> dict[str, Any]:
    """The user's key pairs by name; from 2.35 a page (`limit`, `marker`) with a next link."""
    user_id = _user(ctx, _asked_user(request, v), "index", deps)
    query = request.query_params
    paged = at_least(v, 35)
    limit = _limit(query.get("limit")) if paged else None
    marker = query.get("marker") if paged else None
    with reading(deps.cells.api) as session:
        found = list_key_pairs(
            session, user_id, limit=MAX_LIMIT if limit is None else limit, marker=marker
        )
    listed: dict[str, Any] = {"keypairs": [{"keypair": _brief(kp, v)} for kp in found]}
    if paged and (links := _next_links(request, deps, found, limit)):
        listed["keypairs_links"] = links
    return listed


@router.get("/{name}")
def show(name: str, request: Request, ctx: Ctx, deps: Deps, v: Version) -> dict[str, Any]:
    """One key pair with its id, owner and (always empty) soft-delete keys."""
    user_id = _user(ctx, _asked_user(request, v), "show", deps)
    with reading(deps.cells.api) as session:
        record = get_key_pair(session, user_id, name)
    # Nova's timestamp here is the naive UTC time as Python writes it.
    created = record.created_at.astimezone(UTC).replace(tzinfo=None).isoformat()
    return {
        "keypair": {
            **_brief(record, v),
            "id": record.id,
            "user_id": record.user_id,
            "created_at": created,
            "deleted": False,
            "deleted_at": None,
            "updated_at": None,
        }
    }


@router.delete("/{name}")
def delete(name: str, request: Request, ctx: Ctx, deps: Deps, v: Version) -> Response:
    """Delete a key pair: 202 at 2.1, 204 from 2.2."""
    user_id = _user(ctx, _asked_user(request, v), "delete", deps)
    with writing(deps.cells.api) as session:
        delete_key_pair(session, user_id, name)
    return Response(status_code=204 if at_least(v, 2) else 202)

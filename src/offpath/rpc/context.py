"""Who asked, and which request an RPC message belongs to: travels with every message."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

from offpath.jsonvalue import JsonValue


def new_request_id() -> str:
    """A request id shaped like Nova's (`req-` and a uuid), for the logs of every service."""
    return f"req-{uuid.uuid4()}"


@dataclass(frozen=True, slots=True)
class RequestContext:
    """The caller of an RPC: its request id, project, user and roles."""

    request_id: str = field(default_factory=new_request_id)
    project_id: str | None = None
    user_id: str | None = None
    roles: tuple[str, ...] = ()
    is_admin: bool = False

    @classmethod
    def admin(cls) -> RequestContext:
        """A new context for a service acting on its own behalf (Nova's admin context)."""
        return cls(is_admin=True)

    def to_dict(self) -> dict[str, JsonValue]:
        """The context as the JSON object sent with a message."""
        return {
            "request_id": self.request_id,
            "project_id": self.project_id,
            "user_id": self.user_id,
            "roles": list(self.roles),
            "is_admin": self.is_admin,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> RequestContext:
        """The context `to_dict` wrote; keys the transport adds are ignored, bad values dropped."""
        # A peer's context only labels logs and owners: a malformed field
        # must not fail the call it came with.
        request_id = data.get("request_id")
        roles = data.get("roles")
        return cls(
            request_id=request_id
            if isinstance(request_id, str) and request_id
            else new_request_id(),
            project_id=_text(data.get("project_id")),
            user_id=_text(data.get("user_id")),
            roles=tuple(r for r in roles if isinstance(r, str)) if isinstance(roles, list) else (),
            is_admin=data.get("is_admin") is True,
        )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None

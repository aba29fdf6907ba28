"""Who asks the network service, and what it sees; whether a text can name a stored row."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Protocol, TypeVar

from sqlalchemy.orm import Session

from offpath.errors import OffpathError
from offpath.network.neutron_json import MAX_TEXT

ADMIN_PROJECT: Final = "admin"


@dataclass(frozen=True, slots=True)
class Caller:
    """Who asks: a project, and whether it sees every project's resources (admin, service).

    Visibility only: what the caller may do with what it sees is the API's
    policy, checked before the service is called.
    """

    project_id: str | None = None
    sees_all: bool = False

    @property
    def is_admin(self) -> bool:
        """True for a caller who sees and acts on every project's resources."""
        return self.sees_all

    def sees(self, project_id: str, *, shared: bool = False) -> bool:
        """True when the caller may see a resource of `project_id`."""
        return self.sees_all or shared or project_id == self.project_id

    def project_for(self, asked: str | None) -> str:
        """The project a new resource belongs to: what an admin asked, else the caller's."""
        if self.sees_all:
            return asked or self.project_id or ADMIN_PROJECT
        return self.project_id or ADMIN_PROJECT


ADMIN: Final = Caller(sees_all=True)


def storable(text: str) -> bool:
    """True when a column can hold `text`: any id or name, else nothing can match it."""
    return len(text) <= MAX_TEXT and "\x00" not in text


class _Owned(Protocol):
    @property
    def project_id(self) -> str: ...


OwnedRow = TypeVar("OwnedRow", bound=_Owned)


def visible_row(
    session: Session,
    caller: Caller,
    model: type[OwnedRow],
    row_id: str,
    missing: Callable[[str], OffpathError],
) -> OwnedRow:
    """The row of `row_id` when `caller` sees it; else `missing(row_id)`, never a 403 that tells."""
    row = session.get(model, row_id) if storable(row_id) else None
    if row is None or not caller.sees(row.project_id):
        raise missing(row_id)
    return row

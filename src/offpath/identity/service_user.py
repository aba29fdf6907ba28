"""The API process's own service user: tokens it issues itself for its calls to its services."""

from __future__ import annotations

from datetime import datetime

from offpath.identity.authentication import TokenService
from offpath.identity.bootstrap import SERVICE_PROJECT, SERVICE_USER
from offpath.identity.directory import IdentityDirectory
from offpath.service_token import RenewingToken


class ServiceUserTokens(RenewingToken):
    """A `TokenSource` for offpath's service user, issued in process and renewed before it ends."""

    def __init__(self, tokens: TokenService, directory: IdentityDirectory) -> None:
        super().__init__(self._issue)
        self._tokens = tokens
        self._user_id = directory.user(SERVICE_USER).id
        self._project_id = directory.project(SERVICE_PROJECT).id

    def _issue(self) -> tuple[str, datetime]:
        token = self._tokens.issue_for(self._user_id, self._project_id)
        return token.id, token.expires_at

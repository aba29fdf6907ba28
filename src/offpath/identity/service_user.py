"""The API process's own service user: tokens it issues itself for its calls to its services."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from offpath.identity.authentication import TokenService
from offpath.identity.bootstrap import SERVICE_PROJECT, SERVICE_USER
from offpath.identity.directory import IdentityDirectory
from offpath.service_token import RENEW_MARGIN


class ServiceUserTokens:
    """A `TokenSource` for offpath's service user, issued in process and renewed before it ends."""

    def __init__(self, tokens: TokenService, directory: IdentityDirectory) -> None:
        self._tokens = tokens
        self._user_id = directory.user(SERVICE_USER).id
        self._project_id = directory.project(SERVICE_PROJECT).id
        self._lock = threading.Lock()
        self._token = ""
        self._renew_at = datetime.min.replace(tzinfo=UTC)

    def token(self) -> str:
        """The kept token, or a new one when it is about to end."""
        with self._lock:
            if not self._token or datetime.now(UTC) >= self._renew_at:
                self._issue()
            return self._token

    def renew(self) -> str:
        """A new token."""
        with self._lock:
            self._issue()
            return self._token

    def _issue(self) -> None:
        token = self._tokens.issue_for(self._user_id, self._project_id)
        self._token = token.id
        self._renew_at = token.expires_at - RENEW_MARGIN

"""How one offpath service authenticates its calls to another: a token, renewed when it ends.

A static token (the opt-in `[api] auth_token`), a Keystone v3 password login
(`[service_user]`, as Nova's and Neutron's service users), or a token the API
process issues itself for its own service user. Each answers `token()`; the
HTTP clients send it and ask for a new one once when a call answers 401.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Protocol

import httpx

from offpath.errors import AuthenticationFailed, IdentityUnavailable

# A token is renewed this long before it ends, so no call carries one that ends in flight.
RENEW_MARGIN: Final = timedelta(minutes=2)


class TokenSource(Protocol):
    """Where a client gets the token it sends."""

    def token(self) -> str:
        """A token valid now."""
        ...

    def renew(self) -> str:
        """A new token: the last one was refused."""
        ...


@dataclass(frozen=True, slots=True)
class StaticToken:
    """A token that never changes (`[api] auth_token`)."""

    value: str

    def token(self) -> str:
        """The token."""
        return self.value

    def renew(self) -> str:
        """The same token: there is no other."""
        return self.value


def login_body(
    username: str,
    password: str,
    project_name: str | None,
    *,
    user_domain_name: str = "Default",
    project_domain_name: str = "Default",
) -> dict[str, object]:
    """Keystone's `POST /v3/auth/tokens` body for a password login (unscoped without a project)."""
    auth: dict[str, object] = {
        "identity": {
            "methods": ["password"],
            "password": {
                "user": {
                    "name": username,
                    "password": password,
                    "domain": {"name": user_domain_name},
                }
            },
        }
    }
    if project_name is not None:
        auth["scope"] = {"project": {"name": project_name, "domain": {"name": project_domain_name}}}
    return {"auth": auth}


@dataclass(frozen=True, slots=True)
class PasswordCredentials:
    """A Keystone v3 password login, scoped to a project (a service user's `[service_user]`)."""

    auth_url: str
    username: str
    password: str
    project_name: str
    user_domain_name: str = "Default"
    project_domain_name: str = "Default"

    def body(self) -> dict[str, object]:
        """The `POST /v3/auth/tokens` body."""
        return login_body(
            self.username,
            self.password,
            self.project_name,
            user_domain_name=self.user_domain_name,
            project_domain_name=self.project_domain_name,
        )


@dataclass(frozen=True, slots=True)
class Login:
    """A token a login gave, when it ends, and Keystone's description of it."""

    token: str
    expires_at: datetime
    document: dict[str, Any]


def login(credentials: PasswordCredentials, *, timeout: float = 30.0) -> Login:
    """Log in; AuthenticationFailed when refused, IdentityUnavailable when not answered."""
    url = f"{credentials.auth_url.rstrip('/')}/auth/tokens"
    try:
        response = httpx.post(url, json=credentials.body(), timeout=timeout)
    except httpx.HTTPError as exc:
        raise IdentityUnavailable(url, str(exc)) from None
    if response.status_code in (401, 403):
        raise AuthenticationFailed(
            f"identity at {url} refused the login of {credentials.username!r}"
        )
    if response.status_code not in (200, 201) or "x-subject-token" not in response.headers:
        raise IdentityUnavailable(url, f"answered {response.status_code} to a login")
    document: dict[str, Any] = response.json()["token"]
    ends = datetime.fromisoformat(str(document["expires_at"]).replace("Z", "+00:00"))
    return Login(response.headers["x-subject-token"], ends, document)


class RenewingToken:
    """A token kept until shortly before it ends; `obtain` gives a new one and its end."""

    def __init__(self, obtain: Callable[[], tuple[str, datetime]]) -> None:
        self._obtain = obtain
        self._lock = threading.Lock()
        self._token = ""
        self._renew_at = datetime.min.replace(tzinfo=UTC)

    def token(self) -> str:
        """The kept token, or a new one when it is about to end."""
        with self._lock:
            if not self._token or datetime.now(UTC) >= self._renew_at:
                self._refresh()
            return self._token

    def renew(self) -> str:
        """A new token."""
        with self._lock:
            self._refresh()
            return self._token

    def _refresh(self) -> None:
        token, ends = self._obtain()
        self._token, self._renew_at = token, ends - RENEW_MARGIN


class PasswordLogin(RenewingToken):
    """Tokens from a Keystone v3 password login."""

    def __init__(self, credentials: PasswordCredentials, *, timeout: float = 30.0) -> None:
        super().__init__(self._login)
        self._credentials = credentials
        self._timeout = timeout

    def _login(self) -> tuple[str, datetime]:
        done = login(self._credentials, timeout=self._timeout)
        return done.token, done.expires_at


class TokenAuth(httpx.Auth):
    """Sends `X-Auth-Token` from a source; after a 401, renews it and retries once."""

    def __init__(self, source: TokenSource) -> None:
        self._source = source

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """The request with the token; once more with a new one when refused."""
        request.headers["X-Auth-Token"] = self._source.token()
        response = yield request
        if response.status_code == 401:
            request.headers["X-Auth-Token"] = self._source.renew()
            yield request


def token_source(token: str | TokenSource) -> TokenSource:
    """A source for `token`: a string is a static token."""
    return StaticToken(token) if isinstance(token, str) else token

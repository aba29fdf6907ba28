"""The caller's side of an RPC topic: calls and casts, their failures as offpath errors.

oslo.messaging's and the broker's exceptions are translated here, once: a
call that got no answer is RpcTimeout, a broker that cannot be reached is
RpcUnavailable, and whatever the remote endpoint raised is RpcRemoteError
carrying the remote offpath error's code when it was one.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Final

import oslo_messaging

from offpath import errors
from offpath.errors import OffpathError, RpcRemoteError, RpcTimeout, RpcUnavailable
from offpath.rpc.context import RequestContext
from offpath.rpc.serializer import NotJson
from offpath.rpc.transport import CONNECTION_ERRORS, Rpc, describe, redacted

# What oslo.messaging appends to the message of an exception rebuilt from a reply.
_REMOTE_TRACEBACK: Final = "Traceback (most recent call last):"


class RpcClient:
    """Calls and casts to one topic, at most at `version_cap`."""

    def __init__(
        self, rpc: Rpc, topic: str, *, version: str, version_cap: str | None = None
    ) -> None:
        self.topic = topic
        self._rpc = rpc
        self._client: Any = oslo_messaging.get_rpc_client(
            rpc.transport,
            oslo_messaging.Target(topic=topic, version=version),
            version_cap=version_cap,
            serializer=rpc.serializer,
            timeout=rpc.call_timeout,
            retry=rpc.retries,
        )

    @property
    def version_cap(self) -> str | None:
        """The newest version this client may send; None for no cap."""
        cap: str | None = self._client.version_cap
        return cap

    def can_send_version(self, version: str) -> bool:
        """True when `version` is within the cap."""
        return bool(self._client.can_send_version(version))

    def call(
        self,
        ctx: RequestContext,
        method: str,
        args: Mapping[str, object],
        *,
        server: str | None = None,
        version: str | None = None,
        timeout: float | None = None,
    ) -> object:
        """Run `method` on a server of the topic and return its answer."""
        wait = self._rpc.call_timeout if timeout is None else timeout
        prepared = self._prepare(server=server, version=version, timeout=wait)
        with self._translated(method, server=server, timeout=wait):
            return prepared.call(ctx, method, **args)

    def cast(
        self,
        ctx: RequestContext,
        method: str,
        args: Mapping[str, object],
        *,
        server: str | None = None,
        version: str | None = None,
    ) -> None:
        """Send `method` to a server of the topic without waiting for it to run."""
        prepared = self._prepare(server=server, version=version, timeout=None)
        with self._translated(method, server=server, timeout=0.0):
            prepared.cast(ctx, method, **args)

    def _prepare(self, *, server: str | None, version: str | None, timeout: float | None) -> Any:
        self._rpc.ensure_reachable()
        options: dict[str, object] = {}
        if server is not None:
            options["server"] = server
        if version is not None:
            # Above the cap this raises oslo.messaging's RPCVersionCapError: a
            # caller that did not check can_send_version first is a bug.
            options["version"] = version
        if timeout is not None:
            options["timeout"] = timeout
        return self._client.prepare(**options)

    @contextmanager
    def _translated(self, method: str, *, server: str | None, timeout: float) -> Iterator[None]:
        try:
            yield
        except (NotJson, oslo_messaging.rpc.client.RPCVersionCapError):
            raise  # the caller's bug, not a failure of the call
        except oslo_messaging.MessagingTimeout:
            raise RpcTimeout(self.topic, method, timeout=timeout, server=server) from None
        except oslo_messaging.RemoteError as exc:
            raise self._remote(method, str(exc.exc_type), str(exc.value)) from None
        except CONNECTION_ERRORS as exc:
            raise RpcUnavailable(redacted(self._rpc.url), describe(exc)) from None
        except Exception as exc:
            # In one process the endpoint's own exception reaches the caller
            # unwrapped; over RabbitMQ a built-in one is rebuilt with the
            # remote traceback in its message. Both are told as remote.
            if not (self._rpc.in_process or _REMOTE_TRACEBACK in str(exc)):
                raise
            raise self._remote(method, type(exc).__name__, str(exc)) from None

    def _remote(self, method: str, error_type: str, detail: str) -> RpcRemoteError:
        name = error_type.removesuffix("_Remote")
        found = getattr(errors, name, None)
        code = found.code if inspect.isclass(found) and issubclass(found, OffpathError) else None
        return RpcRemoteError(
            self.topic,
            method,
            error_type=name,
            detail=detail.strip().split("\n", 1)[0],
            remote_code=code,
        )

"""The callee's side of an RPC topic: a threading server over plain endpoint objects."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any, Final

import oslo_messaging

from offpath.rpc.transport import Rpc

LOG = logging.getLogger(__name__)

# Seconds `stop` waits for the messages being handled to finish.
STOP_TIMEOUT: Final = 5.0


class RpcServer:
    """Serves `endpoints` on `topic` (and `topic.server` when `server` is given)."""

    def __init__(self, rpc: Rpc, topic: str, endpoints: Sequence[object], *, server: str) -> None:
        self.topic = topic
        self.server = server
        self._rpc = rpc
        # No executor named: oslo.messaging picks threading unless eventlet
        # monkey-patched the process, which offpath never does.
        self._server: Any = oslo_messaging.get_rpc_server(
            rpc.transport,
            oslo_messaging.Target(topic=topic, server=server),
            list(endpoints),
            serializer=rpc.serializer,
            access_policy=oslo_messaging.DefaultRPCAccessPolicy,
        )
        self._started = False

    def start(self) -> None:
        """Listen; RpcUnavailable if the broker does not answer (a listener would wait forever)."""
        self._rpc.ensure_reachable()
        self._server.start()
        self._started = True
        LOG.info("listening on topic %s as %s", self.topic, self.server)

    def stop(self, *, timeout: float = STOP_TIMEOUT) -> None:
        """Stop listening and wait, at most `timeout` seconds in all, for the messages in hand."""
        if not self._started:
            return
        self._started = False

        def stop_and_wait() -> None:
            # RabbitMQ's listener ends only after its current poll: seconds, at times.
            self._server.stop()
            self._server.wait()

        waiter = threading.Thread(target=stop_and_wait, name=f"stop-{self.topic}", daemon=True)
        waiter.start()
        waiter.join(timeout)
        if waiter.is_alive():
            LOG.warning(
                "topic %s: messages still in hand after %.1f s; not waiting", self.topic, timeout
            )

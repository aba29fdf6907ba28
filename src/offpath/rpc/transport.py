"""A transport_url opened for offpath: RabbitMQ in a deployment, in-process in one process.

oslo.messaging's options (`[DEFAULT] control_exchange`, `[oslo_messaging_rabbit]`)
are read from the same nova.conf-shaped files as the service's own, as Nova
does. Every wait is bounded: a send retries the connection a few times, a
call waits `call_timeout` seconds, and nothing starts listening before the
broker has answered once (oslo.messaging's listeners retry forever).
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

import amqp.exceptions
import kombu.exceptions
import oslo_messaging
import oslo_messaging.opts
from oslo_config import cfg

from offpath.config import read_config_files
from offpath.errors import RpcTransportInvalid, RpcUnavailable
from offpath.rpc.context import RequestContext
from offpath.rpc.serializer import JsonSerializer

LOG = logging.getLogger(__name__)

IN_PROCESS_SCHEME: Final = "fake"
# Topics are scoped by this exchange; Nova's is "nova", so both can share a broker.
DEFAULT_EXCHANGE: Final = "offpath"
# Connection attempts per send before giving up (oslo.messaging's default is forever).
SEND_RETRIES: Final = 2
DEFAULT_CALL_TIMEOUT: Final = 60.0
_PROBE_TOPIC: Final = "offpath-probe"

# Errors of the broker connection itself, as the rabbit driver lets them escape.
CONNECTION_ERRORS: Final = (
    oslo_messaging.MessageDeliveryFailure,
    kombu.exceptions.KombuError,
    amqp.exceptions.AMQPError,
    OSError,
)


def redacted(url: str) -> str:
    """`url` with its password hidden, for messages and logs."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


def _messaging_options() -> Iterator[tuple[str | None, list[cfg.Opt]]]:
    for group, opts in oslo_messaging.opts.list_opts():
        yield (None if group == "DEFAULT" else group), opts
    # Registered by oslo.messaging on the global CONF only, yet read from ours.
    for module, name in (
        ("oslo_messaging._tracing.client", "oslo_messaging_tracing"),
        ("oslo_messaging._metrics.client", "oslo_messaging_metrics"),
    ):
        try:
            opts = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError):
            continue
        yield name, list(opts)


def _messaging_conf(files: Sequence[Path], exchange: str | None) -> cfg.ConfigOpts:
    conf = cfg.ConfigOpts()
    for group, opts in _messaging_options():
        conf.register_opts(opts, group=group)
    conf.set_default("control_exchange", DEFAULT_EXCHANGE)
    read_config_files(conf, files)
    if exchange is not None:
        conf.set_override("control_exchange", exchange)
    return conf


class Rpc:
    """One transport_url, opened once; its clients and servers share it.

    The in-process transport (`fake://`) connects every `Rpc` of the process
    that uses the same exchange.
    """

    def __init__(
        self,
        url: str,
        *,
        config_files: Sequence[Path] = (),
        exchange: str | None = None,
        call_timeout: float = DEFAULT_CALL_TIMEOUT,
        retries: int = SEND_RETRIES,
    ) -> None:
        self.url = url
        self.call_timeout = call_timeout
        self.retries = retries
        self._conf = _messaging_conf(config_files, exchange)
        self.exchange: str = self._conf.control_exchange
        try:
            parsed = oslo_messaging.TransportURL.parse(self._conf, url)
            self.transport: Any = oslo_messaging.get_rpc_transport(self._conf, url=parsed)
        except oslo_messaging.InvalidTransportURL as exc:
            raise RpcTransportInvalid(redacted(url), describe(exc)) from None
        except oslo_messaging.DriverLoadFailure:
            scheme = url.partition(":")[0] or url
            raise RpcTransportInvalid(
                redacted(url), f"no oslo.messaging driver for {scheme!r}"
            ) from None
        except ValueError as exc:
            raise RpcTransportInvalid(redacted(url), describe(exc)) from None
        self.in_process = parsed.transport == IN_PROCESS_SCHEME
        self.serializer = JsonSerializer()
        self._reached = self.in_process
        self._lock = threading.Lock()

    def ensure_reachable(self) -> None:
        """Return once the broker has answered; RpcUnavailable after a few bounded attempts."""
        with self._lock:
            if self._reached:
                return
            probe = oslo_messaging.get_rpc_client(
                self.transport,
                oslo_messaging.Target(topic=_PROBE_TOPIC),
                serializer=self.serializer,
                retry=self.retries,
            )
            # A cast to a topic nobody listens on is dropped by the broker; it
            # only proves the connection, with the send's bounded retries.
            try:
                probe.cast(RequestContext.admin(), "probe")
            except CONNECTION_ERRORS as exc:
                raise RpcUnavailable(redacted(self.url), describe(exc)) from None
            self._reached = True

    def close(self, *, timeout: float | None = None) -> None:
        """Close the broker connections; with `timeout`, wait at most that long.

        oslo.messaging's RabbitMQ driver joins its reply poller, which can take
        seconds; a process that is exiting bounds that wait and lets the
        operating system close what is left.
        """
        if timeout is None:
            self.transport.cleanup()
            return
        closer = threading.Thread(target=self.transport.cleanup, name="rpc-close", daemon=True)
        closer.start()
        closer.join(timeout)
        if closer.is_alive():
            LOG.info(
                "%s: connections not closed within %.1f s; left to exit",
                redacted(self.url),
                timeout,
            )


def describe(exc: BaseException) -> str:
    """An exception as one line: drivers and remote tracebacks spread theirs over several."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__

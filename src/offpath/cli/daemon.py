"""What long-running commands (agent, conductor) share: one-line logs, SIGTERM/SIGINT as a stop."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from types import FrameType

_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class OneLineFormatter(logging.Formatter):
    """Every record on one line; a traceback only with OFFPATH_DEBUG=1."""

    def formatException(self, ei: object) -> str:  # noqa: N802 - logging's name
        if os.environ.get("OFFPATH_DEBUG"):
            return super().formatException(ei)  # type: ignore[arg-type]
        exc = ei[1] if isinstance(ei, tuple) else None
        first = str(exc).strip().split("\n", 1)[0] if exc is not None else ""
        return f"{type(exc).__name__}: {first}"

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        if os.environ.get("OFFPATH_DEBUG"):
            return text
        return " | ".join(line for line in text.splitlines() if line.strip())


def log_to_stderr(*, verbose: bool = False) -> None:
    """Send offpath's and its libraries' logs to stderr, one line per event."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(OneLineFormatter(_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    # Chatty at INFO: a line per connection and per channel.
    for name in ("amqp", "kombu", "oslo.messaging._drivers.impl_rabbit", "alembic", "httpx"):
        logging.getLogger(name).setLevel(logging.DEBUG if verbose else logging.WARNING)


def stop_on_signals() -> threading.Event:
    """An event set by SIGTERM or SIGINT, for the command's main loop to end on."""
    stop = threading.Event()

    def _stop(signum: int, _frame: FrameType | None) -> None:
        logging.getLogger("offpath").info("%s received; stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    return stop

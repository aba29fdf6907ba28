"""A throw-away RabbitMQ virtual host at 127.0.0.1:5672 (guest/guest), for tests.

oslo.messaging names a topic's queue after the topic alone, so two runs on
one broker would share `conductor`: each run gets its own virtual host.
With CI=true a broker that does not answer is a failure, not a skip.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

RABBIT_HOST = "127.0.0.1"
RABBIT_PORT = 5672
_CTL_TIMEOUT = 30


def _unavailable(problem: object) -> None:
    message = f"RabbitMQ is not usable on {RABBIT_HOST}:{RABBIT_PORT}: {problem}"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message} (required when CI=true)")
    pytest.skip(message)


def _ctl(*args: str) -> None:
    subprocess.run(
        ["rabbitmqctl", *args],
        check=True,
        capture_output=True,
        timeout=_CTL_TIMEOUT,
    )


@contextmanager
def scratch_vhost() -> Iterator[str]:
    """A new virtual host for guest, deleted afterwards; its transport_url."""
    try:
        with socket.create_connection((RABBIT_HOST, RABBIT_PORT), timeout=3):
            pass
    except OSError as exc:
        _unavailable(exc)
    if shutil.which("rabbitmqctl") is None:
        _unavailable("rabbitmqctl is not on PATH (needed to create a virtual host)")
    vhost = f"offpath_t_{uuid.uuid4().hex[:12]}"
    try:
        _ctl("add_vhost", vhost)
        _ctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    except (OSError, subprocess.SubprocessError) as exc:
        _unavailable(f"cannot create a virtual host with rabbitmqctl: {exc}")
    try:
        yield f"rabbit://guest:guest@{RABBIT_HOST}:{RABBIT_PORT}/{vhost}"
    finally:
        subprocess.run(
            ["rabbitmqctl", "delete_vhost", vhost],
            check=False,
            capture_output=True,
            timeout=_CTL_TIMEOUT,
        )

"""Opening a connection to OVN fails in bounded time, with the option to fix named."""

from __future__ import annotations

import socket
import time

import pytest

from offpath.errors import OvnUnavailable
from offpath.network.ovn.config import OvnConfig
from offpath.network.ovn.connection import open_northbound, open_southbound


def test_a_server_that_never_answers_is_unavailable_after_the_timeout() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        remote = f"tcp:127.0.0.1:{silent.getsockname()[1]}"
        started = time.monotonic()
        with pytest.raises(OvnUnavailable) as raised:
            open_southbound(OvnConfig("", remote, timeout=1))
        took = time.monotonic() - started
    assert raised.value.message == (
        f"OVN Southbound database at {remote}: no answer to a schema request within 1 s"
    )
    # It waited its timeout (1 s), and not much longer.
    assert took >= 1
    assert took < 5


def test_a_refused_connection_is_unavailable_at_once() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        remote = f"tcp:127.0.0.1:{probe.getsockname()[1]}"
    started = time.monotonic()
    with pytest.raises(OvnUnavailable) as raised:
        open_northbound(OvnConfig(remote, "", timeout=30))
    assert time.monotonic() - started < 5
    assert raised.value.message.startswith(
        f"OVN Northbound database at {remote}: cannot read its schema: "
    )


@pytest.mark.parametrize(
    ("database", "option"),
    [("Northbound", "ovn_nb_connection"), ("Southbound", "ovn_sb_connection")],
)
def test_the_hint_names_the_option_of_its_database(database: str, option: str) -> None:
    error = OvnUnavailable(database, "tcp:127.0.0.1:1", "down")
    assert f"([ovn] {option})" in error.hint


def test_a_caller_may_give_its_own_hint() -> None:
    error = OvnUnavailable("Southbound", "tcp:127.0.0.1:1", "down", hint="start it")
    assert (error.hint, error.problem) == ("start it", "down")

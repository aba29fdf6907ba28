"""The RPC layer on the in-process transport and on RabbitMQ: answers, casts, failures."""

from __future__ import annotations

import queue
import time
from collections.abc import Iterator

import oslo_messaging
import pytest
from hypothesis import given
from hypothesis import strategies as st

from offpath.errors import (
    CellNotFound,
    RpcRemoteError,
    RpcTimeout,
    RpcTransportInvalid,
    RpcUnavailable,
)
from offpath.rpc.client import RpcClient
from offpath.rpc.context import RequestContext
from offpath.rpc.serializer import NotJson
from offpath.rpc.server import RpcServer
from offpath.rpc.transport import Rpc, redacted


class Echo:
    """Endpoints of a test topic: answer, remember casts, fail on demand."""

    target = oslo_messaging.Target(version="1.1")

    def __init__(self) -> None:
        self.casts: queue.Queue[tuple[RequestContext, str]] = queue.Queue()

    def echo(self, ctx: RequestContext, value: object) -> dict[str, object]:
        return {"value": value, "request_id": ctx.request_id, "project": ctx.project_id}

    def note(self, ctx: RequestContext, text: str) -> None:
        self.casts.put((ctx, text))

    def fail(self, ctx: RequestContext, name: str) -> None:
        raise CellNotFound(name)

    def crash(self, ctx: RequestContext) -> None:
        raise KeyError("boom")


@pytest.fixture
def echo(rpc: Rpc, topic: str) -> Iterator[Echo]:
    endpoint = Echo()
    server = RpcServer(rpc, topic, [endpoint], server="host1")
    server.start()
    yield endpoint
    server.stop()


def client(rpc: Rpc, topic: str, cap: str | None = None) -> RpcClient:
    return RpcClient(rpc, topic, version="1.1", version_cap=cap)


def test_a_call_returns_the_answer_and_carries_the_context(
    rpc: Rpc, topic: str, echo: Echo
) -> None:
    ctx = RequestContext(project_id="p1")
    answer = client(rpc, topic).call(ctx, "echo", {"value": [1, "two", None]}, server="host1")
    assert answer == {"value": [1, "two", None], "request_id": ctx.request_id, "project": "p1"}


def test_a_call_without_server_reaches_a_server_of_the_topic(
    rpc: Rpc, topic: str, echo: Echo
) -> None:
    answer = client(rpc, topic).call(RequestContext(), "echo", {"value": 3})
    assert isinstance(answer, dict)
    assert answer["value"] == 3


def test_a_cast_is_delivered(rpc: Rpc, topic: str, echo: Echo) -> None:
    ctx = RequestContext(user_id="u1")
    client(rpc, topic).cast(ctx, "note", {"text": "hello"}, server="host1")
    got_ctx, text = echo.casts.get(timeout=10)
    assert (got_ctx.request_id, got_ctx.user_id, text) == (ctx.request_id, "u1", "hello")


def test_a_call_nobody_answers_times_out(rpc: Rpc, topic: str, echo: Echo) -> None:
    started = time.monotonic()
    with pytest.raises(RpcTimeout) as raised:
        client(rpc, topic).call(RequestContext(), "echo", {"value": 1}, server="nobody", timeout=1)
    assert time.monotonic() - started < 5
    assert raised.value.message == f"no answer from {topic} on nobody to echo within 1 s"


def test_a_remote_offpath_error_keeps_its_code(rpc: Rpc, topic: str, echo: Echo) -> None:
    with pytest.raises(RpcRemoteError) as raised:
        client(rpc, topic).call(RequestContext(), "fail", {"name": "cellX"}, server="host1")
    assert raised.value.remote_code == "cell.not_found"
    assert raised.value.message == (
        f"{topic} failed fail: CellNotFound [cell.not_found]: cell 'cellX' not found"
    )


@pytest.mark.parametrize(
    ("method", "error_type"),
    [
        pytest.param("crash", "KeyError", id="endpoint-bug"),
        pytest.param("no_such_method", "NoSuchMethod", id="unknown-method"),
    ],
)
def test_any_other_remote_failure_is_an_rpc_remote_error(
    rpc: Rpc, topic: str, echo: Echo, method: str, error_type: str
) -> None:
    with pytest.raises(RpcRemoteError) as raised:
        client(rpc, topic).call(RequestContext(), method, {}, server="host1")
    assert (raised.value.error_type, raised.value.remote_code) == (error_type, None)
    assert "\n" not in raised.value.message


def test_an_argument_that_is_not_json_fails_at_the_sender(rpc: Rpc, topic: str, echo: Echo) -> None:
    with pytest.raises(NotJson):
        client(rpc, topic).call(RequestContext(), "echo", {"value": object()}, server="host1")


def test_the_version_cap_holds_back_newer_messages(rpc: Rpc, topic: str, echo: Echo) -> None:
    capped = client(rpc, topic, cap="1.0")
    assert capped.can_send_version("1.0")
    assert not capped.can_send_version("1.1")
    with pytest.raises(oslo_messaging.rpc.client.RPCVersionCapError):
        capped.cast(RequestContext(), "note", {"text": "x"}, server="host1", version="1.1")


def test_a_server_stops_within_its_bound(rpc: Rpc, topic: str) -> None:
    server = RpcServer(rpc, topic, [Echo()], server="host1")
    server.start()
    started = time.monotonic()
    server.stop(timeout=3)
    assert time.monotonic() - started < 4


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("nosuchdriver://host/", id="unknown-driver"),
        pytest.param("not a url", id="not-a-url"),
        pytest.param("rabbit://guest:guest@127.0.0.1:notaport/", id="bad-port"),
    ],
)
def test_a_transport_url_oslo_messaging_cannot_use_is_invalid_input(url: str) -> None:
    with pytest.raises(RpcTransportInvalid) as raised:
        Rpc(url)
    assert raised.value.code == "rpc.transport_url.invalid"


def test_a_broker_that_does_not_answer_is_unavailable_within_a_bound() -> None:
    # Port 1 on loopback refuses at once: what a stopped RabbitMQ looks like.
    rpc = Rpc("rabbit://guest:secret@127.0.0.1:1/", retries=0, call_timeout=2)
    started = time.monotonic()
    try:
        with pytest.raises(RpcUnavailable) as raised:
            client(rpc, "t").call(RequestContext(), "echo", {"value": 1})
    finally:
        rpc.close()
    assert time.monotonic() - started < 10
    assert "secret" not in raised.value.message
    assert raised.value.message.startswith("message queue rabbit://guest:***@127.0.0.1:1/")


def test_redacted_hides_only_the_password() -> None:
    assert redacted("rabbit://u:pw@h:5672/v") == "rabbit://u:***@h:5672/v"
    assert redacted("fake://") == "fake://"


def test_a_context_survives_its_dict() -> None:
    ctx = RequestContext(project_id="p", user_id="u", roles=("admin", "member"), is_admin=True)
    assert RequestContext.from_dict(ctx.to_dict()) == ctx


@given(st.dictionaries(st.text(max_size=12), st.from_type(object), max_size=6))
def test_any_peer_context_reads_without_error(data: dict[str, object]) -> None:
    ctx = RequestContext.from_dict(data)
    assert ctx.request_id

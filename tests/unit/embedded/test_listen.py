"""The embedded cloud's listening socket: connections served by asyncio (uvicorn) have Nagle off."""

from __future__ import annotations

import asyncio
import socket

from offpath.embedded.cloud import _listen


async def _nodelay_of_one_connection(sock: socket.socket) -> int:
    accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    class Record(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            conn = transport.get_extra_info("socket")
            accepted.set_result(conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    server = await asyncio.get_running_loop().create_server(Record, sock=sock)
    async with server:
        host, port = sock.getsockname()[:2]
        _, writer = await asyncio.open_connection(host, port)
        try:
            return await asyncio.wait_for(accepted, timeout=10)
        finally:
            writer.close()


def test_served_connections_have_nagle_off() -> None:
    # With Nagle on, a keep-alive client's every response waited ~40 ms for a delayed ACK.
    sock = _listen("127.0.0.1", 0)
    assert asyncio.run(_nodelay_of_one_connection(sock)) != 0

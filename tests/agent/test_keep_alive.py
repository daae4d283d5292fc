"""An idle connection to the agent outlives the client's own keep-alive (httpx drops its connections
after 5 s idle). With uvicorn's default 5 s on the server too, a client reusing a connection just
as the server closes it got "Server disconnected" — which the SDK does not retry, so a pre-check
could fail for nothing."""

from __future__ import annotations

import socket
import time

from axonflow_notebook.agent import EmbeddedAgent

REQUEST = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n"


def _answer(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length"))
    while len(body) < length:
        body += sock.recv(65536)
    return head


def test_an_idle_connection_is_still_open_after_the_clients_own_keep_alive(tmp_path):
    agent = EmbeddedAgent(port=0, db_path=str(tmp_path / "agent.sqlite3")).start()
    try:
        host, port = agent.url.rsplit("//", 1)[1].split(":")
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(REQUEST)
            assert _answer(sock).startswith(b"HTTP/1.1 200")
            time.sleep(6.5)  # past httpx's 5 s keep-alive expiry, and uvicorn's default
            sock.sendall(REQUEST)
            assert _answer(sock).startswith(b"HTTP/1.1 200")  # the same connection still answers
    finally:
        agent.stop()

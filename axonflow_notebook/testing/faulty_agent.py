"""A loopback "AxonFlow" that answers every request with one chosen fault.

A raw asyncio TCP server (not an ASGI app) so that it can also misbehave below
HTTP: close the connection halfway through a body it promised in full. It
reads each request (headers and Content-Length body), then answers per
`fault`, and counts the requests it saw.
"""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Optional

FAULTS = ("stopped", "slow", "http_500", "http_503", "malformed_json", "reset", "http_401", "http_403", "http_404")

_STATUS_TEXT = {200: "OK", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 500: "Internal Server Error",
                503: "Service Unavailable"}


def _response(status: int, body: bytes, content_length: Optional[int] = None) -> bytes:
    length = len(body) if content_length is None else content_length
    head = (f"HTTP/1.1 {status} {_STATUS_TEXT.get(status, 'Status')}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {length}\r\n"
            "Connection: keep-alive\r\n\r\n")
    return head.encode("ascii") + body


def _json(status: int, payload: dict) -> bytes:
    return _response(status, json.dumps(payload).encode("utf-8"))


class FaultyAgent:
    """`with FaultyAgent("http_503") as agent: ... agent.url ... agent.requests`."""

    def __init__(self, fault: str, *, slow_seconds: float = 2.0) -> None:
        if fault not in FAULTS or fault == "stopped":
            raise ValueError(f"FaultyAgent serves a live fault, not {fault!r}")
        self.fault = fault
        self.slow_seconds = slow_seconds
        self.requests = 0
        self.url = ""
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._server: Optional[asyncio.base_events.Server] = None
        self._thread: Optional[threading.Thread] = None
        self._ready = threading.Event()

    def start(self) -> "FaultyAgent":
        self._thread = threading.Thread(target=self._serve, name=f"faulty-agent-{self.fault}", daemon=True)
        self._thread.start()
        if not self._ready.wait(5):
            raise RuntimeError("faulty agent did not start")
        return self

    def stop(self) -> None:
        loop = self._loop
        if loop is not None and loop.is_running():
            loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> "FaultyAgent":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # ----- server --------------------------------------------------------

    def _serve(self) -> None:
        loop = self._loop = asyncio.new_event_loop()
        self._server = loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0))
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            self._server.close()
            for task in asyncio.all_tasks(loop):
                task.cancel()
            loop.run_until_complete(asyncio.sleep(0))
            loop.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while await self._one_request(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def _one_request(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip() or 0)
        if length:
            await reader.readexactly(length)
        self.requests += 1
        fault = self.fault
        if fault == "slow":
            await asyncio.sleep(self.slow_seconds)
            writer.write(_json(200, {"context_id": "late", "approved": True}))
        elif fault == "http_500":
            writer.write(_json(500, {"success": False, "error": "internal error"}))
        elif fault == "http_503":
            writer.write(_json(503, {"success": False, "error": "service unavailable"}))
        elif fault == "malformed_json":
            writer.write(_response(200, b'{"context_id": "ctx", "approved": tru'))
        elif fault == "reset":
            # Promise 400 bytes, send 20, then drop the connection (RST, not FIN).
            writer.write(_response(200, b'{"context_id": "ctx",', content_length=400))
            await writer.drain()
            writer.transport.abort()
            return False
        elif fault == "http_401":
            writer.write(_json(401, {"success": False, "error": "invalid client credentials"}))
        elif fault == "http_403":
            writer.write(_json(403, {"success": False, "error": "client is not allowed to do this"}))
        elif fault == "http_404":  # a route this AxonFlow does not serve
            writer.write(_json(404, {"success": False, "error": "not found"}))
        await writer.drain()
        return True


__all__ = ["FaultyAgent", "FAULTS"]

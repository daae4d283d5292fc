"""An AxonFlow that fills `rate_limit` in its pre-check answers: the embedded agent behind a proxy.

The embedded agent never sends `rate_limit` (docs/wire-protocol.md); a real AxonFlow with rate
limiting does (`{limit, remaining, reset_at}`, parsed by the SDK into `rate_limit_info`). This
forwards every request to the agent over HTTP and adds the field to pre-check answers: the first
`limit` pre-checks of each window count down to 0, and the window resets `window_s` after it
started.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
import time

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


class RateLimitedAxonFlow:
    def __init__(self, upstream: str, *, limit: int, window_s: float) -> None:
        self.upstream = upstream
        self.limit = limit
        self.window_s = window_s
        self.pre_checks: list = []  # (time, remaining) of every pre-check answered
        self._window_start = 0.0
        self._used = 0
        self._lock = threading.Lock()
        self.url = ""

    def _rate_limit(self) -> dict:
        now = time.time()
        with self._lock:
            if now - self._window_start >= self.window_s:
                self._window_start, self._used = now, 0
            self._used += 1
            remaining = max(0, self.limit - self._used)
            self.pre_checks.append((now, remaining))
            reset = dt.datetime.fromtimestamp(self._window_start + self.window_s, dt.timezone.utc)
        return {"limit": self.limit, "remaining": remaining, "reset_at": reset.isoformat()}

    async def _forward(self, request: Request) -> Response:
        async with httpx.AsyncClient(base_url=self.upstream, timeout=10) as client:
            upstream = await client.request(request.method, request.url.path, params=request.query_params,
                                            content=await request.body(),
                                            headers={k: v for k, v in request.headers.items() if k != "host"})
        body = upstream.content
        if request.url.path == "/api/policy/pre-check" and upstream.status_code == 200:
            data = json.loads(body)
            data["rate_limit"] = self._rate_limit()
            body = json.dumps(data).encode()
        headers = {k: v for k, v in upstream.headers.items()
                   if k.lower() not in ("content-length", "content-encoding", "transfer-encoding")}
        return Response(body, status_code=upstream.status_code, headers=headers)

    def start(self) -> "RateLimitedAxonFlow":
        app = Starlette(routes=[Route("/{path:path}", self._forward, methods=["GET", "POST", "PUT", "DELETE"])])
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self._server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", timeout_keep_alive=120))
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True,
                                        name="rate-limited-axonflow")
        self._thread.start()
        while not self._server.started:
            time.sleep(0.01)
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(5)

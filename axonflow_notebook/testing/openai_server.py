"""Loopback OpenAI-compatible LLM server for tests and benchmarks.

Real HTTP on 127.0.0.1 (port 0 → a free port) in a background thread, reached
through LiteLLM's `openai/` provider:
`model="openai/test-model", api_base=server.url + "/v1", api_key="sk-test"`.
It records every request so a test can prove an LLM was (never) called.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import uuid
from typing import Any, Dict, List, Optional

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route


def _words(text: str) -> int:
    return max(1, len(text.split()))


class OpenAITestServer:
    def __init__(self, reply: str = "Hello from the loopback LLM.", port: int = 0) -> None:
        self.reply = reply
        self.fail_status: Optional[int] = None  # e.g. 500 to make every call fail
        self.delay_seconds = 0.0
        self.fail_next = 0  # the next N requests fail with `fail_next_status` (then it recovers)
        self.fail_next_status = 429
        self.in_flight = 0
        self.max_in_flight = 0  # the most requests it was answering at once since reset()
        self.requests: List[Dict[str, Any]] = []
        self.arrivals: List[float] = []  # time.monotonic() of each request, in order
        self._lock = threading.Lock()
        self._port = port
        self._server: Optional[uvicorn.Server] = None
        self._thread: Optional[threading.Thread] = None
        self.url = ""

    @property
    def count(self) -> int:
        return len(self.requests)

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.arrivals.clear()
        self.fail_status = None
        self.delay_seconds = 0.0
        self.fail_next = 0
        self.fail_next_status = 429
        self.max_in_flight = self.in_flight

    def last_user_message(self) -> Optional[str]:
        if not self.requests:
            return None
        for message in reversed(self.requests[-1].get("messages", [])):
            if message.get("role") == "user":
                return message.get("content") if isinstance(message.get("content"), str) else json.dumps(message.get("content"))
        return None

    # ----- app -----------------------------------------------------------

    async def _chat(self, request: Request) -> Any:
        body = await request.json()
        with self._lock:
            self.requests.append(body)
            self.arrivals.append(time.monotonic())
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            failing = self.fail_next > 0
            if failing:
                self.fail_next -= 1
        try:
            return await self._answer(body, failing)
        finally:
            with self._lock:
                self.in_flight -= 1

    async def _answer(self, body: Dict[str, Any], failing: bool) -> Any:
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)
        if failing:
            return JSONResponse(
                {"error": {"message": "loopback server: try again", "type": "rate_limit_error",
                           "code": self.fail_next_status}},
                status_code=self.fail_next_status,
            )
        if self.fail_status:
            return JSONResponse(
                {"error": {"message": "loopback server failure", "type": "server_error", "code": self.fail_status}},
                status_code=self.fail_status,
            )
        model = body.get("model", "test-model")
        prompt_tokens = sum(_words(str(m.get("content", ""))) for m in body.get("messages", []))
        completion_tokens = _words(self.reply)
        usage = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                 "total_tokens": prompt_tokens + completion_tokens}
        ident = "chatcmpl-" + uuid.uuid4().hex[:12]
        created = int(time.time())
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            return StreamingResponse(self._sse(ident, created, model, usage if include_usage else None),
                                     media_type="text/event-stream")
        return JSONResponse({
            "id": ident, "object": "chat.completion", "created": created, "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": self.reply},
                         "finish_reason": "stop"}],
            "usage": usage,
        })

    async def _sse(self, ident: str, created: int, model: str, usage: Optional[dict]):
        def frame(delta: dict, finish: Optional[str] = None, extra: Optional[dict] = None) -> str:
            payload = {"id": ident, "object": "chat.completion.chunk", "created": created, "model": model,
                       "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
            if extra:
                payload.update(extra)
            return f"data: {json.dumps(payload)}\n\n"

        yield frame({"role": "assistant", "content": ""})
        pieces = self.reply.split(" ")
        for index, piece in enumerate(pieces):
            yield frame({"content": piece if index == 0 else " " + piece})
        yield frame({}, "stop")
        if usage is not None:
            yield f"data: {json.dumps({'id': ident, 'object': 'chat.completion.chunk', 'created': created, 'model': model, 'choices': [], 'usage': usage})}\n\n"
        yield "data: [DONE]\n\n"

    async def _models(self, request: Request) -> Any:
        return JSONResponse({"object": "list", "data": [{"id": "test-model", "object": "model"}]})

    # ----- lifecycle -----------------------------------------------------

    def start(self) -> "OpenAITestServer":
        app = Starlette(routes=[
            Route("/v1/chat/completions", self._chat, methods=["POST"]),
            Route("/chat/completions", self._chat, methods=["POST"]),
            Route("/v1/models", self._models, methods=["GET"]),
        ])
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self._port))
        port = sock.getsockname()[1]
        # Idle connections stay open as a provider's do (uvicorn closes them after 5 s, which
        # races a client reusing one from its pool at that moment: "Connection error").
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off", timeout_keep_alive=120)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                        name="openai-test-server", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("loopback LLM server did not start")
            time.sleep(0.01)
        self.url = f"http://127.0.0.1:{port}"
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def litellm_kwargs(self) -> Dict[str, str]:
        """`model`, `api_base` and `api_key` for a LiteLLM call to this server."""
        return {"model": "openai/test-model", "api_base": self.url + "/v1", "api_key": "sk-test"}

    def __enter__(self) -> "OpenAITestServer":
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()


__all__ = ["OpenAITestServer"]

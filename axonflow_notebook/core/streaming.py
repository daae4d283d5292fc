"""`stream=True`: LiteLLM's chunks passed through, each reported, the whole audited at the end."""

from __future__ import annotations

import logging
from typing import Any, AsyncIterator, Awaitable, Callable, Iterator, List, Optional, Tuple

from .call import GovernedCall
from .events import CallFailed, CompletionChunk
from .llm import litellm_module
from .runtime import get_runtime

_log = logging.getLogger("axonflow_notebook.core")

# (call, response, started, error) -> the completion report and audit (pipeline.Governor.finish)
Finish = Callable[[GovernedCall, Any, float, Optional[str]], Awaitable[None]]


class GovernedStream:
    """Async iterator over LiteLLM chunks that audits once the stream ends.

    `response` holds the aggregated ModelResponse after the end.
    """

    def __init__(self, finish: Finish, call: GovernedCall, inner: Any, started: float) -> None:
        self._finish = finish
        self._call = call
        self._inner = inner
        self._started = started
        self._chunks: List[Any] = []
        self._done = False
        self.response: Any = None

    def __aiter__(self) -> "GovernedStream":
        return self

    async def __anext__(self) -> Any:
        if self._done:
            raise StopAsyncIteration
        try:
            chunk = await self._inner.__anext__()
        except StopAsyncIteration:
            await self._end(None)
            raise
        except Exception as exc:
            await self._end(f"{type(exc).__name__}: {exc}")
            raise
        self._chunks.append(chunk)
        emit = self._call.emit
        if emit.active:
            try:
                delta = chunk.choices[0].delta.content
            except (AttributeError, IndexError):
                delta = None
            if delta:
                emit(CompletionChunk(emit.call_id, delta=delta))
        return chunk

    async def aclose(self) -> None:
        """Stop early: the partial answer is still audited."""
        if not self._done:
            await self._end("stream closed by the caller before the end")
        close = getattr(self._inner, "aclose", None)
        if close is not None:
            try:
                await close()
            except Exception:
                pass

    async def _end(self, error: Optional[str]) -> None:
        if self._done:
            return
        self._done = True
        call = self._call
        call.stage = "audit"
        self.response = build_response(self._chunks, call.messages)
        if error and call.emit.active:
            emit = call.emit
            emit(CallFailed(emit.call_id, stage="llm", error_type="StreamError", message=error[:500],
                            policies=tuple(call.policies)))
        await self._finish(call, self.response, self._started, error)


class SyncGovernedStream:
    """Sync iterator over a `GovernedStream`, pulled through the runtime's loop."""

    def __init__(self, stream: GovernedStream) -> None:
        self._stream = stream

    @property
    def response(self) -> Any:
        return self._stream.response

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        found, chunk = get_runtime().run(_next_chunk(self._stream))
        if not found:
            raise StopIteration
        return chunk

    def close(self) -> None:
        get_runtime().run(self._stream.aclose())

    def __enter__(self) -> "SyncGovernedStream":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()


async def _next_chunk(stream: AsyncIterator[Any]) -> Tuple[bool, Any]:
    try:
        return True, await stream.__anext__()
    except StopAsyncIteration:
        return False, None


def build_response(chunks: List[Any], messages: Any) -> Any:
    """LiteLLM's aggregate of the chunks (None when there were none or it fails)."""
    if not chunks:
        return None
    try:
        return litellm_module().stream_chunk_builder(chunks, messages=messages)
    except Exception:
        _log.debug("stream_chunk_builder failed", exc_info=True)
        return None


__all__ = ["GovernedStream", "SyncGovernedStream", "build_response"]

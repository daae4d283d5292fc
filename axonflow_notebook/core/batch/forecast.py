"""What a batch will cost, before its first call: LiteLLM's token counter and price map.

Prompt tokens are counted exactly (`litellm.token_counter`, the model's own tokenizer where
LiteLLM has one). Completion tokens cannot be known in advance: `max_tokens` bounds them
(the forecast is then an upper bound), otherwise a stated estimate per row stands in.
Prices are LiteLLM's per-token prices (`litellm.cost_per_token`, from its local cost map).
Counting runs in a worker thread: 10,000 rows take about a second of CPU.
"""

from __future__ import annotations

import asyncio
from array import array
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from ..llm import ensure_litellm

DEFAULT_COMPLETION_ESTIMATE = 256  # completion tokens a row, when max_tokens does not bound them


@dataclass(frozen=True)
class BatchForecast:
    """Per-row token and cost forecasts (costs None when LiteLLM has no price for the model)."""

    prompt_tokens: "array[int]"  # empty when nothing needed counting
    completion_tokens: int  # per row
    basis: str  # how completion tokens were forecast, in words
    input_price: Optional[float]  # USD per prompt token
    output_price: Optional[float]  # USD per completion token

    @property
    def priced(self) -> bool:
        return self.input_price is not None and self.output_price is not None

    def row_tokens(self, index: int) -> int:
        prompt = self.prompt_tokens[index] if index < len(self.prompt_tokens) else 0
        return prompt + self.completion_tokens

    def row_usd(self, index: int) -> Optional[float]:
        if not self.priced or index >= len(self.prompt_tokens):
            return None
        return self.prompt_tokens[index] * self.input_price + self.completion_tokens * self.output_price  # type: ignore[operator]

    @property
    def total_usd(self) -> Optional[float]:
        if not self.priced:
            return None
        prompts = sum(self.prompt_tokens)
        completions = self.completion_tokens * len(self.prompt_tokens)
        return prompts * self.input_price + completions * self.output_price  # type: ignore[operator]


def completion_budget(kwargs: Mapping[str, Any], estimate: Optional[int]) -> Tuple[int, str]:
    """Completion tokens a row may use, and the words that say where the figure came from."""
    for name in ("max_tokens", "max_completion_tokens"):
        value = kwargs.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value, f"{name}={value} a row (an upper bound)"
    tokens = DEFAULT_COMPLETION_ESTIMATE if estimate is None else int(estimate)
    return tokens, f"an estimate of {tokens} completion tokens a row (no max_tokens given)"


def prices(litellm: Any, model: str) -> Tuple[Optional[float], Optional[float]]:
    """LiteLLM's USD per prompt and per completion token for `model`, or (None, None)."""
    try:
        prompt_cost, _ = litellm.cost_per_token(model=model, prompt_tokens=1000, completion_tokens=0)
        _, completion_cost = litellm.cost_per_token(model=model, prompt_tokens=0, completion_tokens=1000)
    except Exception:  # LiteLLM raises when the model is not in its price map
        return None, None
    return prompt_cost / 1000, completion_cost / 1000


def _count(litellm: Any, model: str, messages: Sequence[List[Dict[str, Any]]]) -> "array[int]":
    counts = array("l")
    for row in messages:
        try:
            counts.append(int(litellm.token_counter(model=model, messages=row)))
        except Exception:  # a message shape the counter does not know: count its characters / 4
            counts.append(max(1, sum(len(str(m.get("content", ""))) for m in row) // 4))
    return counts


async def forecast(model: str, messages: Sequence[List[Dict[str, Any]]], kwargs: Mapping[str, Any], *,
                   estimate: Optional[int] = None, need_tokens: bool = False) -> BatchForecast:
    """The batch's forecast; prompt tokens are counted only when a price or `need_tokens` needs them."""
    litellm = await ensure_litellm()
    completion, basis = completion_budget(kwargs, estimate)
    input_price, output_price = prices(litellm, model)
    if input_price is None and not need_tokens:
        return BatchForecast(array("l"), completion, basis, None, None)
    counts = await asyncio.to_thread(_count, litellm, model, messages)
    return BatchForecast(counts, completion, basis, input_price, output_price)


__all__ = ["BatchForecast", "forecast", "completion_budget", "prices", "DEFAULT_COMPLETION_ESTIMATE"]

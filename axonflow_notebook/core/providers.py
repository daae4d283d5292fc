"""Facts about a LiteLLM response: provider, usage, text, cost, simulation."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Optional, Tuple

from .llm import litellm_module

_HEURISTIC = (
    (("gpt", "o1", "o3", "o4"), "openai"),
    (("claude",), "anthropic"),
    (("gemini",), "google"),
    (("bedrock",), "bedrock"),
    (("mistral",), "mistral"),
    (("llama",), "meta"),
    (("command",), "cohere"),
)


@lru_cache(maxsize=256)
def provider_of(model: str) -> str:
    """LiteLLM's provider for `model` (e.g. "openai/x" → "openai"), else a name heuristic.

    Waits for LiteLLM's import if it is still running (llm.py); the pipeline has awaited it.
    """
    try:
        litellm = litellm_module()
        return litellm.get_llm_provider(model)[1] or "unknown"
    except Exception:
        lowered = model.lower()
        for needles, name in _HEURISTIC:
            if any(n in lowered for n in needles):
                return name
        return "unknown"


def usage_of(response: Any) -> Tuple[int, int, int]:
    usage = getattr(response, "usage", None)
    if usage is None and isinstance(response, dict):
        usage = response.get("usage")
    if usage is None:
        return 0, 0, 0
    get = usage.get if isinstance(usage, dict) else lambda k, d=None: getattr(usage, k, d)
    prompt = int(get("prompt_tokens", 0) or 0)
    completion = int(get("completion_tokens", 0) or 0)
    total = int(get("total_tokens", 0) or 0) or prompt + completion
    return prompt, completion, total


def text_of(response: Any) -> str:
    choices = getattr(response, "choices", None)
    if not choices:
        return ""
    message = getattr(choices[0], "message", None)
    content = getattr(message, "content", None) if message is not None else None
    return content if isinstance(content, str) else ("" if content is None else str(content))


_NO_COST_MODELS: set = set()


def cost_of(response: Any, model: str) -> Optional[float]:
    """LiteLLM's cost estimate, or None when it does not know the model.

    LiteLLM has already priced a response it returned (`_hidden_params["response_cost"]`, set
    in litellm/litellm_core_utils/llm_response_utils/response_metadata.py); computing it again
    took about 1 ms of CPU a call, which a batch of thousands of rows pays in full.
    """
    hidden = getattr(response, "_hidden_params", None)
    if isinstance(hidden, dict):
        known = hidden.get("response_cost")
        if isinstance(known, (int, float)) and not isinstance(known, bool):
            return float(known)
    if model in _NO_COST_MODELS:
        return None
    try:
        litellm = litellm_module()
        if model not in litellm.model_cost and model.split("/", 1)[-1] not in litellm.model_cost:
            _NO_COST_MODELS.add(model)  # unknown model: LiteLLM would only print a warning
            return None
        cost = litellm.completion_cost(completion_response=response, model=model)
    except Exception:
        _NO_COST_MODELS.add(model)
        return None
    return float(cost) if cost is not None else None


__all__ = ["provider_of", "usage_of", "text_of", "cost_of"]

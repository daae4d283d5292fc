"""Model prices, read from the price list LiteLLM ships, without importing LiteLLM.

LiteLLM's package carries ``model_prices_and_context_window_backup.json`` (USD per token per
model; https://github.com/BerriAI/litellm/blob/main/model_prices_and_context_window.json is
the same list online). The agent finds that file with ``importlib.util.find_spec``, which
locates the package without running it, and keeps only the models that have both an input
and an output price per token. Nothing is fetched from the network. Without LiteLLM the
table is empty: ``GET /api/v1/pricing`` lists nothing and usage costs come only from what
clients send with their audits.

The file is ~3.5 MB; it is read once, on first use (off the event loop), not at start.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import threading
from typing import NamedTuple, Optional

FILE_NAME = "model_prices_and_context_window_backup.json"


class Price(NamedTuple):
    provider: str
    model: str
    input_per_1k: float
    output_per_1k: float

    def to_json(self) -> dict:
        """The SDK's ``PricingInfo``."""
        return {
            "provider": self.provider,
            "model": self.model,
            "pricing": {"input_per_1k": self.input_per_1k, "output_per_1k": self.output_per_1k},
        }

    def cost(self, tokens_in: int, tokens_out: int) -> float:
        return (tokens_in * self.input_per_1k + tokens_out * self.output_per_1k) / 1000


def litellm_price_file() -> Optional[str]:
    try:
        spec = importlib.util.find_spec("litellm")
    except (ImportError, ValueError):
        return None
    for directory in (spec.submodule_search_locations or []) if spec else []:
        path = os.path.join(directory, FILE_NAME)
        if os.path.isfile(path):
            return path
    return None


def _per_1k(value) -> Optional[float]:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        return None
    return round(value * 1000, 12)


class PriceTable:
    """Prices by model name; ``load()`` once (from any thread), then lookups are dict reads."""

    def __init__(self, path: Optional[str] = None) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._by_model: Optional[dict[str, Price]] = None
        self.source = "none"

    @property
    def loaded(self) -> bool:
        return self._by_model is not None

    def load(self) -> "PriceTable":
        with self._lock:
            if self._by_model is not None:
                return self
            path = self._path or litellm_price_file()
            by_model: dict[str, Price] = {}
            if path is not None:
                try:
                    with open(path, encoding="utf-8") as fh:
                        raw = json.load(fh)
                except (OSError, ValueError):
                    raw = {}
                for model, entry in raw.items() if isinstance(raw, dict) else ():
                    if not isinstance(entry, dict):
                        continue
                    provider = entry.get("litellm_provider")
                    inp = _per_1k(entry.get("input_cost_per_token"))
                    out = _per_1k(entry.get("output_cost_per_token"))
                    if isinstance(provider, str) and inp is not None and out is not None:
                        by_model[model] = Price(provider, model, inp, out)
                self.source = f"LiteLLM price list ({path})" if by_model else "none"
            self._by_model = by_model
            return self

    def lookup(self, model: str, provider: str = "") -> Optional[Price]:
        """The price of ``model`` as a call names it (``gpt-4o``, ``openai/gpt-4o``, ...)."""
        by_model = self.load()._by_model
        for name in (model, model.partition("/")[2], f"{provider}/{model}" if provider else ""):
            if name and name in by_model:
                return by_model[name]
        return None

    def select(self, provider: Optional[str] = None, model: Optional[str] = None) -> list[Price]:
        """Every price, or those of one provider and/or one model (LiteLLM's names)."""
        prices = self.load()._by_model.values()
        return [
            p for p in prices
            if (provider is None or p.provider == provider)
            and (model is None or model in (p.model, p.model.partition("/")[2]))
        ]

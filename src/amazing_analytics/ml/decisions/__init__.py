"""From insight to decision: A/B holdouts and their readout, stock plans."""

from __future__ import annotations

from typing import Any


def config_float(value: Any, key: str) -> float:
    """A float passed through model config (see ``amazing_analytics.dbt_io.config_int``)."""
    if value is None or str(value).strip() == "":
        raise ValueError(
            f"model config '{key}' is not set: pass it from the var in the model's yml"
        )
    try:
        return float(str(value).strip())
    except ValueError:
        raise ValueError(f"model config '{key}' must be a number, got {value!r}") from None

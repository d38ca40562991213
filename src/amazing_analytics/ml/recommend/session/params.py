"""The session models, simplest first, and their params: the defaults and the checked
overrides (:func:`model_params`)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from amazing_analytics.ml.recommend.session.items import SessionInputError

#: Session models, simplest first (the order the selection walks).
SESSION_MODELS = (
    "popularity",
    "covisitation",
    "sknn",
    "vsknn",
    "embedding",
    "vsknn_history",
    "hybrid",
)
#: What the demo build selects; callers pass the selected model from the evaluation.
DEFAULT_MODEL = "sknn"
#: Default params of each model; ``params`` passed to recommend_for_session override them.
DEFAULT_PARAMS: dict[str, dict[str, float]] = {
    "popularity": {},
    "covisitation": {},
    "sknn": {},
    "vsknn": {"weight_view": 1.0, "weight_cart": 3.0, "weight_purchase": 5.0},
    "embedding": {"weight_view": 1.0, "weight_cart": 3.0, "weight_purchase": 5.0},
    "vsknn_history": {
        "weight_view": 1.0,
        "weight_cart": 3.0,
        "weight_purchase": 5.0,
        "history_weight": 0.3,
        "history_neighbour_weight": 0.3,
        "history_length": 10.0,
    },
    "hybrid": {
        "weight_view": 1.0,
        "weight_cart": 3.0,
        "weight_purchase": 5.0,
        "embedding_weight": 0.2,
        "history_weight": 0.3,
        "history_neighbour_weight": 0.3,
        "history_length": 10.0,
    },
}
#: What a session product's vote is worth, by event type, for models without event weights.
UNWEIGHTED_EVENTS = {"weight_view": 1.0, "weight_cart": 1.0, "weight_purchase": 1.0}


def model_params(model: str, params: Mapping[str, float] | None = None) -> dict[str, float]:
    """The model's defaults overridden by ``params``; unknown models or keys are an error."""
    if model not in DEFAULT_PARAMS:
        raise SessionInputError(
            f"unknown session model {model!r}; expected one of {', '.join(SESSION_MODELS)}"
        )
    merged = dict(DEFAULT_PARAMS[model])
    for key, value in (params or {}).items():
        if key not in merged:
            allowed = ", ".join(merged) or "none"
            raise SessionInputError(f"model {model!r} has no param {key!r} (params: {allowed})")
        try:
            merged[key] = float(value)
        except (TypeError, ValueError):
            raise SessionInputError(f"param {key!r} must be a number, got {value!r}") from None
        if not np.isfinite(merged[key]) or merged[key] < 0:
            raise SessionInputError(f"param {key!r} must be a finite number >= 0, got {value!r}")
    return merged

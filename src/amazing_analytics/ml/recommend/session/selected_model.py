"""The session model and params ``session_recommender_evaluation`` selected, read back from
its table (the bundle's manifest and the API serve them)."""

from __future__ import annotations

import json

import pyarrow.compute as pc

from amazing_analytics.ml.arrow_utils import ArrowData, as_table
from amazing_analytics.ml.recommend.session.params import model_params


def selected_session_model(evaluation: ArrowData) -> tuple[str, dict[str, float]]:
    """The model and params session_recommender_evaluation selected (is_selected rows; the
    ``params`` column holds the params as JSON). Popularity when none is selected."""
    table = as_table(evaluation)
    if table.num_rows == 0 or "is_selected" not in table.column_names:
        return "popularity", {}
    chosen = table.filter(pc.fill_null(table.column("is_selected"), False))
    names = sorted(set(chosen.column("model").to_pylist()))
    if len(names) != 1:
        return "popularity", {}
    params: dict[str, float] = {}
    if "params" in chosen.column_names:
        raw = next((p for p in chosen.column("params").to_pylist() if p), None)
        if raw:
            params = {str(key): float(value) for key, value in json.loads(raw).items()}
    return names[0], model_params(names[0], params)

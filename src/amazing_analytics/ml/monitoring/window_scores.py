"""The per-person inputs of the audit and the drift: propensity scores per customer and window."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from amazing_analytics.ml import propensity
from amazing_analytics.ml.arrow_utils import ArrowData, as_table

WINDOW_SCORES_SCHEMA = pa.schema(
    [
        ("score_window", pa.string()),
        ("user_id", pa.int64()),
        ("as_of_date", pa.date32()),
        ("purchase_probability", pa.float64()),
        ("label", pa.bool_()),
    ]
)


def _scored(window: str, model: propensity.PropensityModel, table: pa.Table) -> pa.Table:
    labels = (
        table.column("label").cast(pa.bool_())
        if "label" in table.column_names
        else pa.nulls(table.num_rows, pa.bool_())
    )
    return pa.table(
        {
            "score_window": pa.array([window] * table.num_rows, pa.string()),
            "user_id": table.column("user_id").cast(pa.int64()),
            "as_of_date": table.column("as_of_date").cast(pa.date32()),
            "purchase_probability": pa.array(propensity.predict_proba(model, table), pa.float64()),
            "label": labels,
        },
        schema=WINDOW_SCORES_SCHEMA,
    )


def build_window_scores(snapshots: ArrowData, model_table: ArrowData, seed: int) -> pa.Table:
    """Propensity scores per customer and window, for the bias audit and the drift.

    - ``holdout``: the evaluation model (trained on 'evaluation_train', as in
      propensity_evaluation) on the later 'final_train' snapshot, whose outcomes are known;
    - ``training`` / ``latest``: the served model on its training snapshot and on the latest.

    Empty windows when a model cannot be trained (too little data).
    """
    snaps = as_table(snapshots)
    snapshot = pc.field("snapshot")
    parts = [WINDOW_SCORES_SCHEMA.empty_table()]
    final_train = snaps.filter(snapshot == "final_train")
    try:
        evaluation_model = propensity.train_propensity(
            snaps.filter(snapshot == "evaluation_train"), seed=seed
        )
        parts.append(_scored("holdout", evaluation_model, final_train))
    except propensity.InsufficientDataError:
        pass
    served = propensity.model_from_table(as_table(model_table))
    if served is not None:
        parts.append(_scored("training", served, final_train))
        parts.append(_scored("latest", served, snaps.filter(snapshot == "score")))
    return pa.concat_tables(parts).combine_chunks()

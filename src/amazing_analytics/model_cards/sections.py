"""The sections every card shows: its worst slices (model_fairness_audit), its feature drift
(feature_drift) and its prediction drift over time (prediction_drift)."""

from __future__ import annotations

from amazing_analytics.model_cards.markdown import count, interval, number, table
from amazing_analytics.model_cards.reader import WarehouseReader

#: How each model family's slice intervals are computed (model_fairness_audit).
SLICE_INTERVALS = {
    "propensity": "Hanley & McNeil, over the slice's buyers and non-buyers",
    "segmentation": "Wilson, over the slice's shoppers",
    "batch_recommender": "the evaluation's bootstrap over the slice's users",
    "session_recommender": "the evaluation's bootstrap over the slice's sessions",
    "forecasting": "a bootstrap over the backtest origins (weekly blocks of days)",
}

_SLICE_HEADER = (
    "model",
    "metric",
    "slice",
    "value",
    "95 % interval",
    "n",
    "gap to overall",
    "worst / best",
    "status",
)


def slices_section(warehouse: WarehouseReader, model_family: str, limit: int = 5) -> str:
    if not warehouse.has("marts.model_fairness_audit"):
        return "_The bias audit (model_fairness_audit) is not in this build._\n"
    rows = warehouse.rows(
        "select model, metric, slice_type, slice, value, ci_low, ci_high, n, gap_to_overall, "
        "worst_to_best_ratio, status from marts.model_fairness_audit "
        "where model_family = ? and slice_type <> 'all' and status in ('ok', 'flagged') "
        "order by is_flagged desc, case when higher_is_better then value else -value end, "
        "model, metric, slice_type, slice limit ?",
        [model_family, limit],
    )
    unjudged = warehouse.rows(
        "select count(*) from marts.model_fairness_audit "
        "where model_family = ? and status in ('too_small', 'not_evaluated')",
        [model_family],
    )[0][0]
    text = table(
        _SLICE_HEADER,
        [
            [
                model,
                metric,
                f"{slice_type}: {slice_name}",
                number(value),
                interval(low, high),
                f"{n:,}",
                number(gap),
                number(ratio, 2),
                status,
            ]
            for model, metric, slice_type, slice_name, value, low, high, n, gap, ratio, status in rows
        ],
    )
    if rows and model_family in SLICE_INTERVALS:
        text += f"\nIntervals: {SLICE_INTERVALS[model_family]}.\n"
    if unjudged:
        text += (
            f"\n{unjudged} slice(s) too small (or without a value) to judge are left out; "
            "see model_fairness_audit.\n"
        )
    return text


def drift_section(warehouse: WarehouseReader, model: str) -> str:
    if not warehouse.has("marts.feature_drift"):
        return "_Drift (feature_drift) is not in this build._\n"
    rows = warehouse.rows(
        "select drift_type, variable, psi, status from marts.feature_drift where model = ? "
        "order by psi desc nulls last, variable",
        [model],
    )
    return table(
        ["type", "variable", "PSI", "status"],
        [[kind, variable, number(psi), status] for kind, variable, psi, status in rows],
    )


def prediction_drift_section(warehouse: WarehouseReader, model: str) -> str:
    """The prediction drift over time: one line per window (its PSI against the reference)."""
    if not warehouse.has("marts.prediction_drift"):
        return "_Prediction drift (prediction_drift) is not in this build._\n"
    rows = warehouse.rows(
        "select window_start_date, window_end_date, is_reference, rows, mean, p50, psi, status "
        "from marts.prediction_drift where model = ? and category = 'all' "
        "order by is_reference desc, window_end_date",
        [model],
    )
    scores = model == "purchase_propensity"
    header = ["window", "rows", "mean score", "median score"] if scores else ["window", "shoppers"]
    lines = []
    for start, end, reference, rows_in_window, mean, median, psi, status in rows:
        window = f"{end}" if start == end else f"{start} to {end}"
        if reference:
            window += " (reference)"
        cells = [window, count(rows_in_window)]
        if scores:
            cells += [number(mean), number(median)]
        lines.append([*cells, number(psi), status])
    return table([*header, "PSI", "status"], lines)

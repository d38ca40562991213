"""Model cards (docs/model_cards/<model>.md), generated from the evaluation marts of a build.

One card per model: its purpose and data, its metrics against its baselines with intervals,
its worst slices (model_fairness_audit), its drift (feature_drift, prediction_drift), its limitations and the
date it was last trained. Every number comes from the warehouse; nothing is written by hand,
so ``amazing model-cards`` after a build keeps the cards true. The cards carry no personal
data (evaluation marts are aggregates).
"""

from __future__ import annotations

import math
import os
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb

from amazing_analytics.ml.monitoring import wilson_interval


class ModelCardError(RuntimeError):
    """The warehouse cannot give the cards (missing, locked, or not built)."""


@dataclass(frozen=True)
class Card:
    name: str
    text: str


class _Warehouse:
    def __init__(self, connection: duckdb.DuckDBPyConnection) -> None:
        self.connection = connection
        self.tables = {
            f"{schema}.{name}"
            for schema, name in connection.execute(
                "select table_schema, table_name from information_schema.tables"
            ).fetchall()
        }

    def has(self, table: str) -> bool:
        return table in self.tables

    def rows(self, sql: str, params: Sequence[object] | None = None) -> list[tuple]:
        return self.connection.execute(sql, params or []).fetchall()


def _number(value: float | None, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def _interval(low: float | None, high: float | None) -> str:
    if low is None or high is None:
        return "–"
    return f"[{_number(low)}, {_number(high)}]"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    if not rows:
        return "_No rows in this build._\n"
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


#: How each model family's slice intervals are computed (model_fairness_audit).
SLICE_INTERVALS = {
    "propensity": "Hanley & McNeil, over the slice's buyers and non-buyers",
    "segmentation": "Wilson, over the slice's shoppers",
    "batch_recommender": "the evaluation's bootstrap over the slice's users",
    "session_recommender": "the evaluation's bootstrap over the slice's sessions",
    "forecasting": "a bootstrap over the backtest origins (weekly blocks of days)",
}


def _slices_section(warehouse: _Warehouse, model_family: str, limit: int = 5) -> str:
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
    text = _table(
        [
            "model",
            "metric",
            "slice",
            "value",
            "95 % interval",
            "n",
            "gap to overall",
            "worst / best",
            "status",
        ],
        [
            [
                model,
                metric,
                f"{slice_type}: {slice_name}",
                _number(value),
                _interval(low, high),
                f"{n:,}",
                _number(gap),
                _number(ratio, 2),
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


def _drift_section(warehouse: _Warehouse, model: str) -> str:
    if not warehouse.has("marts.feature_drift"):
        return "_Drift (feature_drift) is not in this build._\n"
    rows = warehouse.rows(
        "select drift_type, variable, psi, status from marts.feature_drift where model = ? "
        "order by psi desc nulls last, variable",
        [model],
    )
    return _table(
        ["type", "variable", "PSI", "status"],
        [[kind, variable, _number(psi), status] for kind, variable, psi, status in rows],
    )


def _prediction_drift_section(warehouse: _Warehouse, model: str) -> str:
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
    for start, end, reference, count, mean, median, psi, status in rows:
        window = f"{end}" if start == end else f"{start} to {end}"
        if reference:
            window += " (reference)"
        cells = [window, _count(count)]
        if scores:
            cells += [_number(mean), _number(median)]
        lines.append([*cells, _number(psi), status])
    return _table([*header, "PSI", "status"], lines)


def _propensity(warehouse: _Warehouse) -> Card | None:
    if not warehouse.has("marts.propensity_evaluation"):
        return None
    metrics = {
        metric: (value, predicted, n)
        for metric, segment, value, predicted, n in warehouse.rows(
            "select metric, segment, value, predicted_mean, n from marts.propensity_evaluation"
        )
        if not metric.startswith("calibration")
    }
    model = warehouse.rows(
        "select status, message, as_of_date, n_train, n_positive, base_rate "
        "from ml.propensity_model"
    )
    status, message, trained_on, n_train, n_positive, base_rate = (
        model[0] if model else ("missing", "no propensity_model table", None, None, None, None)
    )
    auc_interval = (None, None)
    if warehouse.has("marts.model_fairness_audit"):
        found = warehouse.rows(
            "select ci_low, ci_high from marts.model_fairness_audit "
            "where model_family = 'propensity' and slice_type = 'all'"
        )
        if found:
            auc_interval = found[0]

    def metric(name: str) -> float | None:
        return metrics.get(name, (None, None, None))[0]

    rows = [
        ["AUC", _number(metric("auc")), _interval(*auc_interval), "0.500 (random order)"],
        [
            "Brier score",
            _number(metric("brier_score"), 4),
            "–",
            f"{_number(metric('brier_score_base_rate'), 4)} (predict the base rate)",
        ],
        [
            "Precision in the top decile",
            _number(metric("precision_at_top_decile")),
            "–",
            f"{_number(metric('base_rate'))} (base rate)",
        ],
        ["Lift in the top decile", _number(metric("lift_at_top_decile"), 2), "–", "1.00"],
        ["Log loss", _number(metric("log_loss"), 4), "–", "–"],
    ]
    top = metrics.get("precision_at_top_decile", (None, None, None))
    if top[0] is not None and top[2]:
        low, high = wilson_interval(top[0] * top[2], top[2])
        rows[2][2] = _interval(low, high)
    limitations = [
        "Trained on one snapshot: a shopper's past behaviour up to the cut-off, labelled by "
        "whether they bought in the following 30 days; seasonality beyond that window is not "
        "learnt.",
        "Scores rank shoppers; they are used for marketing selection only, never for a "
        "decision with legal or similar effect (GDPR art. 22), and opt-outs are excluded.",
        "Slices with fewer buyers than var fairness_min_slice_size are not judged.",
    ]
    if status != "trained":
        limitations.insert(0, f"Not trained in this build: {message}")
    evaluation_note = metrics.get("auc")
    text = f"""# Model card: purchase propensity

_Generated by `amazing model-cards` from the evaluation marts; do not edit by hand._

## Purpose and data
Probability that a shopper buys in the next 30 days (var propensity_horizon_days), for
campaign targeting (`customer_propensity`, `campaign_audiences`). XGBoost on 16 behavioural
features per shopper (`int_customer_propensity_snapshots`: visits, views, carts, orders, revenue,
recency, tenure, recent activity), with SHAP reasons in plain words.

- **Last trained**: on the snapshot as of {trained_on or "–"} ({_count(n_train)} shoppers, \
{_count(n_positive)} buyers, base rate {_number(base_rate, 4)}); status `{status}`.
- **Evaluated**: a model trained on the earlier snapshot, tested on the later one \
({_count(evaluation_note[2] if evaluation_note else None)} shoppers): no outcome it predicts \
was seen in training.

## Metrics against baselines
{_table(["metric", "model", "95 % interval", "baseline"], rows)}
AUC interval: Hanley & McNeil; precision interval: Wilson.

## Worst slices
{_slices_section(warehouse, "propensity")}
## Drift (training snapshot vs the latest)
{_drift_section(warehouse, "purchase_propensity")}
## Prediction drift over time (the served model's scores at each cut-off)
{_prediction_drift_section(warehouse, "purchase_propensity")}
## Limitations
{_bullets(limitations)}"""
    return Card("purchase_propensity", text)


def _count(value: float | None) -> str:
    return "–" if value is None else f"{int(value):,}"


def _bullets(items: Sequence[str]) -> str:
    return "\n".join(f"- {item}" for item in items) + "\n"


def _segmentation(warehouse: _Warehouse) -> Card | None:
    if not warehouse.has("marts.segmentation_quality"):
        return None
    rows = warehouse.rows(
        "select k, silhouette, davies_bouldin, is_chosen, stability_ari, sample_size, status, "
        "message from marts.segmentation_quality order by k"
    )
    as_of = (
        warehouse.rows("select max(as_of_date) from marts.customer_features")[0][0]
        if warehouse.has("marts.customer_features")
        else None
    )
    chosen = [row for row in rows if row[3]]
    fallback = [row for row in rows if row[6] == "fallback"]
    agreement = (None, None, None)
    if warehouse.has("marts.model_fairness_audit"):
        found = warehouse.rows(
            "select value, ci_low, ci_high from marts.model_fairness_audit "
            "where model_family = 'segmentation' and slice_type = 'all'"
        )
        if found:
            agreement = found[0]
    metrics = _table(
        ["k", "silhouette", "Davies-Bouldin", "chosen", "stability (ARI)", "sample"],
        [
            [
                str(k),
                _number(sil),
                _number(db),
                "yes" if is_chosen else "",
                _number(ari),
                _count(sample),
            ]
            for k, sil, db, is_chosen, ari, sample, _status, _message in rows
            if _status == "ok"
        ],
    )
    limitations = [
        "KMeans on scaled behavioural features: segments describe behaviour, not who people are; "
        "no sensitive attribute is used.",
        "Baseline: the RFM grid (customer_rfm), which every buyer also has; the build falls back "
        "to it when there are too few shoppers to cluster.",
    ]
    if fallback:
        limitations.insert(0, f"Fell back to RFM segments in this build: {fallback[0][7]}")
    text = f"""# Model card: customer segmentation

_Generated by `amazing model-cards` from the evaluation marts; do not edit by hand._

## Purpose and data
Behavioural segments for marketing (`customer_segments`, `segment_profiles`), each with a name
and a suggested action; KMeans on the shopper features of `customer_features` as of {as_of or "–"},
k chosen by silhouette in var segmentation_k_min..segmentation_k_max.

- **Last trained**: on the features as of {as_of or "–"}; chosen k = {chosen[0][0] if chosen else "–"}.
- **Stability**: {_number(agreement[0])} of shoppers keep their segment when KMeans is refitted
  with another seed (95 % interval {_interval(agreement[1], agreement[2])}, Wilson).

## Metrics against baselines
{metrics}
The RFM grid (customer_rfm) is the business baseline. Higher
silhouette and ARI, lower Davies-Bouldin are better.

## Worst slices
{_slices_section(warehouse, "segmentation")}
## Drift (segment shares at fitting vs now)
{_drift_section(warehouse, "customer_segmentation")}
## Segment shares over time (the shoppers active in each window)
{_prediction_drift_section(warehouse, "customer_segmentation")}
## Limitations
{_bullets(limitations)}"""
    return Card("customer_segmentation", text)


def _recommenders(warehouse: _Warehouse) -> Card | None:
    if not warehouse.has("marts.recommender_evaluation"):
        return None
    rows = warehouse.rows(
        "select model, metric, k, value, user_count, is_selected, status, message "
        "from marts.recommender_evaluation where slice_type = 'all' "
        "and metric in ('hit_rate', 'ndcg', 'precision', 'recall', 'map', 'catalogue_coverage') "
        "order by is_selected desc, model, metric"
    )
    fallback = [row for row in rows if row[6] == "fallback"]
    selected = sorted({row[0] for row in rows if row[5]})
    table_rows = []
    for model, metric, k, value, users, is_selected, _status, _message in rows:
        interval = "–"
        if metric == "hit_rate" and value is not None and users:
            interval = _interval(*wilson_interval(round(value * users), users))
        name = f"{metric}@{k}" if k else metric
        table_rows.append(
            [
                model + (" (serving)" if is_selected else ""),
                name,
                _number(value),
                interval,
                _count(users),
            ]
        )
    as_of = (
        warehouse.rows("select max(as_of_date) from marts.customer_features")[0][0]
        if warehouse.has("marts.customer_features")
        else None
    )
    limitations = [
        "Judged on what each user carted or bought in the last var recommender_eval_days days, "
        "after training on everything before: a product they would have liked but never met "
        "counts as a miss.",
        "Popularity and category popularity are the baselines; the serving model is the best "
        "NDCG@10 overall, so a baseline may serve.",
        "Opted-out shoppers get only non-personalised lists and are not in the training data.",
    ]
    if fallback:
        limitations.insert(0, f"Not evaluated in this build: {fallback[0][7]}")
    text = f"""# Model card: batch recommenders

_Generated by `amazing model-cards` from the evaluation marts; do not edit by hand._

## Purpose and data
Ten products per active customer (`recommendations`) and similar products for product pages
(`similar_products`), from the decayed view / cart / purchase interactions (`int_interactions`).
Candidates: popularity, category popularity, item-kNN and a LightFM hybrid; serving:
{", ".join(selected) or "–"}.

- **Last trained**: on the interactions up to {as_of or "–"}.

## Metrics against baselines
{_table(["model", "metric", "value", "95 % interval", "users"], table_rows)}
Hit-rate interval: Wilson over the users with a test interaction.

## Worst slices
{_slices_section(warehouse, "batch_recommender")}
## Limitations
{_bullets(limitations)}"""
    return Card("batch_recommenders", text)


def _forecasting(warehouse: _Warehouse) -> Card | None:
    if not warehouse.has("marts.forecast_evaluation"):
        return None
    rows = warehouse.rows(
        "select measure, model, metric, value, n from marts.forecast_evaluation "
        "where series_id = 'all' and status = 'ok' and metric in ('mase', 'smape', 'mae', 'coverage') "
        "order by measure, model, metric"
    )
    skipped = warehouse.rows(
        "select distinct model, reason from marts.forecast_evaluation where status <> 'ok' "
        "order by all limit 5"
    )
    selected = (
        warehouse.rows(
            "select distinct measure, model from marts.sales_forecast "
            "where is_selected and series_id = 'all' order by all"
        )
        if warehouse.has("marts.sales_forecast")
        else []
    )
    pivot: dict[tuple[str, str], dict[str, tuple[float, int]]] = {}
    for measure, model, metric, value, n in rows:
        pivot.setdefault((measure, model), {})[metric] = (value, n)
    table_rows = [
        [
            measure,
            model + (" (selected)" if (measure, model) in set(selected) else ""),
            _number(values.get("mase", (None, 0))[0]),
            _number(values.get("smape", (None, 0))[0], 1),
            _number(values.get("mae", (None, 0))[0]),
            _number(values.get("coverage", (None, 0))[0]),
            _count(max((n for _v, n in values.values()), default=None)),
        ]
        for (measure, model), values in sorted(pivot.items())
    ]
    last_day = (
        warehouse.rows("select max(kpi_date) from marts.kpi_daily")[0][0]
        if warehouse.has("marts.kpi_daily")
        else None
    )
    limitations = [
        "The whole-shop table has no interval on MASE; the worst slices' intervals resample the "
        "backtest origins (weekly blocks of days), so with few origins they are wide.",
        "MASE < 1 beats the seasonal naive forecast; the naive models are the baselines.",
        "Families with little history are forecast only above var forecast_min_category_units.",
    ]
    limitations += [f"{model} skipped: {reason}" for model, reason in skipped if reason]
    text = f"""# Model card: sales forecasting

_Generated by `amazing model-cards` from the evaluation marts; do not edit by hand._

## Purpose and data
Daily revenue and units for the next var forecast_horizon_days days, for the shop, the focus
brand, each category family and the large categories (`sales_forecast`), from
`int_sales_series_daily`; each series' model is chosen by its backtest error.

- **Last trained**: on the data up to {last_day or "–"} (rolling-origin backtest, var
  forecast_origins origins).

## Metrics against baselines (the whole shop)
{_table(["measure", "model", "MASE", "sMAPE %", "MAE", "80 % coverage", "points"], table_rows)}
## Worst slices
{_slices_section(warehouse, "forecasting")}
## Limitations
{_bullets(limitations)}"""
    return Card("sales_forecasting", text)


def _session_recommenders(warehouse: _Warehouse) -> Card | None:
    if not warehouse.has("marts.session_recommender_evaluation"):
        return None
    rows = warehouse.rows(
        "select model, metric, k, value, ci_low, ci_high, session_count, is_selected "
        "from marts.session_recommender_evaluation where slice_type = 'all' "
        "order by is_selected desc, model, metric"
    )
    table_rows = [
        [
            model + (" (serving)" if is_selected else ""),
            f"{metric}@{k}" if k else metric,
            _number(value),
            _interval(low, high),
            _count(sessions),
        ]
        for model, metric, k, value, low, high, sessions, is_selected in rows
    ]
    text = f"""# Model card: session recommenders

_Generated by `amazing model-cards` from the evaluation marts; do not edit by hand._

## Purpose and data
Next products for the session in progress (the recommendation API), from item-to-item
neighbours learnt on past sessions (`session_item_neighbours`).

## Metrics against baselines
{_table(["model", "metric", "value", "95 % interval", "sessions"], table_rows)}
## Worst slices
{_slices_section(warehouse, "session_recommender")}
## Limitations
- Judged on held-out sessions: the next product a shopper really viewed or bought.
"""
    return Card("session_recommenders", text)


BUILDERS: tuple[Callable[[_Warehouse], Card | None], ...] = (
    _propensity,
    _segmentation,
    _recommenders,
    _forecasting,
    _session_recommenders,
)


def build_model_cards(warehouse: Path) -> list[Card]:
    """Every model card the build's marts allow, read from the warehouse (read-only)."""
    if not Path(warehouse).exists():
        raise ModelCardError(f"no warehouse at {warehouse}: run `make build` first")
    try:
        connection = duckdb.connect(str(warehouse), read_only=True)
    except duckdb.IOException as error:
        raise ModelCardError(
            f"cannot open {warehouse} read-only (a build may be writing it): {error}"
        ) from error
    with connection:
        data = _Warehouse(connection)
        cards = [card for builder in BUILDERS if (card := builder(data)) is not None]
    if not cards:
        raise ModelCardError(f"{warehouse} has no evaluation mart: run `make build` first")
    return cards


def write_model_cards(warehouse: Path, out: Path) -> list[Path]:
    """Write docs/model_cards/<model>.md (each replaced atomically) and an index; the paths."""
    cards = build_model_cards(warehouse)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    index = ["# Model cards", "", "_Generated by `amazing model-cards`; one card per model._", ""]
    for card in cards:
        path = out / f"{card.name}.md"
        temporary = out / f".{card.name}.md.tmp-{uuid.uuid4().hex}"
        temporary.write_text(card.text, encoding="utf-8")
        os.replace(temporary, path)
        written.append(path)
        title = card.text.splitlines()[0].removeprefix("# Model card: ")
        index.append(f"- [{title}]({card.name}.md)")
    index_path = out / "README.md"
    index_path.write_text("\n".join(index) + "\n", encoding="utf-8")
    return [*written, index_path]

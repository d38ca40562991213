"""The purchase propensity model's card."""

from __future__ import annotations

from amazing_analytics.ml.monitoring import wilson_interval
from amazing_analytics.model_cards.markdown import (
    GENERATED_NOTE,
    bullets,
    count,
    interval,
    number,
    table,
)
from amazing_analytics.model_cards.reader import Card, WarehouseReader
from amazing_analytics.model_cards.sections import (
    drift_section,
    prediction_drift_section,
    slices_section,
)

#: metric -> (value, predicted mean, n) of propensity_evaluation.
Metrics = dict[str, tuple[float | None, float | None, int | None]]


def propensity_card(warehouse: WarehouseReader) -> Card | None:
    if not warehouse.has("marts.propensity_evaluation"):
        return None
    metrics: Metrics = {
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
    auc_interval = warehouse.overall_audit("propensity", "ci_low, ci_high") or (None, None)
    evaluation_note = metrics.get("auc")
    text = f"""# Model card: purchase propensity

{GENERATED_NOTE}

## Purpose and data
Probability that a shopper buys in the next 30 days (var propensity_horizon_days), for
campaign targeting (`customer_propensity`, `campaign_audiences`). XGBoost on 16 behavioural
features per shopper (`int_customer_propensity_snapshots`: visits, views, carts, orders, revenue,
recency, tenure, recent activity), with SHAP reasons in plain words.

- **Last trained**: on the snapshot as of {trained_on or "–"} ({count(n_train)} shoppers, \
{count(n_positive)} buyers, base rate {number(base_rate, 4)}); status `{status}`.
- **Evaluated**: a model trained on the earlier snapshot, tested on the later one \
({count(evaluation_note[2] if evaluation_note else None)} shoppers): no outcome it predicts \
was seen in training.

## Metrics against baselines
{table(["metric", "model", "95 % interval", "baseline"], _metric_rows(metrics, auc_interval))}
AUC interval: Hanley & McNeil; precision interval: Wilson.

## Worst slices
{slices_section(warehouse, "propensity")}
## Drift (training snapshot vs the latest)
{drift_section(warehouse, "purchase_propensity")}
## Prediction drift over time (the served model's scores at each cut-off)
{prediction_drift_section(warehouse, "purchase_propensity")}
## Limitations
{bullets(_limitations(status, message))}"""
    return Card("purchase_propensity", text)


def _metric_rows(metrics: Metrics, auc_interval: tuple) -> list[list[str]]:
    """The model's figures beside their baselines; the top decile's precision with its
    Wilson interval."""

    def metric(name: str) -> float | None:
        return metrics.get(name, (None, None, None))[0]

    rows = [
        ["AUC", number(metric("auc")), interval(*auc_interval), "0.500 (random order)"],
        [
            "Brier score",
            number(metric("brier_score"), 4),
            "–",
            f"{number(metric('brier_score_base_rate'), 4)} (predict the base rate)",
        ],
        [
            "Precision in the top decile",
            number(metric("precision_at_top_decile")),
            "–",
            f"{number(metric('base_rate'))} (base rate)",
        ],
        ["Lift in the top decile", number(metric("lift_at_top_decile"), 2), "–", "1.00"],
        ["Log loss", number(metric("log_loss"), 4), "–", "–"],
    ]
    top = metrics.get("precision_at_top_decile", (None, None, None))
    if top[0] is not None and top[2]:
        low, high = wilson_interval(top[0] * top[2], top[2])
        rows[2][2] = interval(low, high)
    return rows


def _limitations(status: str, message: str | None) -> list[str]:
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
    return limitations

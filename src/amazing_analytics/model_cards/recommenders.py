"""The recommenders' cards: the batch recommenders (one list per customer, similar products)
and the session recommenders (the next products of a live session)."""

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
from amazing_analytics.model_cards.sections import slices_section


def batch_recommenders_card(warehouse: WarehouseReader) -> Card | None:
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
    as_of = warehouse.features_as_of()
    text = f"""# Model card: batch recommenders

{GENERATED_NOTE}

## Purpose and data
Ten products per active customer (`recommendations`) and similar products for product pages
(`similar_products`), from the decayed view / cart / purchase interactions (`int_interactions`).
Candidates: popularity, category popularity, item-kNN and a LightFM hybrid; serving:
{", ".join(selected) or "–"}.

- **Last trained**: on the interactions up to {as_of or "–"}.

## Metrics against baselines
{table(["model", "metric", "value", "95 % interval", "users"], _batch_rows(rows))}
Hit-rate interval: Wilson over the users with a test interaction.

## Worst slices
{slices_section(warehouse, "batch_recommender")}
## Limitations
{bullets(_batch_limitations(fallback))}"""
    return Card("batch_recommenders", text)


def _batch_rows(rows: list[tuple]) -> list[list[str]]:
    """One line per model and metric; the hit rate with its Wilson interval."""
    table_rows = []
    for model, metric, k, value, users, is_selected, _status, _message in rows:
        hit_rate_interval = "–"
        if metric == "hit_rate" and value is not None and users:
            hit_rate_interval = interval(*wilson_interval(round(value * users), users))
        name = f"{metric}@{k}" if k else metric
        table_rows.append(
            [
                model + (" (serving)" if is_selected else ""),
                name,
                number(value),
                hit_rate_interval,
                count(users),
            ]
        )
    return table_rows


def _batch_limitations(fallback: list[tuple]) -> list[str]:
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
    return limitations


def session_recommenders_card(warehouse: WarehouseReader) -> Card | None:
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
            number(value),
            interval(low, high),
            count(sessions),
        ]
        for model, metric, k, value, low, high, sessions, is_selected in rows
    ]
    text = f"""# Model card: session recommenders

{GENERATED_NOTE}

## Purpose and data
Next products for the session in progress (the recommendation API), from item-to-item
neighbours learnt on past sessions (`session_item_neighbours`).

## Metrics against baselines
{table(["model", "metric", "value", "95 % interval", "sessions"], table_rows)}
## Worst slices
{slices_section(warehouse, "session_recommender")}
## Limitations
- Judged on held-out sessions: the next product a shopper really viewed or bought.
"""
    return Card("session_recommenders", text)

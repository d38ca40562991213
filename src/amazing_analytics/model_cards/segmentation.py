"""The customer segmentation's card."""

from __future__ import annotations

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


def segmentation_card(warehouse: WarehouseReader) -> Card | None:
    if not warehouse.has("marts.segmentation_quality"):
        return None
    rows = warehouse.rows(
        "select k, silhouette, davies_bouldin, is_chosen, stability_ari, sample_size, status, "
        "message from marts.segmentation_quality order by k"
    )
    as_of = warehouse.features_as_of()
    chosen = [row for row in rows if row[3]]
    fallback = [row for row in rows if row[6] == "fallback"]
    agreement = warehouse.overall_audit("segmentation", "value, ci_low, ci_high") or (
        None,
        None,
        None,
    )
    text = f"""# Model card: customer segmentation

{GENERATED_NOTE}

## Purpose and data
Behavioural segments for marketing (`customer_segments`, `segment_profiles`), each with a name
and a suggested action; KMeans on the shopper features of `customer_features` as of {as_of or "–"},
k chosen by silhouette in var segmentation_k_min..segmentation_k_max.

- **Last trained**: on the features as of {as_of or "–"}; chosen k = {chosen[0][0] if chosen else "–"}.
- **Stability**: {number(agreement[0])} of shoppers keep their segment when KMeans is refitted
  with another seed (95 % interval {interval(agreement[1], agreement[2])}, Wilson).

## Metrics against baselines
{_metrics_table(rows)}
The RFM grid (customer_rfm) is the business baseline. Higher
silhouette and ARI, lower Davies-Bouldin are better.

## Worst slices
{slices_section(warehouse, "segmentation")}
## Drift (segment shares at fitting vs now)
{drift_section(warehouse, "customer_segmentation")}
## Segment shares over time (the shoppers active in each window)
{prediction_drift_section(warehouse, "customer_segmentation")}
## Limitations
{bullets(_limitations(fallback))}"""
    return Card("customer_segmentation", text)


def _metrics_table(rows: list[tuple]) -> str:
    """The quality of each k tried (segmentation_quality rows with status ok)."""
    return table(
        ["k", "silhouette", "Davies-Bouldin", "chosen", "stability (ARI)", "sample"],
        [
            [
                str(k),
                number(silhouette),
                number(davies_bouldin),
                "yes" if is_chosen else "",
                number(ari),
                count(sample),
            ]
            for k, silhouette, davies_bouldin, is_chosen, ari, sample, status, _message in rows
            if status == "ok"
        ],
    )


def _limitations(fallback: list[tuple]) -> list[str]:
    limitations = [
        "KMeans on scaled behavioural features: segments describe behaviour, not who people are; "
        "no sensitive attribute is used.",
        "Baseline: the RFM grid (customer_rfm), which every buyer also has; the build falls back "
        "to it when there are too few shoppers to cluster.",
    ]
    if fallback:
        limitations.insert(0, f"Fell back to RFM segments in this build: {fallback[0][7]}")
    return limitations

"""The three steps as the dbt Python models run them (one call each, fallbacks included), the
RFM fallback when there is too little data, and the agreement with known personas.

- :func:`build_quality` (segmentation_quality): the k search, scored; with a ground truth
  (var ``segmentation_ground_truth_path``) also the adjusted Rand index against the true
  personas of the sampled visitors with at least :data:`PERSONA_MIN_EVENTS` events.
- :func:`build_centroids` (segment_centroids): the model at the chosen k, or no rows.
- :func:`build_customer_segments` (customer_segments): nearest centroid, or the RFM segment.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from sklearn.metrics import adjusted_rand_score

from amazing_analytics.ml.arrow_utils import ArrowData, as_table, numeric_column
from amazing_analytics.ml.guards import require_columns
from amazing_analytics.ml.segmentation.actions import action_copy_from_table
from amazing_analytics.ml.segmentation.choice_of_k import KSelection, choose_k, selection_to_table
from amazing_analytics.ml.segmentation.features import InsufficientDataError, prepare
from amazing_analytics.ml.segmentation.model import (
    assign_segments,
    fit_segments,
    model_from_table,
    model_to_table,
)
from amazing_analytics.ml.segmentation.naming import family_labels_from_table

LOGGER = logging.getLogger(__name__)

SEGMENTATION_METHOD_KMEANS = "kmeans"
SEGMENTATION_METHOD_RFM = "rfm_fallback"
#: Segment of a visitor who has no order when the segmentation falls back to RFM.
NOT_SEGMENTED_VISITOR = "Visitors without an order (not segmented)"
#: Visitors with fewer events say too little about who they are to be held to a persona.
PERSONA_MIN_EVENTS = 5
#: The persona file inside the ground-truth directory the demo generator writes.
PERSONA_FILE = "user_personas.csv"

QUALITY_SCHEMA = pa.schema(
    [
        ("k", pa.int64()),
        ("silhouette", pa.float64()),
        ("davies_bouldin", pa.float64()),
        ("inertia", pa.float64()),
        ("is_chosen", pa.bool_()),
        ("stability_ari", pa.float64()),
        ("sample_size", pa.int64()),
        ("seed", pa.int64()),
        ("persona_ari", pa.float64()),
        ("persona_visitor_count", pa.int64()),
        ("status", pa.string()),
        ("message", pa.string()),
    ]
)


# --------------------------------------------------------------------------------------------
# Ground truth: the true personas of a generated shop
# --------------------------------------------------------------------------------------------


def read_personas(ground_truth_path: str | None) -> pa.Table | None:
    """``user_id, persona`` from ``<ground_truth_path>/user_personas.csv`` (or the file itself);
    None when the path is empty (the default: a real shop has no ground truth).

    Raises:
        ValueError: the path is set but holds no persona file, or the file lacks the columns.
    """
    if not str(ground_truth_path or "").strip():
        return None
    path = Path(str(ground_truth_path).strip())
    file = path if path.is_file() else path / PERSONA_FILE
    if not file.is_file():
        raise ValueError(
            f"var segmentation_ground_truth_path is {str(path)!r}, but {file} does not exist; "
            "point it to the ground_truth directory of a generated shop, or leave it empty"
        )
    table = pacsv.read_csv(file)
    require_columns(table, ["user_id", "persona"], str(file))
    return table.select(["user_id", "persona"])


def persona_agreement(
    features: pa.Table, selection: KSelection, personas: pa.Table
) -> tuple[list[float | None], int]:
    """Per k of ``selection``, the adjusted Rand index between its clusters and the true
    personas, over the sampled visitors with at least PERSONA_MIN_EVENTS events and a known
    persona; and how many visitors that is. ARI is None when fewer than 2 such visitors."""
    if "event_count" not in features.column_names:
        raise ValueError("the customer features table needs event_count to compare with personas")
    user_ids = np.sort(features.column("user_id").to_numpy(zero_copy_only=False).astype(np.int64))
    order = np.argsort(features.column("user_id").to_numpy(zero_copy_only=False), kind="stable")
    events = numeric_column(features, "event_count")[order]
    known = dict(
        zip(
            personas.column("user_id").to_pylist(),
            personas.column("persona").to_pylist(),
            strict=True,
        )
    )
    rows = selection.sample_rows
    persona = [known.get(int(u)) for u in user_ids[rows]]
    keep = np.array(
        [
            p is not None and e >= PERSONA_MIN_EVENTS
            for p, e in zip(persona, events[rows], strict=True)
        ],
        dtype=bool,
    )
    truth = [p for p, k in zip(persona, keep, strict=True) if k]
    if len(truth) < 2:
        return [None] * len(selection.rows), len(truth)
    scores = [float(adjusted_rand_score(truth, labels[keep])) for labels in selection.sample_labels]
    return scores, len(truth)


# --------------------------------------------------------------------------------------------
# segmentation_quality
# --------------------------------------------------------------------------------------------


def quality_table(
    selection: KSelection,
    persona_ari: list[float | None] | None = None,
    persona_visitors: int | None = None,
    message: str | None = None,
) -> pa.Table:
    """The segmentation_quality mart: :func:`selection_to_table` with the persona agreement,
    status 'ok' and a message (None unless something is worth saying)."""
    table = selection_to_table(selection)
    n = table.num_rows
    columns = {
        "persona_ari": pa.array(persona_ari or [None] * n, pa.float64()),
        "persona_visitor_count": pa.array([persona_visitors] * n, pa.int64()),
        "status": pa.array(["ok"] * n, pa.string()),
        "message": pa.array([message] * n, pa.string()),
    }
    for name, values in columns.items():
        table = table.append_column(name, values)
    return table


def fallback_quality_table(reason: str, seed: int) -> pa.Table:
    """The segmentation_quality mart when no k could be chosen: one row, status 'fallback'."""
    row = {name: None for name in QUALITY_SCHEMA.names}
    row |= {"is_chosen": False, "seed": seed, "status": "fallback", "message": reason}
    return pa.Table.from_pylist([row], schema=QUALITY_SCHEMA)


def chosen_k(quality: ArrowData) -> int | None:
    """The k chosen in a segmentation_quality table, or None when it recorded a fallback."""
    for row in as_table(quality).to_pylist():
        if row["status"] == "ok" and row["is_chosen"]:
            return int(row["k"])
    return None


def build_quality(
    features: ArrowData,
    k_min: int,
    k_max: int,
    seed: int,
    sample_size: int,
    ground_truth_path: str | None = "",
) -> pa.Table:
    """segmentation_quality: the k search, or one 'fallback' row with the reason.

    The k search fits and scores the sampled visitors with at least TASTE_PSEUDO_VIEWS views
    (:attr:`~amazing_analytics.ml.segmentation.features.PreparedFeatures.fit_rows`). With
    ``ground_truth_path`` (a generated shop's ground_truth directory) every k's row also gets
    ``persona_ari`` (see :func:`persona_agreement`: every sampled visitor with at least
    PERSONA_MIN_EVENTS events, labelled by the nearest centre); the ground truth never
    influences the choice of k.
    """
    features = as_table(features)
    personas = read_personas(ground_truth_path)
    try:
        prepared = prepare(features)
        selection = choose_k(
            prepared.scaled, k_min, k_max, seed, sample_size, fit_rows=prepared.fit_rows
        )
    except InsufficientDataError as error:
        LOGGER.warning("segmentation falls back to RFM segments: %s", error)
        return fallback_quality_table(str(error), seed)
    if personas is None:
        return quality_table(selection)
    scores, visitors = persona_agreement(features, selection, personas)
    message = None
    if visitors < 2:
        message = (
            f"fewer than 2 sampled visitors with >= {PERSONA_MIN_EVENTS} events have a persona"
        )
        LOGGER.warning("segmentation: no persona agreement: %s", message)
    return quality_table(selection, scores, visitors, message)


# --------------------------------------------------------------------------------------------
# segment_centroids and customer_segments
# --------------------------------------------------------------------------------------------


def empty_model_table() -> pa.Table:
    """The segment_centroids mart when there is no model: the leading columns, no rows."""
    return pa.schema(
        [
            ("segment_id", pa.int64()),
            ("segment_name", pa.string()),
            ("suggested_action", pa.string()),
            ("segment_size", pa.int64()),
            ("k", pa.int64()),
            ("seed", pa.int64()),
        ]
    ).empty_table()


def build_centroids(
    features: ArrowData,
    quality: ArrowData,
    seed: int,
    segment_actions: ArrowData,
    category_families: ArrowData,
) -> pa.Table:
    """segment_centroids (train step): the model at the chosen k, or no rows after a fallback.

    ``segment_actions`` and ``category_families`` are the seeds of the same names: the
    marketing copy of the actions and the words of the family names.
    """
    k = chosen_k(quality)
    if k is None:
        return empty_model_table()
    model = fit_segments(
        features,
        k,
        seed,
        action_copy=action_copy_from_table(segment_actions),
        family_labels=family_labels_from_table(category_families),
    )
    return model_to_table(model)


def rfm_fallback_assignments(features: ArrowData, rfm: ArrowData) -> pa.Table:
    """Every visitor's segment when clustering is not possible: the RFM segment of buyers, and
    NOT_SEGMENTED_VISITOR for visitors without an order. Same columns as assign_segments."""
    users = as_table(features).select(["user_id"])
    segments = as_table(rfm).select(["user_id", "rfm_segment"])
    joined = users.join(segments, "user_id", join_type="left outer").sort_by("user_id")
    names = pc.fill_null(joined["rfm_segment"], NOT_SEGMENTED_VISITOR)
    return pa.table(
        {
            "user_id": joined["user_id"].cast(pa.int64()),
            "segment_id": pa.nulls(joined.num_rows, pa.int64()),
            "segment_name": names.cast(pa.string()),
            "distance_to_centroid": pa.nulls(joined.num_rows, pa.float64()),
        }
    )


def build_customer_segments(features: ArrowData, centroids: ArrowData, rfm: ArrowData) -> pa.Table:
    """customer_segments (apply step): nearest centroid, or the RFM fallback; opt-outs flagged."""
    features = as_table(features)
    centroids = as_table(centroids)
    if centroids.num_rows > 0:
        assigned = assign_segments(features, model_from_table(centroids))
        method = SEGMENTATION_METHOD_KMEANS
    else:
        assigned = rfm_fallback_assignments(features, rfm)
        method = SEGMENTATION_METHOD_RFM
    flags = features.select(["user_id", "is_personalisation_opt_out"])
    assigned = assigned.join(flags, "user_id", join_type="left outer").sort_by("user_id")
    return assigned.append_column(
        "segmentation_method", pa.array([method] * assigned.num_rows, pa.string())
    )

"""Guards of the propensity model against too little data and label leakage.

The training table is one snapshot (one ``as_of_date``) of customers with a ``label`` (bought in
the :data:`LABEL_HORIZON_DAYS` days after it); the checks here keep the outcome out of the
inputs and refuse a table that mixes snapshots.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from amazing_analytics.ml.guards import require_columns
from amazing_analytics.ml.propensity.features import PROPENSITY_FEATURES, column_as_float, labels

#: The label: bought within this many days after the snapshot's as_of_date.
LABEL_HORIZON_DAYS = 30
#: Fewer training customers than this, or fewer buyers or non-buyers than MIN_TRAIN_PER_CLASS:
#: no model (InsufficientDataError, the build's WARN).
MIN_TRAIN_ROWS = 200
MIN_TRAIN_PER_CLASS = 20


def as_of_dates(table: pa.Table) -> list[dt.date | None]:
    """The distinct ``as_of_date`` values of ``table`` (timestamps read as dates)."""
    column = table.column("as_of_date")
    if pa.types.is_timestamp(column.type):
        column = pc.cast(column, pa.date32())
    return pc.unique(column).to_pylist()


def single_as_of_date(table: pa.Table, role: str) -> dt.date:
    """The one ``as_of_date`` of a snapshot table; ValueError when it has none or several."""
    dates = as_of_dates(table)
    if None in dates:
        raise ValueError(f"The {role} table has rows without an as_of_date.")
    if len(dates) != 1:
        shown = ", ".join(str(d) for d in sorted(dates)[:5])
        raise ValueError(
            f"The {role} table mixes {len(dates)} snapshot dates ({shown}); it must hold exactly "
            "one as_of_date, otherwise outcomes of one snapshot can leak into another's features."
        )
    return dates[0]


def _check_one_trainable_snapshot(train: pa.Table) -> None:
    if "snapshot" not in train.column_names:
        return
    snapshots = pc.unique(train.column("snapshot")).to_pylist()
    if len(snapshots) > 1:
        raise ValueError(
            f"The training table mixes snapshots ({', '.join(map(str, snapshots))}); "
            "train on one snapshot at a time."
        )
    if snapshots == ["score"]:
        raise ValueError("The 'score' snapshot has no outcomes yet and cannot be trained on.")


def _check_no_copied_outcome(train: pa.Table, features: Sequence[str]) -> None:
    if train.num_rows < MIN_TRAIN_PER_CLASS:
        return
    label = labels(train).astype(np.float64)
    for name in features:
        if np.array_equal(column_as_float(train, name), label):
            raise ValueError(
                f"Feature '{name}' equals the label on every row: it looks like a copy of the "
                "outcome, not something known at as_of_date."
            )


def assert_no_leakage(train: pa.Table, *, features: Sequence[str] = PROPENSITY_FEATURES) -> None:
    """Cheap guards against label leakage in a training table; raises ValueError when one fails.

    Checks: no feature is called ``label``; the table has exactly one ``as_of_date`` and at most one
    ``snapshot`` value, which is not ``score``; every row has a label; no ``user_id`` appears twice;
    and no feature is identical to the label on every row (a copied outcome).
    """
    if any(name.strip().lower() == "label" for name in features):
        raise ValueError("'label' is listed as a feature: the outcome must never be a model input.")
    require_columns(train, ["as_of_date", "label", *features], "The training table")
    _check_one_trainable_snapshot(train)
    single_as_of_date(train, "training")
    null_labels = train.column("label").null_count
    if null_labels:
        raise ValueError(
            f"{null_labels} training row(s) have no label; every training customer needs an outcome."
        )
    if "user_id" in train.column_names:
        users = train.column("user_id")
        if pc.count_distinct(users).as_py() != len(users):
            raise ValueError("A user_id appears more than once in the training snapshot.")
    _check_no_copied_outcome(train, features)

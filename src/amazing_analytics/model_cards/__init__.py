"""Model cards (docs/model_cards/<model>.md), generated from the evaluation marts of a build.

One card per model: its purpose and data, its metrics against its baselines with intervals,
its worst slices (model_fairness_audit), its drift (feature_drift, prediction_drift), its
limitations and the date it was last trained. Every number comes from the warehouse; nothing is
written by hand, so ``amazing model-cards`` after a build keeps the cards true. The cards carry
no personal data (evaluation marts are aggregates).

One module per job: ``reader`` (the build, read-only), ``markdown`` (numbers, intervals, tables),
``sections`` (the worst slices and the drift every card shows), one module per card
(``propensity``, ``segmentation``, ``recommenders`` for the batch and session ones,
``forecasting``) and ``build`` (every card, written to a folder with an index).
"""

from amazing_analytics.model_cards.build import BUILDERS, build_model_cards, write_model_cards
from amazing_analytics.model_cards.reader import Card, ModelCardError, WarehouseReader

__all__ = [
    "BUILDERS",
    "Card",
    "ModelCardError",
    "WarehouseReader",
    "build_model_cards",
    "write_model_cards",
]

"""The temporal evaluation: every model trained on ``evaluation_train``, tested on the products
each user carted or bought in ``evaluation_test``, overall and per slice, in long form.

Slices (``slice_type`` / ``slice``):

* ``all`` - every test user;
* ``user_type`` - ``returning`` (had training interactions) or ``new`` (none: every model
  falls back to popularity for them, which is the cold-start user path);
* ``segment`` - the user's current customer segment (customer_segments; a reporting label,
  not a model input: it is computed from all data);
* ``price_band`` - the user's price band (customer_features);
* ``category_family`` - per family (first level of category_code) of the products carted or
  bought in the test window: the users with such a product, only those products relevant;
* ``cold_start_products`` - can a model surface products nobody interacted with? Two slices:
  ``products without training interactions`` (products new in the test window: only those
  count as relevant, for the users who engaged with them) and ``simulated new products``: a
  seeded :data:`COLD_START_SHARE` of the products with training interactions is hidden from
  training (every model is refitted without them), each model ranks only the hidden products
  for each user who engaged with one in the test window, and only they count as relevant (the
  question a shop has when new products arrive: which shoppers to show them to). Products
  without interactions can only be told apart through content features (LightFM's hybrid
  part); the baselines rank them all alike.

Every per-user metric has a 95 % bootstrap interval (``ci_low``, ``ci_high``): users resampled
with replacement, seeded, the same draws for every model of a slice (a paired comparison). The
intervals are taken once every model is scored, one slice at a time: its draws, as counts per
user (:class:`~amazing_analytics.ml.recommend.selection.Resamples`), times every model's every
metric in one matrix product.

The model that serves ``recommendations`` is chosen on evidence
(:func:`~amazing_analytics.ml.recommend.selection.select_by_evidence` on NDCG@k over ``all``):
the models are walked simplest first (:data:`~amazing_analytics.ml.recommend.models.MODEL_NAMES`
order) and a model replaces the serving one only when its interval's low end is above the
serving model's high end. With fewer than ``min_test_users`` test users the rows say
``not_enough_evidence`` and popularity serves.

One module per job: ``table`` (the evaluation's rows, a model's scores on a slice and their
intervals), ``slices`` (who is evaluated in each slice, on which products), ``cold_start`` (the
simulated new products), ``stored`` (the LightFM fits recommender_evaluation_embeddings stores,
scored instead of fitted), ``evaluate`` (every model, the selection); the package re-exports
their public names.
"""

from amazing_analytics.ml.recommend.evaluation.cold_start import (
    COLD_START_SHARE,
    COLD_START_SIMULATED,
    hidden_products,
    hide_products,
    prepare_cold_start,
    run_cold_start,
)
from amazing_analytics.ml.recommend.evaluation.evaluate import (
    BOOTSTRAP_SAMPLES,
    MIN_TEST_USERS,
    MIN_TEST_USERS_FOR_SELECTION,
    MIN_TRAIN_INTERACTIONS,
    NO_REPEAT_PURCHASE_NOTE,
    evaluate,
    evaluation_training_data,
)
from amazing_analytics.ml.recommend.evaluation.slices import (
    category_family_slices,
    evaluated_users,
    user_slices,
)
from amazing_analytics.ml.recommend.evaluation.stored import (
    COLD_START_FIT,
    EVALUATION_EMBEDDING_SCHEMA,
    EVALUATION_FIT,
    stored_lightfm,
)
from amazing_analytics.ml.recommend.evaluation.table import (
    EVALUATION_SCHEMA,
    SELECTION_METRIC,
    EvaluationResult,
    EvaluationSetup,
    SliceScores,
    mean_intervals,
    metric_row,
    not_evaluated,
    score_rows,
    slice_rows,
    slice_scores,
)

__all__ = [
    "BOOTSTRAP_SAMPLES",
    "COLD_START_FIT",
    "COLD_START_SHARE",
    "COLD_START_SIMULATED",
    "EVALUATION_EMBEDDING_SCHEMA",
    "EVALUATION_FIT",
    "EVALUATION_SCHEMA",
    "MIN_TEST_USERS",
    "MIN_TEST_USERS_FOR_SELECTION",
    "MIN_TRAIN_INTERACTIONS",
    "NO_REPEAT_PURCHASE_NOTE",
    "SELECTION_METRIC",
    "EvaluationResult",
    "EvaluationSetup",
    "SliceScores",
    "category_family_slices",
    "evaluate",
    "evaluated_users",
    "evaluation_training_data",
    "hidden_products",
    "hide_products",
    "mean_intervals",
    "metric_row",
    "not_evaluated",
    "prepare_cold_start",
    "run_cold_start",
    "score_rows",
    "slice_rows",
    "slice_scores",
    "stored_lightfm",
    "user_slices",
]

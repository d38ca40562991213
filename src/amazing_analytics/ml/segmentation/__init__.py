"""Customer segmentation: KMeans on the ``customer_features`` mart, with marketing names.

Arrow in, Arrow out; numpy and scikit-learn inside. One module per job:

- :mod:`.features`: which columns, null fills, transforms (``log1p``, ``log``, ``sqrt``),
  StandardScaler, the evidence shrinkage of the taste features and the group weights that keep
  behaviour, category, price and brand features on an equal footing.
- :mod:`.choice_of_k`: k = k_min..k_max scored on a seeded sample (silhouette, Davies-Bouldin,
  inertia, stability across seeds).
- :mod:`.naming`: names composed from each profile (role, price level, favourite family).
- :mod:`.actions`: the actions, from the marketing copy of seed segment_actions.
- :mod:`.model`: the fitted model (canonical ids), its Arrow persistence and the assignment of
  any customer to the nearest centroid.
- :mod:`.build`: the three steps the dbt Python models call, the RFM fallback and the
  agreement with a generated shop's true personas.
"""

from amazing_analytics.ml.arrow_utils import ArrowData
from amazing_analytics.ml.segmentation.actions import action_copy_from_table, suggested_action
from amazing_analytics.ml.segmentation.build import (
    NOT_SEGMENTED_VISITOR,
    PERSONA_MIN_EVENTS,
    SEGMENTATION_METHOD_KMEANS,
    SEGMENTATION_METHOD_RFM,
    build_centroids,
    build_customer_segments,
    build_quality,
    chosen_k,
    empty_model_table,
    fallback_quality_table,
    persona_agreement,
    quality_table,
    read_personas,
    rfm_fallback_assignments,
)
from amazing_analytics.ml.segmentation.choice_of_k import (
    KScore,
    KSelection,
    choose_k,
    selection_to_table,
)
from amazing_analytics.ml.segmentation.features import (
    CATEGORY_FAMILIES,
    FEATURE_GROUPS,
    GROUP_WEIGHTS,
    LOG1P_FEATURES,
    SEGMENT_FEATURES,
    TASTE_PSEUDO_VIEWS,
    TRANSFORMS,
    InsufficientDataError,
    feature_matrix,
    group_weights,
    population_profile,
)
from amazing_analytics.ml.segmentation.model import (
    SegmentModel,
    assign_segments,
    fit_segments,
    model_from_table,
    model_matrix,
    model_to_table,
    nearest_centroid,
)
from amazing_analytics.ml.segmentation.naming import (
    ROLES,
    SegmentLabel,
    describe_segments,
    family_labels_from_table,
    name_segments,
)

__all__ = [
    "ArrowData",
    "CATEGORY_FAMILIES",
    "FEATURE_GROUPS",
    "GROUP_WEIGHTS",
    "InsufficientDataError",
    "KScore",
    "KSelection",
    "LOG1P_FEATURES",
    "NOT_SEGMENTED_VISITOR",
    "PERSONA_MIN_EVENTS",
    "ROLES",
    "SEGMENTATION_METHOD_KMEANS",
    "SEGMENTATION_METHOD_RFM",
    "SEGMENT_FEATURES",
    "SegmentLabel",
    "SegmentModel",
    "TASTE_PSEUDO_VIEWS",
    "TRANSFORMS",
    "action_copy_from_table",
    "assign_segments",
    "build_centroids",
    "build_customer_segments",
    "build_quality",
    "choose_k",
    "chosen_k",
    "describe_segments",
    "empty_model_table",
    "fallback_quality_table",
    "family_labels_from_table",
    "feature_matrix",
    "group_weights",
    "fit_segments",
    "model_from_table",
    "model_matrix",
    "model_to_table",
    "name_segments",
    "nearest_centroid",
    "persona_agreement",
    "population_profile",
    "quality_table",
    "read_personas",
    "rfm_fallback_assignments",
    "selection_to_table",
    "suggested_action",
]

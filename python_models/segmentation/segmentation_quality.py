"""How many segments: silhouette and Davies-Bouldin for each k tried, the chosen k and how stable
the clustering is across two seeds; with var segmentation_ground_truth_path (a generated shop's
ground_truth directory) also the adjusted Rand index against the true personas. Fallback (too
few customers): one row with status 'fallback' and the reason; the segmentation then uses RFM
only. Thin wrapper over amazing_analytics.ml.segmentation.build_quality.
"""

from amazing_analytics.dbt_io import config_int, read_arrow
from amazing_analytics.ml.segmentation import build_quality


def model(dbt, session):
    dbt.config(materialized="table")
    return build_quality(
        read_arrow(dbt.ref("customer_features")),
        k_min=config_int(dbt.config.get("k_min"), "k_min"),
        k_max=config_int(dbt.config.get("k_max"), "k_max"),
        seed=config_int(dbt.config.get("seed"), "seed"),
        sample_size=config_int(dbt.config.get("sample_size"), "sample_size"),
        ground_truth_path=dbt.config.get("ground_truth_path"),
    )

"""Top N similar products per product for product pages: by LightFM item embedding and bought
together in one session. Thin wrapper over
amazing_analytics.ml.recommend.build.build_similar_products.
"""

from amazing_analytics.dbt_io import config_int, read_arrow, release_memory
from amazing_analytics.ml.recommend.build import BOUGHT_TOGETHER_PAIRS, build_similar_products


def model(dbt, session):
    dbt.config(materialized="table")
    inputs = [
        read_arrow(dbt.ref("int_recommender_product_features")),
        # the bought-together pairs only: the other session pairs are not used
        read_arrow(
            dbt.ref("int_product_cooccurrence").filter(BOUGHT_TOGETHER_PAIRS), dictionary=["split"]
        ),
        read_arrow(dbt.ref("recommender_embeddings")),
    ]
    release_memory(session)  # DuckDB's cache of what was just read, before the top-k
    return build_similar_products(
        *inputs,
        k=config_int(dbt.config.get("top_n"), "top_n"),
    )

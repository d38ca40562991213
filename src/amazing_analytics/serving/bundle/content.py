"""The bundle's content: from the warehouse's tables to the bundle's. Opted-out and erased
shoppers leave nothing personal in it (no list, no history, no embedding): only their ids."""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from amazing_analytics.ml.arrow_utils import ArrowData, as_table
from amazing_analytics.ml.recommend.data import build_catalogue
from amazing_analytics.ml.recommend.session import embedding_neighbour_table
from amazing_analytics.serving.bundle.schema import BundleError, conform

#: Session models that also vote through the item embeddings' nearest products.
EMBEDDING_NEIGHBOUR_MODELS = frozenset({"embedding", "hybrid"})


#: Products in the overall popular list (the API's k is at most 100).
POPULAR_ALL_SIZE = 100

#: The serving interactions' columns the shoppers' histories read.
HISTORY_COLUMNS = ("user_id", "product_id", "purchase_count", "last_event_at")
#: Every column of the serving interactions the bundle reads (the histories and the popular list):
#: serving_bundle reads these only.
INTERACTION_COLUMNS = (*HISTORY_COLUMNS, "weight")


#: Each shopper's history from the serving interactions (view ``interactions``; ``{size}``: the
#: recent viewed-or-carted products kept).
HISTORY_SQL = """
with ranked as (
    select
        user_id,
        product_id,
        purchase_count > 0 as is_bought,
        cast(last_event_at as timestamp) as last_event_at,
        row_number() over (
            partition by user_id, purchase_count > 0
            order by last_event_at desc, product_id
        ) as history_rank
    from interactions
    where user_id is not null and product_id is not null
)
select user_id, product_id, cast(history_rank as integer) as history_rank,
    is_bought, last_event_at
from ranked
where is_bought or history_rank <= {size}
order by user_id, is_bought, history_rank
"""

#: Each product's summed decayed weight over the serving interactions (view ``interactions``),
#: in integer nano-units: the same input gives the same order every time.
WEIGHT_SUM_SQL = """
select product_id, sum(cast(round(1e9 * weight) as bigint)) as nano_weight
from interactions
where product_id is not null
group by product_id
"""

#: The serving interactions as the bundle reads them: an Arrow table, or a relation of the
#: warehouse (the dbt model: at 100M events the serving split is 80M rows, which the
#: warehouse's DuckDB groups and ranks under its memory limit instead of in Python's memory).
Interactions = ArrowData | duckdb.DuckDBPyRelation
#: Any other input: an Arrow table, or a relation of the warehouse (which sorts it).
Input = Interactions

#: The inputs read in the order of their keys: the warehouse hands a table's rows over in no
#: fixed order (preserve_insertion_order is off), and the same input must give the same files,
#: digests and build id (and the same embedding neighbours: their ties go to the lower position).
INPUT_ORDER: dict[str, tuple[str, ...]] = {
    "recommendations": ("user_id", "rank"),
    "session_item_neighbours": ("product_id", "neighbour_rank"),
    "similar_products": ("product_id", "method", "rank"),
    "item_embeddings": ("product_id",),
    "user_embeddings": ("user_id",),
}


def _in_order(data: Input, name: str) -> pa.Table:
    """Input ``name`` with its rows in the order of its keys (:data:`INPUT_ORDER`): a relation is
    sorted by the warehouse's DuckDB, under its memory limit (32M shoppers' rows at 100M)."""
    keys = INPUT_ORDER[name]
    relation = isinstance(data, duckdb.DuckDBPyRelation)
    table = data if relation else as_table(data)
    missing = [
        key for key in keys if key not in (table.columns if relation else table.column_names)
    ]
    if missing:
        raise BundleError(f"the input for {name} lacks column(s) {', '.join(missing)}")
    if relation:
        return as_table(table.order(", ".join(keys)).arrow())
    return table.sort_by([(key, "ascending") for key in keys])


def _run(interactions: Interactions, sql: str, columns: tuple[str, ...]) -> pa.Table:
    """``sql`` over the serving rows of ``interactions`` (the view ``interactions``) as an Arrow
    table."""
    relation = isinstance(interactions, duckdb.DuckDBPyRelation)
    data = interactions if relation else as_table(interactions)
    names = data.columns if relation else data.column_names
    missing = [c for c in columns if c not in names]
    if missing:
        raise BundleError(f"interactions lacks column(s) {', '.join(missing)}")
    if relation:
        if "split" in names:
            data = data.filter("split = 'serving'")
        return as_table(data.query("interactions", sql).arrow())
    if "split" in names:
        data = data.filter(pc.equal(data.column("split"), "serving"))
    with duckdb.connect() as con:
        con.register("interactions", data.select(list(columns)))
        return con.sql(sql).to_arrow_table()


def _excluding(interactions: Interactions, users: pa.Array) -> Interactions:
    """The interactions of everyone but ``users`` (a GDPR list: integer ids, short; as
    :func:`_without_users`, a row without a user is left out too when ``users`` is not empty)."""
    if not len(users):
        return interactions
    if isinstance(interactions, duckdb.DuckDBPyRelation):
        ids = ", ".join(str(int(u)) for u in pc.unique(pc.drop_null(users)).to_pylist())
        return interactions.filter(f"user_id not in ({ids})")
    return _without_users(as_table(interactions), users)


def _ids(table: ArrowData | None, column: str = "user_id") -> pa.Table:
    """Distinct non-null ids of a GDPR list."""
    if table is None:
        return pa.table({"user_id": pa.array([], pa.int64())})
    data = as_table(table)
    if column not in data.column_names:
        raise BundleError(f"a GDPR list lacks column {column}")
    ids = pc.unique(pc.drop_null(pc.cast(data.column(column), pa.int64())).combine_chunks())
    return pa.table({"user_id": ids.take(pc.array_sort_indices(ids))})


def _without_users(table: pa.Table, users: pa.Array) -> pa.Table:
    if not len(users) or not table.num_rows:
        return table
    return table.filter(pc.invert(pc.is_in(table.column("user_id"), value_set=users)))


def _products(product_features: ArrowData) -> pa.Table:
    features = as_table(product_features)
    catalogue = build_catalogue(features)
    table = features.sort_by("product_id")
    described = catalogue.describe(np.arange(catalogue.size))
    return conform(
        table.append_column("description", pa.array(described.tolist(), pa.string())),
        "products",
    )


def _history(interactions: Interactions, history_size: int) -> pa.Table:
    """Each shopper's products in the serving split, newest first: the ``history_size`` most
    recent viewed-or-carted-not-bought ones (the blend's "recently viewed"), and every bought
    one (never recommended again unless its category is a repeat-purchase one)."""
    sql = HISTORY_SQL.format(size=int(history_size))
    return conform(_run(interactions, sql, HISTORY_COLUMNS), "user_history")


def _popular(
    popular_products: ArrowData,
    interactions: Interactions,
    products: pa.Table,
    size: int,
    excluded_users: pa.Array,
) -> pa.Table:
    """popular_products, with the overall list ('all') extended to ``size`` products (the API
    may be asked for up to 100) by the same measure: the sum of the decayed serving weights,
    ties to the smaller product id, catalogue products only, opted-out and erased shoppers'
    interactions left out (the warehouse's interactions have none already)."""
    popular = conform(as_table(popular_products), "popular_products")
    sums = _run(_excluding(interactions, excluded_users), WEIGHT_SUM_SQL, ("product_id", "weight"))
    with duckdb.connect() as con:
        con.register("sums", sums)
        con.register("products", products.select(["product_id"]))
        con.register("popular", popular)
        result = con.sql(
            """
            with overall as (
                select sums.product_id, sums.nano_weight / 1e9 as score
                from sums
                inner join products on sums.product_id = products.product_id
            ),
            ranked as (
                select 'all' as context_type, 'all' as context, product_id,
                    cast(row_number() over (order by score desc, product_id) as integer) as rank,
                    cast(score as double) as score, 'Popular right now' as reason
                from overall
            )
            select * from popular where context_type <> 'all'
            union all
            select * from ranked where rank <= $size
            order by context_type, context, rank
            """,
            params={"size": size},
        ).to_arrow_table()
    return conform(result, "popular_products")


def _neighbours(
    session_item_neighbours: Input,
    item_embeddings: pa.Table,
    session_model: str,
    top_n: int,
) -> pa.Table:
    """The session model's neighbour rows: co-visitation (source 'session'), plus the item
    embeddings' nearest products (source 'embedding', as the session module's serving_index
    computes them) when the served model votes through them ('embedding', 'hybrid')."""
    table = _in_order(session_item_neighbours, "session_item_neighbours")
    if "source" not in table.column_names:
        table = table.append_column("source", pa.array(["session"] * table.num_rows, pa.string()))
    parts = [conform(table, "session_item_neighbours")]
    if session_model in EMBEDDING_NEIGHBOUR_MODELS:
        parts.append(
            conform(embedding_neighbour_table(item_embeddings, top_n), "session_item_neighbours")
        )
    return pa.concat_tables(parts).combine_chunks()


def _embeddings(table: Input, name: str) -> pa.Table:
    return conform(_in_order(table, name), name)


def bundle_tables(
    *,
    recommendations: Input,
    session_item_neighbours: Input,
    similar_products: Input,
    item_embeddings: Input,
    user_embeddings: Input,
    popular_products: ArrowData,
    product_features: ArrowData,
    interactions: Interactions,
    opt_outs: ArrowData | None = None,
    erasures: ArrowData | None = None,
    history_size: int = 20,
    session_model: str = "popularity",
    neighbours_top_n: int = 50,
) -> dict[str, pa.Table]:
    """The bundle's tables from the warehouse's. Opted-out and erased shoppers leave nothing
    personal in it (no list, no history, no embedding): only their ids, to recognise them.
    Every table's rows come in a fixed order, whatever the order of the inputs' rows."""
    if history_size < 1:
        raise BundleError(f"history_size must be at least 1, got {history_size}")
    if not isinstance(interactions, duckdb.DuckDBPyRelation):
        interactions = as_table(interactions)
    opted_out = _ids(opt_outs)
    erased = _ids(erasures)
    excluded = pa.concat_arrays(
        [opted_out.column("user_id").combine_chunks(), erased.column("user_id").combine_chunks()]
    )

    def personal(table: pa.Table) -> pa.Table:
        return _without_users(table, excluded)

    # The interactions first: the warehouse's DuckDB ranks the histories and sums the popular
    # list while Python holds only the inputs, not yet the conformed copies of the lists below
    # (the shoppers' lists alone are 32M rows at 100M events)
    products = _products(product_features)
    history = personal(_history(interactions, history_size))
    popular = _popular(popular_products, interactions, products, POPULAR_ALL_SIZE, excluded)
    user_lists = _in_order(recommendations, "recommendations")
    if "is_personalised" in user_lists.column_names:
        # a non-personalised batch list is the popularity list the API serves anyway
        user_lists = user_lists.filter(pc.fill_null(user_lists.column("is_personalised"), False))
    items = _embeddings(item_embeddings, "item_embeddings")
    return {
        "products": products,
        "user_recommendations": personal(conform(user_lists, "user_recommendations")),
        "user_history": history,
        "session_item_neighbours": _neighbours(
            session_item_neighbours, items, session_model, neighbours_top_n
        ),
        "similar_products": conform(
            _in_order(similar_products, "similar_products"), "similar_products"
        ),
        "item_embeddings": items,
        "user_embeddings": personal(_embeddings(user_embeddings, "user_embeddings")),
        "popular_products": popular,
        "personalisation_opt_outs": opted_out,
        "erasure_requests": erased,
    }

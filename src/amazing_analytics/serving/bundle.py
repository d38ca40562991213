"""The serving bundle: everything the recommendation API needs, written by the build.

One directory of Parquet files plus ``manifest.json`` (build id, created at, the models served
with their evaluation figures, row counts). The API reads only this, never the DuckDB file
(DuckDB allows one writer, and a build must not wait for the API).

Atomic replacement: a build writes ``<parent>/.serving.tmp-<build_id>/``, moves it to
``<parent>/.serving-builds/<build_id>/`` and then points the ``serving`` symlink at it with one
``os.replace`` (a rename, atomic on POSIX). A reader resolving ``serving/`` sees the whole old
bundle or the whole new one, never a mix; a failed build leaves the old bundle untouched. The
previous build is kept so that an API still loading it finishes; older ones are removed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from amazing_analytics.ml.arrow_utils import ArrowData, as_table
from amazing_analytics.ml.recommend.data import build_catalogue
from amazing_analytics.ml.recommend.session import (
    embedding_neighbour_table,
    selected_session_model,
)

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
BUILDS_DIR = ".serving-builds"
TMP_PREFIX = ".serving.tmp-"
#: Builds kept beside the current one (an API may still be reading the previous one).
KEEP_PREVIOUS = 1

_EMBEDDING = pa.list_(pa.float32())

#: The bundle's tables: name -> schema. Each is written to ``<name>.parquet``.
SCHEMAS: dict[str, pa.Schema] = {
    "products": pa.schema(
        [
            ("product_id", pa.int64()),
            ("category_id", pa.int64()),
            ("category_code", pa.string()),
            ("category_level_1", pa.string()),
            ("brand", pa.string()),
            ("description", pa.string()),
            ("is_repeat_purchase_category", pa.bool_()),
        ]
    ),
    "user_recommendations": pa.schema(
        [
            ("user_id", pa.int64()),
            ("product_id", pa.int64()),
            ("rank", pa.int32()),
            ("score", pa.float64()),
            ("model", pa.string()),
            ("reason", pa.string()),
        ]
    ),
    "user_history": pa.schema(
        [
            ("user_id", pa.int64()),
            ("product_id", pa.int64()),
            ("history_rank", pa.int32()),
            ("is_bought", pa.bool_()),
            ("last_event_at", pa.timestamp("us")),
        ]
    ),
    "session_item_neighbours": pa.schema(
        [
            ("product_id", pa.int64()),
            ("neighbour_product_id", pa.int64()),
            ("neighbour_rank", pa.int32()),
            ("score", pa.float64()),
            ("source", pa.string()),
        ]
    ),
    "similar_products": pa.schema(
        [
            ("product_id", pa.int64()),
            ("similar_product_id", pa.int64()),
            ("method", pa.string()),
            ("rank", pa.int32()),
            ("score", pa.float64()),
            ("reason", pa.string()),
        ]
    ),
    "item_embeddings": pa.schema(
        [("product_id", pa.int64()), ("item_bias", pa.float64()), ("embedding", _EMBEDDING)]
    ),
    "user_embeddings": pa.schema(
        [("user_id", pa.int64()), ("user_bias", pa.float64()), ("embedding", _EMBEDDING)]
    ),
    "popular_products": pa.schema(
        [
            ("context_type", pa.string()),
            ("context", pa.string()),
            ("product_id", pa.int64()),
            ("rank", pa.int32()),
            ("score", pa.float64()),
            ("reason", pa.string()),
        ]
    ),
    "personalisation_opt_outs": pa.schema([("user_id", pa.int64())]),
    "erasure_requests": pa.schema([("user_id", pa.int64())]),
}

#: Session models that also vote through the item embeddings' nearest products.
EMBEDDING_NEIGHBOUR_MODELS = frozenset({"embedding", "hybrid"})
#: Products in the overall popular list (the API's k is at most 100).
POPULAR_ALL_SIZE = 100
#: The figures of a model's evaluation that go into the manifest (slice 'all').
HEADLINE_METRICS = ("hit_rate", "ndcg", "mrr", "precision", "recall", "map")


class BundleError(ValueError):
    """A bundle cannot be written or read (missing file, wrong columns, bad manifest)."""


def beside_warehouse(variable: str, name: str, warehouse: Path | str | None = None) -> Path:
    """``$<variable>`` when set, else the folder ``name`` beside the warehouse file
    (``$AMAZING_WAREHOUSE``, default ``warehouse/amazing.duckdb``)."""
    override = os.environ.get(variable, "").strip()
    if override:
        return Path(override)
    path = Path(warehouse or os.environ.get("AMAZING_WAREHOUSE") or "warehouse/amazing.duckdb")
    return path.parent / name


def serving_dir(warehouse: Path | str | None = None) -> Path:
    """Where the bundle lives: ``$AMAZING_SERVING_DIR``, else ``serving/`` beside the warehouse
    file (``$AMAZING_WAREHOUSE``, default ``warehouse/amazing.duckdb``)."""
    return beside_warehouse("AMAZING_SERVING_DIR", "serving", warehouse)


@dataclass(frozen=True)
class WrittenBundle:
    path: Path
    build_id: str
    created_at: datetime
    row_counts: dict[str, int]

    def as_table(self) -> pa.Table:
        """One row per file: what the dbt model ``serving_bundle`` returns."""
        names = sorted(self.row_counts)
        return pa.table(
            {
                "file_name": pa.array([f"{n}.parquet" for n in names], pa.string()),
                "table_name": pa.array(names, pa.string()),
                "row_count": pa.array([self.row_counts[n] for n in names], pa.int64()),
                "build_id": pa.array([self.build_id] * len(names), pa.string()),
                "created_at": pa.array(
                    [self.created_at.replace(tzinfo=None)] * len(names), pa.timestamp("us")
                ),
                "bundle_path": pa.array([str(self.path)] * len(names), pa.string()),
            }
        )


# --------------------------------------------------------------------------------------------
# Content: from the warehouse's tables to the bundle's


def _conform(table: pa.Table, name: str) -> pa.Table:
    schema = SCHEMAS[name]
    missing = [f.name for f in schema if f.name not in table.column_names]
    if missing:
        raise BundleError(f"the input for {name} lacks column(s) {', '.join(missing)}")
    return pa.table(
        [pc.cast(table.column(f.name), f.type) for f in schema], schema=schema
    ).combine_chunks()


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
    return _conform(
        table.append_column("description", pa.array(described.tolist(), pa.string())),
        "products",
    )


def _history(interactions: ArrowData, history_size: int) -> pa.Table:
    """Each shopper's products in the serving split, newest first: the ``history_size`` most
    recent viewed-or-carted-not-bought ones (the blend's "recently viewed"), and every bought
    one (never recommended again unless its category is a repeat-purchase one)."""
    data = as_table(interactions)
    needed = ("user_id", "product_id", "purchase_count", "last_event_at")
    missing = [c for c in needed if c not in data.column_names]
    if missing:
        raise BundleError(f"interactions lacks column(s) {', '.join(missing)}")
    if "split" in data.column_names:
        data = data.filter(pc.equal(data.column("split"), "serving"))
    data = data.select(list(needed))
    with duckdb.connect() as con:
        con.register("interactions", data)
        result = con.sql(
            """
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
            where is_bought or history_rank <= $size
            order by user_id, is_bought, history_rank
            """,
            params={"size": history_size},
        ).to_arrow_table()
    return _conform(result, "user_history")


def _popular(
    popular_products: ArrowData,
    interactions: pa.Table,
    products: pa.Table,
    size: int,
    excluded_users: pa.Array,
) -> pa.Table:
    """popular_products, with the overall list ('all') extended to ``size`` products (the API
    may be asked for up to 100) by the same measure: the sum of the decayed serving weights,
    ties to the smaller product id, catalogue products only, opted-out and erased shoppers'
    interactions left out (the warehouse's interactions have none already)."""
    popular = _conform(as_table(popular_products), "popular_products")
    data = interactions
    if "weight" not in data.column_names:
        raise BundleError("interactions lacks column weight")
    if "split" in data.column_names:
        data = data.filter(pc.equal(data.column("split"), "serving"))
    data = _without_users(data, excluded_users)
    with duckdb.connect() as con:
        con.register("interactions", data.select(["product_id", "weight"]))
        con.register("products", products.select(["product_id"]))
        con.register("popular", popular)
        result = con.sql(
            """
            with overall as (
                -- summed in integer nano-units: the same input gives the same order every time
                select interactions.product_id,
                    sum(cast(round(1e9 * interactions.weight) as bigint)) / 1e9 as score
                from interactions
                inner join products on interactions.product_id = products.product_id
                group by interactions.product_id
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
    return _conform(result, "popular_products")


def _neighbours(
    session_item_neighbours: ArrowData,
    item_embeddings: pa.Table,
    session_model: str,
    top_n: int,
) -> pa.Table:
    """The session model's neighbour rows: co-visitation (source 'session'), plus the item
    embeddings' nearest products (source 'embedding', as the session module's serving_index
    computes them) when the served model votes through them ('embedding', 'hybrid')."""
    table = as_table(session_item_neighbours)
    if "source" not in table.column_names:
        table = table.append_column("source", pa.array(["session"] * table.num_rows, pa.string()))
    parts = [_conform(table, "session_item_neighbours")]
    if session_model in EMBEDDING_NEIGHBOUR_MODELS:
        parts.append(
            _conform(embedding_neighbour_table(item_embeddings, top_n), "session_item_neighbours")
        )
    return pa.concat_tables(parts).combine_chunks()


def _embeddings(table: ArrowData, name: str) -> pa.Table:
    return _conform(as_table(table), name)


def _selected_rows(evaluation: ArrowData | None) -> list[dict[str, Any]]:
    if evaluation is None:
        return []
    table = as_table(evaluation)
    if "is_selected" not in table.column_names or not table.num_rows:
        return []
    rows = table.filter(pc.fill_null(table.column("is_selected"), False)).to_pylist()
    return [row for row in rows if row.get("slice_type", "all") == "all"]


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _model_summary(evaluation: ArrowData | None, kind: str) -> dict[str, Any]:
    """The selected model of an evaluation mart with its headline figures (slice 'all')."""
    rows = _selected_rows(evaluation)
    if not rows:
        table = as_table(evaluation) if evaluation is not None else None
        message = None
        if table is not None and table.num_rows and "message" in table.column_names:
            messages = [m for m in table.column("message").to_pylist() if m]
            message = messages[0] if messages else None
        return {
            "name": "popularity",
            "evaluated": False,
            "message": message or f"no {kind} evaluation selected a model: popularity serves",
            "params": {},
            "evaluation": [],
        }
    name = str(rows[0]["model"])
    params: dict[str, float] = {}
    figures = []
    for row in rows:
        metric = str(row.get("metric"))
        if metric.startswith("param_"):
            params[metric.removeprefix("param_")] = float(row["value"])
            continue
        if row.get("params"):
            params.update({str(k): float(v) for k, v in json.loads(row["params"]).items()})
        figure = {
            key: _clean(row.get(key))
            for key in ("metric", "k", "value", "ci_low", "ci_high", "session_count", "user_count")
            if key in row
        }
        figures.append(figure)
    statuses = {row.get("status") for row in rows if row.get("status")}
    return {
        "name": name,
        "evaluated": statuses <= {"ok"},
        "message": next((row["message"] for row in rows if row.get("message")), None),
        "params": params,
        "evaluation": sorted(figures, key=lambda f: (str(f.get("metric")), f.get("k") or 0)),
    }


def bundle_tables(
    *,
    recommendations: ArrowData,
    session_item_neighbours: ArrowData,
    similar_products: ArrowData,
    item_embeddings: ArrowData,
    user_embeddings: ArrowData,
    popular_products: ArrowData,
    product_features: ArrowData,
    interactions: ArrowData,
    opt_outs: ArrowData | None = None,
    erasures: ArrowData | None = None,
    history_size: int = 20,
    session_model: str = "popularity",
    neighbours_top_n: int = 50,
) -> dict[str, pa.Table]:
    """The bundle's tables from the warehouse's. Opted-out and erased shoppers leave nothing
    personal in it (no list, no history, no embedding): only their ids, to recognise them."""
    if history_size < 1:
        raise BundleError(f"history_size must be at least 1, got {history_size}")
    interactions = as_table(interactions)
    opted_out = _ids(opt_outs)
    erased = _ids(erasures)
    excluded = pa.concat_arrays(
        [opted_out.column("user_id").combine_chunks(), erased.column("user_id").combine_chunks()]
    )

    def personal(table: pa.Table) -> pa.Table:
        return _without_users(table, excluded)

    user_lists = as_table(recommendations)
    if "is_personalised" in user_lists.column_names:
        # a non-personalised batch list is the popularity list the API serves anyway
        user_lists = user_lists.filter(pc.fill_null(user_lists.column("is_personalised"), False))
    products = _products(product_features)
    items = _embeddings(item_embeddings, "item_embeddings")
    return {
        "products": products,
        "user_recommendations": personal(_conform(user_lists, "user_recommendations")),
        "user_history": personal(_history(interactions, history_size)),
        "session_item_neighbours": _neighbours(
            session_item_neighbours, items, session_model, neighbours_top_n
        ),
        "similar_products": _conform(as_table(similar_products), "similar_products"),
        "item_embeddings": items,
        "user_embeddings": personal(_embeddings(user_embeddings, "user_embeddings")),
        "popular_products": _popular(
            popular_products, interactions, products, POPULAR_ALL_SIZE, excluded
        ),
        "personalisation_opt_outs": opted_out,
        "erasure_requests": erased,
    }


def manifest_models(
    recommender_evaluation: ArrowData | None,
    session_recommender_evaluation: ArrowData | None,
) -> dict[str, Any]:
    """The models served, each with its evaluation's headline figures."""
    session = _model_summary(session_recommender_evaluation, "session recommender")
    if session_recommender_evaluation is not None:
        # the session module's own reading of the selection (name and params as evaluated)
        name, params = selected_session_model(as_table(session_recommender_evaluation))
        session = {**session, "name": name, "params": params}
    return {
        "session": session,
        "user": _model_summary(recommender_evaluation, "batch recommender"),
    }


# --------------------------------------------------------------------------------------------
# Writing, atomically


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_parquet(table: pa.Table, path: Path) -> str:
    pq.write_table(table, path, compression="zstd")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    with path.open("rb") as handle:
        os.fsync(handle.fileno())
    return digest


def write_bundle(
    target: Path,
    tables: Mapping[str, pa.Table],
    models: Mapping[str, Any],
    *,
    created_at: datetime | None = None,
) -> WrittenBundle:
    """Write ``tables`` (every name of SCHEMAS) and the manifest, then swap ``target`` to them.

    ``target`` (e.g. ``warehouse/serving``) becomes a symlink to the new build's directory; a
    real directory there (an older layout) is moved aside first.
    """
    unknown = sorted(set(tables) - set(SCHEMAS))
    missing = sorted(set(SCHEMAS) - set(tables))
    if unknown or missing:
        raise BundleError(
            f"a bundle needs exactly the tables {sorted(SCHEMAS)}; "
            f"missing {missing or 'none'}, unknown {unknown or 'none'}"
        )
    target = Path(target)
    parent = target.parent
    parent.mkdir(parents=True, exist_ok=True)
    created = (created_at or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    stamp = created.strftime("%Y%m%dT%H%M%SZ")
    tmp = parent / f"{TMP_PREFIX}{stamp}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        files: dict[str, dict[str, Any]] = {}
        content = hashlib.sha256()
        for name in sorted(SCHEMAS):
            table = _conform(tables[name], name)
            digest = _write_parquet(table, tmp / f"{name}.parquet")
            content.update(f"{name}:{digest};".encode())
            files[name] = {"file": f"{name}.parquet", "rows": table.num_rows, "sha256": digest}
        content.update(json.dumps(models, sort_keys=True, default=str).encode())
        build_id = f"{stamp}-{content.hexdigest()[:10]}"
        manifest = {
            "format_version": FORMAT_VERSION,
            "build_id": build_id,
            "created_at": created.isoformat().replace("+00:00", "Z"),
            "models": models,
            "row_counts": {name: files[name]["rows"] for name in sorted(files)},
            "files": files,
        }
        with (tmp / MANIFEST).open("w") as handle:
            json.dump(manifest, handle, indent=2, sort_keys=True, default=str)
            handle.flush()
            os.fsync(handle.fileno())
        _fsync_dir(tmp)
        builds = parent / BUILDS_DIR
        builds.mkdir(exist_ok=True)
        final = builds / build_id
        if final.exists():  # the very same content rebuilt in the same second
            shutil.rmtree(final)
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _swap(target, final)
    _remove_old_builds(builds, keep={final.name})
    return WrittenBundle(
        path=target,
        build_id=build_id,
        created_at=created,
        row_counts={name: files[name]["rows"] for name in files},
    )


def refresh_manifest(build: Path, changed: Iterable[Path]) -> list[str]:
    """After files of a written bundle were rewritten in place (a GDPR erasure removes a user's
    rows), bring its manifest's row counts and sha256 digests back in line with the files,
    atomically (a temporary file, then os.replace), and note when. The build id stays: it names
    the build, and the API treats the erased id as unknown through its live list. Returns the
    names of the tables whose entry changed; a folder without a manifest is left alone."""
    manifest_path = Path(build) / MANIFEST
    if not manifest_path.is_file():
        return []
    try:
        manifest = json.loads(manifest_path.read_text())
    except ValueError:
        return []
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, dict):
        return []  # not a manifest this writer wrote: nothing to bring in line
    by_file = {entry.get("file"): name for name, entry in files.items() if isinstance(entry, dict)}
    updated: list[str] = []
    for path in sorted({Path(p) for p in changed}):
        name = by_file.get(path.name)
        if path.parent.resolve() != manifest_path.parent.resolve() or name is None:
            continue
        files[name]["rows"] = pq.ParquetFile(path).metadata.num_rows
        files[name]["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
        manifest.setdefault("row_counts", {})[name] = files[name]["rows"]
        updated.append(name)
    if updated:
        manifest["amended_at"] = datetime.now(UTC).replace(microsecond=0).isoformat()
        temporary = manifest_path.with_name(f".{MANIFEST}.{os.getpid()}")
        with temporary.open("w") as handle:
            json.dump(manifest, handle, indent=2, sort_keys=True, default=str)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, manifest_path)
    return updated


def _swap(target: Path, build: Path) -> None:
    if target.exists() and not target.is_symlink():
        if not target.is_dir():
            raise BundleError(f"{target} exists and is not a directory: remove it")
        # an older layout (a plain directory): keep it as a build, then link
        os.rename(target, build.parent / f"replaced-{build.name}")
    link = target.parent / f".serving.link-{build.name}-{os.getpid()}"
    if link.is_symlink() or link.exists():
        link.unlink()
    os.symlink(os.path.relpath(build, target.parent), link)
    os.replace(link, target)
    _fsync_dir(target.parent)


def _remove_old_builds(builds: Path, keep: set[str]) -> None:
    others = sorted(
        (p for p in builds.iterdir() if p.is_dir() and p.name not in keep),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for old in others[KEEP_PREVIOUS:]:
        shutil.rmtree(old, ignore_errors=True)


def build_serving_bundle(
    target: Path,
    *,
    recommendations: ArrowData,
    session_item_neighbours: ArrowData,
    similar_products: ArrowData,
    item_embeddings: ArrowData,
    user_embeddings: ArrowData,
    popular_products: ArrowData,
    product_features: ArrowData,
    interactions: ArrowData,
    opt_outs: ArrowData | None = None,
    erasures: ArrowData | None = None,
    recommender_evaluation: ArrowData | None = None,
    session_recommender_evaluation: ArrowData | None = None,
    history_size: int = 20,
    neighbours_top_n: int = 50,
    created_at: datetime | None = None,
) -> pa.Table:
    """The dbt step: the bundle's tables and manifest written atomically to ``target``; one row
    per file with its row count."""
    if session_recommender_evaluation is not None:
        session_recommender_evaluation = as_table(session_recommender_evaluation)
    models = manifest_models(recommender_evaluation, session_recommender_evaluation)
    tables = bundle_tables(
        recommendations=recommendations,
        session_item_neighbours=session_item_neighbours,
        similar_products=similar_products,
        item_embeddings=item_embeddings,
        user_embeddings=user_embeddings,
        popular_products=popular_products,
        product_features=product_features,
        interactions=interactions,
        opt_outs=opt_outs,
        erasures=erasures,
        history_size=history_size,
        session_model=str(models["session"]["name"]),
        neighbours_top_n=neighbours_top_n,
    )
    return write_bundle(target, tables, models, created_at=created_at).as_table()


def read_manifest(bundle: Path) -> dict[str, Any]:
    """The manifest of the bundle at ``bundle`` (a clear error when there is none)."""
    path = Path(bundle) / MANIFEST
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError as error:
        raise BundleError(
            f"no serving bundle at {bundle} (no {MANIFEST}): run `make build` (or `dbt build`)"
        ) from error
    except json.JSONDecodeError as error:
        raise BundleError(f"{path} is not valid JSON: {error}") from error
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BundleError(
            f"{path} has format_version {manifest.get('format_version')!r}, "
            f"this API reads {FORMAT_VERSION}"
        )
    return manifest

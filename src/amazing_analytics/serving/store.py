"""A serving bundle loaded into memory: immutable lookups the API answers from.

The API holds one ``LoadedBundle`` at a time and replaces the reference when a new build
appears; a request keeps the object it started with, so a reload never changes an answer
half way through nor fails a request in flight.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from amazing_analytics.ml.arrow_utils import list_matrix
from amazing_analytics.ml.recommend.session import (
    NeighbourIndex,
    SessionInputError,
    model_params,
)
from amazing_analytics.serving.bundle import MANIFEST, SCHEMAS, BundleError, read_manifest

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


@dataclass(frozen=True)
class EncodedStrings:
    """A string column as codes into its distinct values: reasons and model names repeat a lot,
    and one Python str per row would cost ~60 bytes each (hundreds of MB for a big build)."""

    codes: np.ndarray
    values: list[str | None]

    @classmethod
    def from_arrow(cls, column: pa.ChunkedArray) -> EncodedStrings:
        encoded = pc.dictionary_encode(column.combine_chunks())
        codes = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False)
        values: list[str | None] = encoded.dictionary.to_pylist()
        values.append(None)  # code -1 (a null) reads the last entry
        return cls(np.asarray(codes, np.int32), values)

    def __len__(self) -> int:
        return int(self.codes.size)

    def __getitem__(self, index):
        if isinstance(index, slice):
            values = self.values
            return [values[code] for code in self.codes[index].tolist()]
        return self.values[int(self.codes[index])]


@dataclass(frozen=True)
class GroupedRows:
    """Rows grouped by an int64 key (sorted); a dict finds a key's rows (a lookup costs tens of
    nanoseconds, a numpy binary search on one scalar microseconds)."""

    keys: np.ndarray
    offsets: np.ndarray
    columns: dict[str, np.ndarray | EncodedStrings | list[Any]]
    _spans: dict[int, int] = field(default_factory=dict, repr=False)
    _offsets: list[int] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_spans", {int(k): i for i, k in enumerate(self.keys.tolist())})
        object.__setattr__(self, "_offsets", self.offsets.tolist())

    @classmethod
    def from_table(cls, table: pa.Table, key: str, order: str) -> GroupedRows:
        table = table.sort_by([(key, "ascending"), (order, "ascending")])
        values = np.asarray(table.column(key).to_numpy(), np.int64)
        keys, starts = np.unique(values, return_index=True)
        columns: dict[str, np.ndarray | EncodedStrings | list[Any]] = {}
        for name in table.column_names:
            if name == key:
                continue
            column = table.column(name)
            if pa.types.is_string(column.type):
                columns[name] = EncodedStrings.from_arrow(column)
            elif pa.types.is_timestamp(column.type):
                columns[name] = column.to_pylist()
            else:
                columns[name] = column.to_numpy()
        return cls(keys, np.append(starts, values.size).astype(np.int64), columns)

    def span(self, key: int) -> tuple[int, int] | None:
        pos = self._spans.get(key)
        if pos is None:
            return None
        return self._offsets[pos], self._offsets[pos + 1]

    def __len__(self) -> int:
        return int(self.keys.size)


@dataclass(frozen=True)
class Catalogue:
    """The served products: id -> position, description, category, repeat-purchase flag."""

    ids: np.ndarray
    descriptions: list[str]
    category_ids: list[int | None]
    category_families: list[str]
    repeat_purchase: list[bool]
    _index: dict[int, int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {int(p): i for i, p in enumerate(self.ids.tolist())})

    def position(self, product_id: int) -> int:
        return self._index.get(product_id, -1)

    def __contains__(self, product_id: int) -> bool:
        return self.position(product_id) >= 0

    def describe(self, product_id: int) -> str:
        pos = self.position(product_id)
        return self.descriptions[pos] if pos >= 0 else f"product {product_id}"


@dataclass(frozen=True)
class PopularList:
    product_ids: tuple[int, ...]
    scores: tuple[float, ...]
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class EmbeddingIndex:
    """Unit item vectors (for similarity) and raw vectors + biases (for user scores)."""

    product_ids: np.ndarray
    vectors: np.ndarray
    biases: np.ndarray
    user_ids: np.ndarray
    user_vectors: np.ndarray
    _users: dict[int, int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "_users", {int(u): i for i, u in enumerate(self.user_ids.tolist())}
        )

    def user_vector(self, user_id: int) -> np.ndarray | None:
        pos = self._users.get(user_id)
        return None if pos is None else self.user_vectors[pos]


@dataclass(frozen=True)
class LoadedBundle:
    path: Path
    build_id: str
    created_at: datetime
    manifest: dict[str, Any]
    catalogue: Catalogue
    user_lists: GroupedRows
    history: GroupedRows
    neighbours: NeighbourIndex
    similar: dict[str, GroupedRows]
    popular: dict[tuple[str, str], PopularList]
    embeddings: EmbeddingIndex
    opted_out: frozenset[int]
    erased: frozenset[int]
    load_seconds: float
    loaded_at: float = field(default_factory=time.time)

    @property
    def session_model(self) -> dict[str, Any]:
        return self.manifest["models"]["session"]

    @property
    def user_model(self) -> dict[str, Any]:
        return self.manifest["models"]["user"]

    def age_seconds(self, now: datetime | None = None) -> float:
        return ((now or datetime.now(UTC)) - self.created_at).total_seconds()


def _read(directory: Path, name: str) -> pa.Table:
    path = directory / f"{name}.parquet"
    try:
        table = pq.read_table(path)
    except FileNotFoundError as error:
        raise BundleError(f"the bundle at {directory} lacks {path.name}") from error
    expected = SCHEMAS[name]
    missing = [f.name for f in expected if f.name not in table.column_names]
    if missing:
        raise BundleError(f"{path} lacks column(s) {', '.join(missing)}")
    return table.select(expected.names).cast(expected)


def _vectors(table: pa.Table) -> np.ndarray:
    return list_matrix(table.column("embedding"), BundleError, "the bundle's embeddings")


def _embeddings(items: pa.Table, users: pa.Table) -> EmbeddingIndex:
    items = items.sort_by("product_id")
    users = users.sort_by("user_id")
    vectors = _vectors(items)
    user_vectors = _vectors(users)
    if vectors.size and user_vectors.size and vectors.shape[1] != user_vectors.shape[1]:
        raise BundleError("item and user embeddings have different sizes")
    return EmbeddingIndex(
        product_ids=np.asarray(items.column("product_id").to_numpy(), np.int64),
        vectors=vectors,
        biases=np.asarray(items.column("item_bias").to_numpy(), np.float32),
        user_ids=np.asarray(users.column("user_id").to_numpy(), np.int64),
        user_vectors=user_vectors,
    )


def _popular(table: pa.Table) -> dict[tuple[str, str], PopularList]:
    table = table.sort_by(
        [("context_type", "ascending"), ("context", "ascending"), ("rank", "ascending")]
    )
    grouped: dict[tuple[str, str], list[tuple[int, float, str]]] = {}
    for row in table.to_pylist():
        key = (row["context_type"], row["context"])
        grouped.setdefault(key, []).append((row["product_id"], row["score"], row["reason"]))
    return {
        key: PopularList(
            tuple(r[0] for r in rows), tuple(float(r[1]) for r in rows), tuple(r[2] for r in rows)
        )
        for key, rows in grouped.items()
    }


def _catalogue(table: pa.Table) -> Catalogue:
    table = table.sort_by("product_id")
    return Catalogue(
        ids=np.asarray(table.column("product_id").to_numpy(), np.int64),
        descriptions=table.column("description").to_pylist(),
        category_ids=table.column("category_id").to_pylist(),
        category_families=table.column("category_level_1").to_pylist(),
        repeat_purchase=pc.fill_null(
            table.column("is_repeat_purchase_category"), False
        ).to_pylist(),
    )


def _parse_time(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (AttributeError, ValueError) as error:
        raise BundleError(f"manifest created_at {text!r} is not an ISO-8601 time") from error
    return value if value.tzinfo else value.replace(tzinfo=UTC)


#: Batch producers (every name of ml.recommend.models.MODEL_NAMES) -> the contract's source
#: names. A list row of a producer missing here is refused when the bundle loads (load_bundle), so
#: a new batch model cannot be served under the wrong label.
BATCH_SOURCES = {
    "popularity": "popularity",
    "recently_viewed": "history",
    "buy_again": "history",
    "category_popularity": "popularity",
    "item_knn": "history",
    "lightfm": "embedding",
}


def _user_lists(table: pa.Table, directory: Path) -> pa.Table:
    """The nightly lists, refused when a row comes from a producer without a source name."""
    producers = set(pc.unique(table.column("model")).to_pylist()) - {None}
    unknown = sorted(producers - set(BATCH_SOURCES))
    if unknown:
        raise BundleError(
            f"{directory / 'user_recommendations.parquet'}: model(s) {', '.join(unknown)} "
            f"have no source name (known: {', '.join(BATCH_SOURCES)})"
        )
    return table


def load_bundle(path: Path | str) -> LoadedBundle:
    """Read the bundle at ``path`` (the ``serving`` symlink or a build directory) into memory.

    The symlink is resolved once first, so a build swapping it during the load cannot mix two
    bundles.
    """
    started = time.perf_counter()
    directory = Path(os.path.realpath(path))
    manifest = read_manifest(directory)
    for key in ("build_id", "created_at", "models"):
        if key not in manifest:
            raise BundleError(f"{directory / MANIFEST} lacks {key!r}")
    try:
        session = manifest["models"]["session"]
        # the served params, checked once here rather than at every request
        session["params"] = model_params(str(session["name"]), session.get("params") or {})
        manifest["models"]["user"]["name"]
    except (KeyError, TypeError, SessionInputError) as error:
        raise BundleError(f"{directory / MANIFEST}: unusable models entry ({error})") from error
    similar = _read(directory, "similar_products")
    by_method = {
        method: GroupedRows.from_table(
            similar.filter(pc.equal(similar.column("method"), method)).drop_columns(["method"]),
            "product_id",
            "rank",
        )
        for method in ("embedding", "bought_together")
    }
    bundle = LoadedBundle(
        path=directory,
        build_id=str(manifest["build_id"]),
        created_at=_parse_time(str(manifest["created_at"])),
        manifest=manifest,
        catalogue=_catalogue(_read(directory, "products")),
        user_lists=GroupedRows.from_table(
            _user_lists(_read(directory, "user_recommendations"), directory), "user_id", "rank"
        ),
        history=GroupedRows.from_table(
            _read(directory, "user_history").drop_columns(["last_event_at"]),
            "user_id",
            "history_rank",
        ),
        neighbours=NeighbourIndex.from_arrow(_read(directory, "session_item_neighbours")),
        similar=by_method,
        popular=_popular(_read(directory, "popular_products")),
        embeddings=_embeddings(
            _read(directory, "item_embeddings"), _read(directory, "user_embeddings")
        ),
        opted_out=frozenset(
            _read(directory, "personalisation_opt_outs").column("user_id").to_pylist()
        ),
        erased=frozenset(_read(directory, "erasure_requests").column("user_id").to_pylist()),
        load_seconds=0.0,
    )
    # the Parquet reads' scratch memory goes back to the system (mimalloc keeps it otherwise)
    pa.default_memory_pool().release_unused()
    object.__setattr__(bundle, "load_seconds", time.perf_counter() - started)
    return bundle


def bundle_signature(path: Path | str) -> tuple[str, int, int] | None:
    """What changes when a new bundle is swapped in (target directory, manifest inode, mtime);
    None when there is no bundle."""
    try:
        directory = os.path.realpath(path)
        stat = os.stat(os.path.join(directory, MANIFEST))
    except OSError:
        return None
    return directory, stat.st_ino, stat.st_mtime_ns

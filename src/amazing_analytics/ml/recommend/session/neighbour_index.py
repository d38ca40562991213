"""The in-memory neighbour lookup the models score from: :class:`NeighbourIndex`, built from
``session_item_neighbours`` rows (and embedding neighbour rows), one CSR list per source."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from amazing_analytics.ml.arrow_utils import ArrowData, as_table
from amazing_analytics.ml.guards import require_columns
from amazing_analytics.ml.recommend.session.items import SessionInputError

NEIGHBOUR_COLUMNS = ("product_id", "neighbour_product_id", "neighbour_rank", "score")
NEIGHBOUR_SOURCES = ("session", "embedding")


def int_column(table: pa.Table, name: str) -> np.ndarray:
    """A neighbour table's id column as int64 (nulls are an error)."""
    column = table.column(name)
    if column.null_count:
        raise SessionInputError(f"neighbour table column {name!r} has {column.null_count} nulls")
    return np.asarray(pc.cast(column, pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)


class NeighbourLists:
    """Ranked neighbour lists of one source, as CSR arrays (row = product, in id order)."""

    def __init__(self, table: pa.Table) -> None:
        if table.num_rows == 0:
            self.ids = np.zeros(0, np.int64)
            self.indptr = np.zeros(1, np.int64)
            self.neighbour_ids = np.zeros(0, np.int64)
            self.scores = np.zeros(0, np.float64)
            self.normalised = np.zeros(0, np.float64)
            self.row_of: dict[int, int] = {}
            return
        table = table.sort_by([("product_id", "ascending"), ("neighbour_rank", "ascending")])
        products = int_column(table, "product_id")
        self.neighbour_ids = int_column(table, "neighbour_product_id")
        self.scores = np.asarray(
            pc.cast(pc.fill_null(table.column("score"), 0.0), pa.float64()).to_numpy(
                zero_copy_only=False
            ),
            dtype=np.float64,
        )
        starts = np.flatnonzero(np.r_[True, products[1:] != products[:-1]])
        self.ids = products[starts]
        self.indptr = np.r_[starts, products.size].astype(np.int64)
        self.row_of = dict(zip(self.ids.tolist(), range(self.ids.size), strict=True))
        best = np.maximum.reduceat(self.scores, starts) if starts.size else np.zeros(0)
        best_per_row = np.repeat(best, np.diff(self.indptr))
        self.normalised = np.where(
            best_per_row > 0, self.scores / np.where(best_per_row > 0, best_per_row, 1.0), 0.0
        )

    def row(self, product_id: int) -> int:
        return self.row_of.get(product_id, -1)

    def get(self, product_id: int, normalised: bool) -> tuple[np.ndarray, np.ndarray]:
        row = self.row(product_id)
        if row < 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float64)
        lo, hi = self.indptr[row], self.indptr[row + 1]
        values = self.normalised if normalised else self.scores
        return self.neighbour_ids[lo:hi], values[lo:hi]


class NeighbourIndex:
    """In-memory lookup built from the session_item_neighbours table.

    The table needs product_id, neighbour_product_id, neighbour_rank and score; an optional
    ``source`` column ('session' | 'embedding') lets one index hold both kinds of neighbours
    (rows without it are session co-visitation neighbours).
    """

    def __init__(self, lists: Mapping[str, NeighbourLists]) -> None:
        self._lists = dict(lists)

    @classmethod
    def from_arrow(cls, table: ArrowData) -> NeighbourIndex:
        table = as_table(table)
        require_columns(table, NEIGHBOUR_COLUMNS, "neighbour table", error=SessionInputError)
        if "source" in table.column_names:
            sources = pc.fill_null(pc.cast(table.column("source"), pa.string()), "session")
            unknown = set(sources.to_pylist()) - set(NEIGHBOUR_SOURCES)
            if unknown:
                raise SessionInputError(
                    f"neighbour table has unknown source(s) {sorted(unknown)}; "
                    f"expected {', '.join(NEIGHBOUR_SOURCES)}"
                )
            lists = {
                s: NeighbourLists(table.filter(pc.equal(sources, s))) for s in NEIGHBOUR_SOURCES
            }
        else:
            lists = {
                "session": NeighbourLists(table),
                "embedding": NeighbourLists(table.slice(0, 0)),
            }
        return cls(lists)

    def with_source(self, source: str, other: NeighbourIndex) -> NeighbourIndex:
        """This index with ``source``'s lists taken from ``other`` (the others kept as they
        are): the evaluation adds the embedding neighbours once LightFM has been fitted."""
        return NeighbourIndex({**self._lists, source: other._source(source)})

    def neighbours(self, product_id: int, source: str = "session") -> tuple[np.ndarray, np.ndarray]:
        """The product's neighbour ids and scores, best first (empty arrays if unknown)."""
        return self._source(source).get(int(product_id), normalised=False)

    def knows(self, product_id: int, source: str = "session") -> bool:
        """Has the product any neighbour of this source?"""
        return self._source(source).row(int(product_id)) >= 0

    def product_count(self, source: str = "session") -> int:
        return int(self._source(source).ids.size)

    def normalised_neighbours(self, product_id: int, source: str) -> tuple[np.ndarray, np.ndarray]:
        """The product's neighbour ids and scores divided by its best neighbour's score (what
        the models vote with)."""
        return self._source(source).get(int(product_id), normalised=True)

    def _source(self, source: str) -> NeighbourLists:
        if source not in self._lists:
            raise SessionInputError(
                f"unknown neighbour source {source!r}; expected {', '.join(NEIGHBOUR_SOURCES)}"
            )
        return self._lists[source]

"""Helpers for the thin dbt Python models: read relations as Arrow, read typed config, and send
the package's log lines to dbt's log.

The package logs with the standard :mod:`logging` module (``logging.getLogger(__name__)``).
Every dbt Python model imports this module; when it runs inside dbt, :func:`log_to_dbt` (called
on import) forwards the records of the ``amazing_analytics`` loggers at INFO and above to dbt's
event log, so they appear in the build output and in ``logs/dbt.log`` beside the model's own
lines. Outside dbt (tests, the CLI) nothing is attached.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import importlib
import logging
import os
import re
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from amazing_analytics.ml.arrow_utils import as_reader, as_table

PACKAGE_LOGGER = "amazing_analytics"

#: The third-party packages the Python models import (several of them inside functions), loaded
#: in one go when a dbt run first imports this module. With ``dbt build --threads 2`` two Python
#: models import in two threads at once, and a package with an import cycle raises
#: ``_DeadlockError`` when two threads enter the cycle from different ends: scikit-learn's
#: narwhals (``narwhals.stable`` imports its ``v1`` and ``v2``, whose import needs
#: ``narwhals.stable`` first) failed forecast_feature_importance in a 10M build with two threads
#: (docs/benchmarks.md, seventh pass). Every Python model that uses the ML package imports this
#: module first (tests/python/test_shared_helpers.py), so a second thread waits for this import
#: and then finds every package loaded. Prophet (not a default forecaster; its import is
#: noisy) is imported under a lock where it is used instead.
MODEL_PACKAGES = (
    "pandas",
    "scipy.sparse",
    "sklearn",
    "xgboost",
    "statsforecast.models",
    "lightfm",
)


class DbtLogHandler(logging.Handler):
    """Forwards log records to dbt's event system as ``Note`` events at the record's level."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            from dbt_common.events.base_types import EventLevel
            from dbt_common.events.functions import fire_event
            from dbt_common.events.types import Note

            if record.levelno >= logging.ERROR:
                level = EventLevel.ERROR
            elif record.levelno >= logging.WARNING:
                level = EventLevel.WARN
            elif record.levelno >= logging.INFO:
                level = EventLevel.INFO
            else:
                level = EventLevel.DEBUG
            fire_event(Note(msg=self.format(record)), level=level)
        except Exception:  # a log line must never fail a model
            self.handleError(record)


def running_in_dbt() -> bool:
    """True inside a dbt invocation (the dbt CLI or dbtRunner has been imported)."""
    return "dbt.cli.main" in sys.modules


def log_to_dbt(level: int = logging.INFO) -> logging.Logger:
    """Attach :class:`DbtLogHandler` to the package logger once (idempotent) and return it."""
    logger = logging.getLogger(PACKAGE_LOGGER)
    if not any(isinstance(handler, DbtLogHandler) for handler in logger.handlers):
        handler = DbtLogHandler()
        handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
        logger.addHandler(handler)
    if logger.level == logging.NOTSET or logger.level > level:
        logger.setLevel(level)
    logger.propagate = False  # dbt shows the line once: not again through Python's last resort
    return logger


def read_arrow(relation: Any, dictionary: Sequence[str] = ()) -> pa.Table:
    """A dbt-duckdb relation (``dbt.ref(...)``) as a pyarrow Table, without pandas.

    DuckDB 2's ``relation.arrow()`` is a RecordBatchReader; older versions return a Table.
    ``dictionary``: text columns of a few distinct values (``split``) dictionary-encoded batch by
    batch as they stream in, so the full text column never exists: ``split`` was 320 of the
    840 MB of recommender_evaluation's co-occurrence pairs at 10M events.
    """
    data = relation.arrow()
    if not dictionary:
        return as_table(data)
    batches = as_reader(data)
    schema = batches.schema
    for name in dictionary:
        if name not in schema.names:
            raise ValueError(f"cannot dictionary-encode {name!r}: the relation has no such column")
        position = schema.get_field_index(name)
        schema = schema.set(position, pa.field(name, pa.dictionary(pa.int32(), pa.string())))
    encoded = []
    for batch in batches:
        for name in dictionary:
            position = batch.schema.get_field_index(name)
            values = pc.cast(batch.column(position), pa.string())
            batch = batch.set_column(position, name, pc.dictionary_encode(values))
        encoded.append(batch)
    return pa.Table.from_batches(encoded, schema=schema)


#: How far above what DuckDB holds outside its cache of table blocks its memory limit is
#: lowered for a moment, so that it drops those cached blocks (bytes).
RELEASE_HEADROOM = 32_000_000
#: How often setting the limit back is tried (:func:`_set_limit_back`), a moment apart.
RESTORE_ATTEMPTS = 100
#: One release at a time in this process (see :func:`_evict_duckdb_cache`).
_RELEASE_LOCK = threading.Lock()

logger = logging.getLogger(__name__)


def release_memory(session: Any = None) -> None:
    """Give memory nobody uses back to the operating system, before a model's heavy part.

    A dbt build runs every model in one process, so a Python model's peak RSS also holds what
    earlier models left: DuckDB's buffer pool keeps the blocks it has read cached up to its
    ``memory_limit`` (3 GB by default), and Python's allocators (glibc's malloc, Arrow's pool)
    keep freed memory for reuse. Called by the heaviest Python models after they have read their
    inputs: DuckDB's limit is lowered for a moment (:func:`_evict_duckdb_cache`; lowering it
    evicts the cached blocks, which are on disk anyway, and flushes DuckDB's allocator), Arrow's pool
    releases its unused memory and glibc trims its heap. Nothing is recomputed and no result
    changes; ``session`` is the model's DuckDB connection (None: only Python's memory).
    """
    gc.collect()
    if session is not None:
        try:
            _evict_duckdb_cache(session)
        except Exception as error:  # not a DuckDB session (Spark), or DuckDB could not evict
            logger.debug("DuckDB's cache not released: %s", error)
    pa.default_memory_pool().release_unused()
    if sys.platform.startswith("linux"):
        libc = ctypes.util.find_library("c")
        if libc:
            ctypes.CDLL(libc).malloc_trim(0)


def stream_arrow(relation: Any, session: Any = None) -> pa.RecordBatchReader:
    """A relation's rows batch by batch, for an input that is consumed once into other
    structures (the co-visitation pairs into their sparse matrices): it is never held whole as
    Arrow (28 bytes a pair; 16M pairs at 10M events, about 100M at 100M). Once the last batch
    has been read, DuckDB's result is closed and :func:`release_memory` drops the blocks the
    scan cached, which would otherwise stay for the rest of the model.

    Open it last: DuckDB serves one open result per connection, so no other query of
    ``session`` may run until the stream has been read to its end.
    """
    data = as_reader(relation.arrow())  # older DuckDB returns a whole Table

    def batches() -> Iterator[pa.RecordBatch]:
        try:
            yield from data
        finally:
            data.close()
            release_memory(session)

    return pa.RecordBatchReader.from_batches(data.schema, batches())


def _evict_duckdb_cache(session: Any) -> None:
    """Lower DuckDB's memory limit to what it holds outside its cache of table blocks plus
    :data:`RELEASE_HEADROOM`, and set it back, whatever happens.

    DuckDB shows the limit rounded down to 0.1 GiB ('2.7 GiB' for 3GB); it is set back half a
    step above what it shows (:func:`_restored_limit`), so the rest of the model runs within
    0.05 GiB of the profile's value however often it releases; dbt-duckdb sets the profile's own
    value on the next model's cursor.

    The limit is the database's, shared by every cursor, and with ``dbt build --threads 2`` a
    SQL model or another Python model may be running beside this one:

    * the limit is lowered to what is held outside the cache (another model's hash tables,
      sorts, temporary tables) plus the headroom, not to a flat 32 MB: a flat 32 MB made a
      query running beside it fail for want of memory (13-17 of 140-180 queries in a test that
      released every 5 ms) or pushed its temporary data to disk; with the headroom above what
      is held, none of 458 queries failed in 8,226 releases (docs/scaling.md §3);
    * setting it back is retried (:func:`_set_limit_back`): in that test the statement itself
      once failed for want of memory, which left the database at 32 MB;
    * under :data:`_RELEASE_LOCK` a second model cannot read the first one's lowered limit and
      then set that back for the rest of the build.
    """
    with _RELEASE_LOCK:
        limit, held = session.execute(
            "select current_setting('memory_limit'), coalesce(sum(memory_usage_bytes), 0) "
            "from duckdb_memory() where tag <> 'BASE_TABLE'"
        ).fetchall()[0]
        try:
            session.execute(f"set memory_limit = '{int(held) + RELEASE_HEADROOM} bytes'")
        finally:
            _set_limit_back(session, _restored_limit(limit))


def _set_limit_back(session: Any, limit: str) -> None:
    """``set memory_limit`` to ``limit``, tried :data:`RESTORE_ATTEMPTS` times 10 ms apart: the
    statement needs a little memory itself, which a model running beside may hold for a
    moment. The last failure is raised (release_memory logs it; the next model's cursor gets
    the profile's value)."""
    for attempt in range(RESTORE_ATTEMPTS):
        try:
            session.execute(f"set memory_limit = '{limit}'")
            return
        except Exception:
            if attempt + 1 == RESTORE_ATTEMPTS:
                logger.warning(
                    "DuckDB's memory limit could not be set back to %s; this model runs on "
                    "with the lowered one",
                    limit,
                )
                raise
            time.sleep(0.01)


def _restored_limit(shown: str) -> str:
    """The limit to set back for the one DuckDB shows: its last digit plus half a step.

    DuckDB rounds the shown value down ('3GB' shows as '2.7 GiB', and '2.7 GiB' set back shows
    as '2.6 GiB'), so setting back what it shows lowered the limit by 0.1 GiB at every release;
    '2.75 GiB' shows as '2.7 GiB' again. Text without decimals ('1000 bytes') is set back as it
    is."""
    match = re.fullmatch(r"(\d+\.\d+) (\w+)", shown.strip())
    if match is None:
        return shown
    number, unit = match.groups()
    return f"{number}5 {unit}"


def config_int(value: Any, key: str) -> int:
    """An integer passed through model config (dbt-duckdb has no ``dbt.var`` in Python models).

    Call it as ``config_int(dbt.config.get("k"), "k")``: dbt only hands a Python model the config
    keys it sees in literal ``dbt.config.get("...")`` calls of the model file.
    """
    if value is None or str(value).strip() == "":
        raise ValueError(
            f"model config '{key}' is not set: pass it from the var in the model's yml"
        )
    return int(str(value).strip())


def config_float(value: Any, key: str) -> float:
    """A number passed through model config; see :func:`config_int` for why keys are literal."""
    if value is None or str(value).strip() == "":
        raise ValueError(
            f"model config '{key}' is not set: pass it from the var in the model's yml"
        )
    return float(str(value).strip())


#: OpenMP's wait policy inside dbt: libgomp's worker threads (scikit-learn's) sleep when a
#: parallel region ends instead of spinning for the next one. Two-thread 10M builds took
#: 292.2-299.8 s and 517-530 CPU seconds with libgomp's default, 283.7-287.8 s and 500-510
#: passive (seven builds; one dbt thread: no change; benchmarks.md, tenth pass). libgomp reads
#: it once, when it loads, so it is set before the ML packages are imported; a policy set in
#: the environment is kept.
OPENMP_WAIT_POLICY = "PASSIVE"


def quiet_openmp_threads() -> None:
    """Set OMP_WAIT_POLICY to :data:`OPENMP_WAIT_POLICY` unless the environment sets it."""
    os.environ.setdefault("OMP_WAIT_POLICY", OPENMP_WAIT_POLICY)


#: BLAS threads of the dbt process. A BLAS product's last bits depend on how many threads split
#: it (the recommender evaluations' bootstrap intervals: 19 of 35 differ between one and two),
#: and the count is the whole process's: scikit-learn's KMeans and top_k_dot set it to one
#: while they run, so with ``dbt build --threads 2`` a model running beside them got another
#: count from build to build, and other last bits (docs/structure.md). One thread for every
#: model: the same input gives the same bits whatever runs beside it.
BLAS_THREADS = 1


def fix_blas_threads(threads: int = BLAS_THREADS) -> None:
    """Set the process's BLAS thread count for the rest of the run (called, not entered, the
    limit stays; OpenMP's count is per thread and left as it is)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads, user_api="blas")


def load_model_packages(packages: Sequence[str] = MODEL_PACKAGES) -> None:
    """Import ``packages`` now, in this thread (see :data:`MODEL_PACKAGES`)."""
    for name in packages:
        importlib.import_module(name)


def freeze_loaded_objects() -> None:
    """Move every object Python's cyclic garbage collector tracks now into its permanent
    generation (``gc.freeze``), so later collections no longer walk them.

    Inside dbt this runs once, when the first Python model imports this module: what exists then
    is dbt's parsed project and the ML packages just imported, which live as long as the run.
    Every full collection during the Python models walked all of it (about 0.7 % of a 10M
    build's CPU saved, measured in benchmarks.md, eighteenth pass). Reference counting still
    frees frozen objects; only a cycle among them would stay until the run ends. Nothing
    computed changes.
    """
    gc.freeze()


if running_in_dbt():
    log_to_dbt()
    quiet_openmp_threads()
    load_model_packages()
    fix_blas_threads()
    freeze_loaded_objects()

"""Helpers for the thin dbt Python models: read relations as Arrow, read typed config, and send
the package's log lines to dbt's log.

The package logs with the standard :mod:`logging` module (``logging.getLogger(__name__)``).
Every dbt Python model imports this module; when it runs inside dbt, :func:`log_to_dbt` (called
on import) forwards the records of the ``amazing_analytics`` loggers at INFO and above to dbt's
event log, so they appear in the build output and in ``logs/dbt.log`` beside the model's own
lines. Outside dbt (tests, the CLI) nothing is attached.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import pyarrow as pa

from amazing_analytics.ml.arrow_utils import as_table

PACKAGE_LOGGER = "amazing_analytics"


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


def read_arrow(relation: Any) -> pa.Table:
    """A dbt-duckdb relation (``dbt.ref(...)``) as a pyarrow Table, without pandas.

    DuckDB 2's ``relation.arrow()`` is a RecordBatchReader; older versions return a Table.
    """
    return as_table(relation.arrow())


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


if running_in_dbt():
    log_to_dbt()

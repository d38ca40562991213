"""GDPR rights as code: the personal-data metadata of the dbt project, the erasure and objection
lists (batch seeds and live lists), access requests, erasure with its proof, and the processing
register. The CLI (`amazing gdpr ...`) is a thin layer over these functions; see docs/gdpr.md."""

from amazing_analytics.gdpr.errors import (
    EXIT_BAD_INPUT,
    EXIT_NO_DATA,
    EXIT_OK,
    EXIT_REBUILD_FAILED,
    EXIT_TRACE_FOUND,
    EXIT_WAREHOUSE_BUSY,
    GdprError,
    WarehouseBusyError,
)

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_NO_DATA",
    "EXIT_OK",
    "EXIT_REBUILD_FAILED",
    "EXIT_TRACE_FOUND",
    "EXIT_WAREHOUSE_BUSY",
    "GdprError",
    "WarehouseBusyError",
]

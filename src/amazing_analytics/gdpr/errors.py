"""Errors and exit codes of the GDPR commands (documented in docs/gdpr.md; scripts rely on them)."""

from __future__ import annotations

EXIT_OK = 0
#: verify found a trace of the person (the output names where).
EXIT_TRACE_FOUND = 1
#: bad input: not a user id, no manifest, no warehouse, an unreadable file.
EXIT_BAD_INPUT = 2
#: access: the warehouse holds no data about this id.
EXIT_NO_DATA = 3
#: a dbt build holds the warehouse (DuckDB allows one writer, and no reader beside it).
EXIT_WAREHOUSE_BUSY = 4
#: erase --rebuild: the dbt build failed (the request is recorded; run the build again).
EXIT_REBUILD_FAILED = 5


class GdprError(Exception):
    """A failure the user can act on; the CLI prints it without a traceback."""

    exit_code = EXIT_BAD_INPUT


class WarehouseBusyError(GdprError):
    """The warehouse file is locked by another process (normally a running `dbt build`)."""

    exit_code = EXIT_WAREHOUSE_BUSY


def parse_user_id(text: str) -> int:
    """A shopper id as the warehouse stores it: a positive integer."""
    value = text.strip()
    if not value.isdigit() or int(value) <= 0:
        raise GdprError(f"'{text}' is not a user id: a user id is a positive integer")
    return int(value)

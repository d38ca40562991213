"""Run a package function in a child Python process, for the dbt Python models whose work holds
Python's lock (the GIL) without needing it.

dbt-duckdb runs every Python model in the dbt process, one thread per dbt thread. A C extension
that keeps the GIL through a long computation stops every other Python model of the build for
that time. statsforecast's ETS and Theta optimisers do (a pybind11 call: a Python loop beside
them ran at 23 % of its speed), and they are most of forecast_backtest's and sales_forecast's
time: with ``dbt build --threads 2`` the model beside them waited, one core idled, and at 10M
events forecast_feature_importance took 12.0 s instead of 3.3 s alone (docs/benchmarks.md,
fourteenth pass). In a child process they keep their own GIL.

:func:`call_in_own_process` pickles the function's name and arguments into a temporary
directory, starts ``python -m amazing_analytics.own_process DIR`` with this interpreter and
environment, and returns the pickled result. The child loads the model packages and sets BLAS
to the dbt process's thread count as dbt_io does in dbt
(:data:`~amazing_analytics.dbt_io.BLAS_THREADS`: the same bits as in the dbt process), collects
the package's log records (INFO and above) and sends them back, where they are logged
again under their own logger names (so they reach dbt's log as if the function had run in the
dbt process). An exception in the function is raised again in the caller, with its type when it
can be pickled; a child that dies without a result (killed for memory, a crash) raises a
RuntimeError naming its exit code and the end of its error output.

The cost: the child's imports (about 1.5 s for the forecasting packages) and pickling the inputs
and the result (tens of MB for the forecasting models).
"""

from __future__ import annotations

import importlib
import logging
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from amazing_analytics.dbt_io import PACKAGE_LOGGER, fix_blas_threads, load_model_packages

_CALL = "call.pickle"
_RESULT = "result.pickle"
#: Characters of the child's error output kept in the message when it dies without a result.
STDERR_TAIL = 2000


def _function_name(function: Callable[..., Any]) -> tuple[str, str]:
    module = getattr(function, "__module__", None)
    name = getattr(function, "__qualname__", None)
    if not module or not name or "<" in name:
        raise ValueError(
            f"{function!r} cannot run in its own process: only a module-level function, found "
            "again in the child by its module and name, can"
        )
    return module, name


def _find(module: str, name: str) -> Callable[..., Any]:
    found: Any = importlib.import_module(module)
    for part in name.split("."):
        found = getattr(found, part)
    return found


def call_in_own_process(function: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    """``function(*args, **kwargs)`` computed in a child Python process (module docstring)."""
    module, name = _function_name(function)
    workdir = Path(tempfile.mkdtemp(prefix="amazing-own-process-"))
    try:
        with open(workdir / _CALL, "wb") as out:
            pickle.dump((module, name, args, kwargs), out, protocol=pickle.HIGHEST_PROTOCOL)
        child = subprocess.run(
            [sys.executable, "-m", __name__, str(workdir)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            check=False,
        )
        result_path = workdir / _RESULT
        if not result_path.exists():
            raise RuntimeError(
                f"{module}.{name} ran in its own process, which exited with code "
                f"{child.returncode} without a result; its error output ends with:\n"
                f"{child.stderr[-STDERR_TAIL:]}"
            )
        with open(result_path, "rb") as source:
            ok, value, records = pickle.load(source)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    for level, logger_name, message in records:
        logging.getLogger(logger_name).log(level, "%s", message)
    if ok:
        return value
    raise value


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[tuple[int, str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append((record.levelno, record.name, record.getMessage()))


def _picklable_error(error: BaseException) -> BaseException:
    """``error`` itself when it survives pickling, else a RuntimeError with its text."""
    try:
        pickle.loads(pickle.dumps(error))
        return error
    except Exception:
        text = "".join(traceback.format_exception_only(type(error), error)).strip()
        return RuntimeError(f"in its own process: {text}")


def main(workdir: str) -> int:
    """The child: read the call, run it, write (ok, result or exception, log records)."""
    load_model_packages()  # as the dbt process: BLAS is limited in the libraries loaded by then
    fix_blas_threads()
    collect = _Collect()
    logger = logging.getLogger(PACKAGE_LOGGER)
    logger.addHandler(collect)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    folder = Path(workdir)
    with open(folder / _CALL, "rb") as source:
        module, name, args, kwargs = pickle.load(source)
    try:
        outcome: tuple[bool, Any] = (True, _find(module, name)(*args, **kwargs))
    except Exception as error:
        traceback.print_exc()
        outcome = (False, _picklable_error(error))
    partial = folder / (_RESULT + ".part")
    with open(partial, "wb") as out:
        pickle.dump((*outcome, collect.records), out, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(partial, folder / _RESULT)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))

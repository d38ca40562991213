"""own_process.call_in_own_process: a package function computed in a child Python process (the
forecasting models' statsforecast work, which holds Python's lock), with the same result, errors
and log lines as in the caller's process."""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading

import numpy as np
import pyarrow as pa
import pytest
from threadpoolctl import threadpool_info

from amazing_analytics.calendar import public_holidays
from amazing_analytics.ml.forecasting import build_backtest, build_feature_importance
from amazing_analytics.ml.recommend.bounds import TrainingBounds, sample_users
from amazing_analytics.own_process import _picklable_error, call_in_own_process


def test_the_function_runs_in_another_process_and_returns_what_it_returns_here() -> None:
    assert call_in_own_process(os.getpid) != os.getpid()
    ids = np.arange(1000, 0, -1)
    assert np.array_equal(
        call_in_own_process(sample_users, ids, 17, seed=5), sample_users(ids, 17, 5)
    )
    table = call_in_own_process(public_holidays, "DE", 2019, 2020)
    assert isinstance(table, pa.Table) and table.num_rows > 0
    assert table.equals(public_holidays("DE", 2019, 2020))


def test_a_statsforecast_backtest_is_the_same_table_in_the_child() -> None:
    """The use it was made for: forecast_backtest's ETS and Theta fits, bit for bit."""
    days = 70
    last = dt.date(2020, 3, 1)
    week = np.array([5.0, 10.0, 15.0, 20.0, 25.0, 30.0, 40.0])
    revenue = np.tile(week, days // 7) * np.linspace(1.0, 1.3, days)
    daily = pa.table(
        {
            "series_id": ["all"] * days,
            "date": pa.array([last - dt.timedelta(days=days - 1 - i) for i in range(days)]),
            "revenue": revenue,
            "units": pa.array(np.round(revenue / 5).astype(np.int64)),
            "views": pa.array(np.round(revenue * 2).astype(np.int64)),
            "price_index": np.ones(days),
        }
    )
    here = build_backtest(daily, 7, 3, 7, 42, models="auto_ets auto_theta")
    there = call_in_own_process(build_backtest, daily, 7, 3, 7, 42, models="auto_ets auto_theta")
    assert here.num_rows > 0 and set(here.column("model").to_pylist()) >= {"auto_ets"}
    assert there.equals(here)


def test_blas_runs_on_the_dbt_process_thread_count_in_the_child() -> None:
    """The child loads the model packages and sets BLAS as dbt_io does inside dbt (one
    thread), whatever the caller's count: the same bits as in the dbt process."""
    counts = {
        info["num_threads"]
        for info in call_in_own_process(threadpool_info)
        if info["user_api"] == "blas"
    }
    assert counts == {1}


def test_an_error_comes_back_with_its_type_and_message() -> None:
    with pytest.raises(ValueError, match="window_days must be a whole number >= 0"):
        call_in_own_process(TrainingBounds, window_days=-1)


def test_an_error_that_cannot_be_pickled_is_sent_back_as_its_text() -> None:
    error = ValueError("the lock", threading.Lock())  # a lock cannot be pickled
    sent = _picklable_error(error)
    assert type(sent) is RuntimeError
    assert str(sent).startswith("in its own process: ValueError: ('the lock', <unlocked")
    plain = ValueError("plain")
    assert _picklable_error(plain) is plain


def test_a_child_that_dies_without_a_result_is_a_clear_error() -> None:
    with pytest.raises(RuntimeError, match="exited with code 3 without a result"):
        call_in_own_process(os._exit, 3)


def test_the_package_log_lines_are_logged_again_in_the_caller(
    caplog: pytest.LogCaptureFixture,
) -> None:
    empty = pa.table(
        {
            "series_id": pa.array([], pa.string()),
            "date": pa.array([], pa.date32()),
            "revenue": pa.array([], pa.float64()),
            "units": pa.array([], pa.int64()),
            "views": pa.array([], pa.int64()),
            "price_index": pa.array([], pa.float64()),
        }
    )
    with caplog.at_level(logging.INFO, logger="amazing_analytics"):
        direct = build_feature_importance(empty, horizon=28, seed=1)
        here = [(r.name, r.levelno, r.getMessage()) for r in caplog.records]
        caplog.clear()
        child = call_in_own_process(build_feature_importance, empty, horizon=28, seed=1)
        there = [(r.name, r.levelno, r.getMessage()) for r in caplog.records]
    assert child.equals(direct) and child.num_rows == 0
    assert any(level == logging.WARNING and "left empty" in text for _, level, text in here)
    assert there == here


def test_only_a_module_level_function_can_run_in_its_own_process() -> None:
    with pytest.raises(ValueError, match="only a module-level function"):
        call_in_own_process(lambda: 1)

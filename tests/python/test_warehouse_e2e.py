"""End-to-end: `dbt build` on hand-made dirty files, on generated data and on the real excerpts.

Every build must reconcile line by line (input = clean + quarantined + duplicates + erased +
past retention),
and each defect must land in the imputation or quarantine reason meant for it.
"""

from __future__ import annotations

import datetime as dt
import gzip
import shutil
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from amazing_analytics.warehouse import MAIN_MARTS
from conftest import Build, run_dbt

HEADER = (
    b"event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session"
)
S1 = "26dd6e6e-4dac-4778-8d2c-92e149dab885"
S2 = "49e8d843-adf3-428b-a2c3-fe8bc6a307c9"
S3 = "8adff31e-2051-4894-9758-224bfa8aec18"
CAT = "2053013555631882655"


def line(*fields: str) -> bytes:
    return ",".join(fields).encode("ascii")


# (raw line, expected outcome). Outcomes: "clean", "duplicate", or "quarantine:<reason>".
BOM_CRLF_FILE = [
    (
        line(
            "2019-10-01 10:00:00 UTC",
            "view",
            "100",
            CAT,
            "electronics.smartphone",
            "samsung",
            "100.00",
            "1",
            S1,
        ),
        "clean",
    ),
    (
        line(
            "2019-10-01 10:01:00 UTC",
            "cart",
            "100",
            CAT,
            "electronics.smartphone",
            "samsung",
            "100.00",
            "1",
            S1,
        ),
        "clean",
    ),
    (
        line(
            "2019-10-01 10:01:00 UTC",
            "cart",
            "100",
            CAT,
            "electronics.smartphone",
            "samsung",
            "100.00",
            "1",
            S1,
        ),
        "duplicate",
    ),
    (line("2019-10-01 10:02:00 UTC", "purchase", "100", CAT, "", "", "0", "1", S1), "clean"),
]
MESSY_FILE = [
    (
        b"2019-10-02 11:00:00 UTC,view,200,"
        + CAT.encode()
        + b",kids.toys,caf\xe9,15.50,2,"
        + S2.encode(),
        "clean",
    ),
    (b"2019-10-02 11:00:05 UTC,view,201,,,\xc3\xa9clair,20.00,2," + S2.encode(), "clean"),
    (
        line("2019-10-02 11:01:00 UTC", "click", "200", CAT, "kids.toys", "lego", "15.50", "2", S2),
        "quarantine:unknown_event_type",
    ),
    (
        line("2019-10-02 11:02:00 UTC", "view", "200", CAT, "kids.toys", "lego", "15.50", "", S2),
        "quarantine:missing_user_id",
    ),
    (
        line("2019-10-02 11:03:00 UTC", "view", "", CAT, "kids.toys", "lego", "15.50", "2", S2),
        "quarantine:missing_product_id",
    ),
    (
        line("2019-10-02 11:04:00 UTC", "view", "abc", CAT, "kids.toys", "lego", "15.50", "2", S2),
        "quarantine:invalid_product_id",
    ),
    (
        line("2019-10-02 11:04:30 UTC", "view", "-5", CAT, "kids.toys", "lego", "15.50", "2", S2),
        "quarantine:invalid_product_id",
    ),
    (
        line(
            "2019-10-02 11:05:00 UTC", "view", "200", CAT, "kids.toys", "lego", "15.50", "xyz", S2
        ),
        "quarantine:invalid_user_id",
    ),
    (
        line("2019-13-45 99:00:00 UTC", "view", "200", CAT, "kids.toys", "lego", "15.50", "2", S2),
        "quarantine:invalid_event_time",
    ),
    (
        line("1999-01-01 00:00:00 UTC", "view", "200", CAT, "kids.toys", "lego", "15.50", "2", S2),
        "quarantine:invalid_event_time",
    ),
    (line("2019-10-02 11:06:00 UTC", "view", "200", "1", "9"), "quarantine:malformed_line"),
    (line("2019-10-02 11:06:00 UTC", "view", "200", "1", "9"), "duplicate"),
    (
        line(
            "2019-10-02 11:06:30 UTC",
            "view",
            "200",
            CAT,
            "kids.toys",
            "lego",
            "15.50",
            "2",
            S2,
            "extra",
        ),
        "quarantine:malformed_line",
    ),
    (
        line("2019-10-02 11:07:00 UTC", "view", "300", CAT, "kids.toys", "lego", "0", "3", S3),
        "quarantine:invalid_price",
    ),
    (
        line(
            "2019-10-02 11:08:00 UTC", "view", "200", CAT, "kids.toys", "lego", "25000.00", "2", S2
        ),
        "clean",
    ),
    (
        line("2019-10-02 11:09:00 UTC", "view", "200", CAT, "kids.toys", "lego", "", "2", S2),
        "clean",
    ),
    (
        line("2019-10-02 11:10:00 UTC", "view", "200", CAT, "kids.toys", "lego", "12abc", "2", S2),
        "clean",
    ),
    (
        line("2019-10-02 12:00:00 UTC", "view", "200", CAT, "kids.toys", "lego", "15.50", "4", ""),
        "clean",
    ),
    (
        line("2019-10-02 12:10:00 UTC", "cart", "200", CAT, "kids.toys", "lego", "15.50", "4", ""),
        "clean",
    ),
    (
        line("2019-10-02 13:00:00 UTC", "view", "200", CAT, "kids.toys", "lego", "15.50", "4", ""),
        "clean",
    ),
]
GZIP_FILE = [
    (
        line(
            "2019-10-03 09:00:00 UTC",
            "view",
            "100",
            CAT,
            "electronics.smartphone",
            "samsung",
            "110.00",
            "5",
            S3,
        ),
        "clean",
    ),
    (
        line(
            "2019-10-03 09:00:00 UTC",
            "view",
            "100",
            CAT,
            "electronics.smartphone",
            "samsung",
            "110.00",
            "5",
            S3,
        ),
        "duplicate",
    ),
]
ALL_LINES = BOM_CRLF_FILE + MESSY_FILE + GZIP_FILE


def write_dirty_files(folder: Path) -> str:
    """The files a real export can contain; returns the glob that matches all of them."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "a_bom_crlf.csv").write_bytes(
        b"\xef\xbb\xbf" + b"\r\n".join([HEADER] + [raw for raw, _ in BOM_CRLF_FILE]) + b"\r\n"
    )
    # latin-1 and UTF-8 bytes side by side, a blank line in the middle, no final newline
    messy = (
        [HEADER] + [raw for raw, _ in MESSY_FILE[:5]] + [b""] + [raw for raw, _ in MESSY_FILE[5:]]
    )
    (folder / "b_messy.csv").write_bytes(b"\n".join(messy))
    (folder / "c_header_only.csv").write_bytes(HEADER + b"\n")
    (folder / "d_empty.csv").write_bytes(b"")
    with gzip.open(folder / "e_compressed.csv.gz", "wb") as handle:
        handle.write(b"\n".join([HEADER] + [raw for raw, _ in GZIP_FILE]) + b"\n")
    return str(folder / "*.csv*")


def count_data_lines(path: Path) -> int:
    """Independent count of data lines: non-blank lines after the header."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        lines = handle.read().splitlines()
    return sum(1 for raw in lines[1:] if raw.strip())


def assert_reconciles(build: Build, expected_input: int) -> dict[str, int]:
    checks = build.checks()
    assert checks["input_rows"] == expected_input
    assert checks["unreconciled_rows"] == 0
    assert checks["input_rows"] == (
        checks["clean_rows"]
        + checks["quarantined_rows"]
        + checks["duplicate_rows"]
        + checks["gdpr_erased_rows"]
        + checks["retention_dropped_rows"]
    )
    assert checks["clean_rows"] == build.scalar("select count(*) from staging.stg_events")
    assert checks["quarantined_rows"] == build.scalar(
        "select count(*) from staging.events_quarantine"
    )
    return checks


def test_dirty_files_reconcile_and_land_in_the_right_reason(
    tmp_path: Path, dbt_project: Path, build_events: Callable[..., Build]
) -> None:
    events_glob = write_dirty_files(tmp_path / "dirty")
    build = build_events(dbt_project, events_glob)

    outcomes = Counter(outcome for _, outcome in ALL_LINES)
    checks = assert_reconciles(build, len(ALL_LINES))
    assert checks["clean_rows"] == outcomes["clean"]
    assert checks["duplicate_rows"] == outcomes["duplicate"]
    reasons = dict(
        build.query("select reject_reason, count(*) from staging.events_quarantine group by 1")
    )
    expected_reasons = {
        o.split(":", 1)[1]: n for o, n in outcomes.items() if o.startswith("quarantine:")
    }
    assert reasons == expected_reasons
    for reason, n in expected_reasons.items():
        assert checks[f"quarantine_{reason}"] == n

    # every file is listed, the header-only and the empty one with zero lines
    per_file = {
        Path(f).name: (rows, empty)
        for f, rows, empty in build.query(
            "select source_file, input_rows, is_empty_file from marts.data_quality_by_file"
        )
    }
    assert per_file == {
        "a_bom_crlf.csv": (4, False),
        "b_messy.csv": (len(MESSY_FILE), False),
        "c_header_only.csv": (0, True),
        "d_empty.csv": (0, True),
        "e_compressed.csv.gz": (2, False),
    }
    assert checks["files_read"] == 5 and checks["empty_files"] == 2

    # imputations: price and category from the product's last valid values at or before the event
    prices = dict(
        build.query(
            "select price_imputation_reason, list(distinct price)::varchar from staging.stg_events "
            "where price_imputation_reason is not null group by 1"
        )
    )
    assert prices == {
        "non_positive": "[100.00]",
        "above_max": "[15.50]",
        "missing": "[15.50]",
        "non_numeric": "[15.50]",
    }
    assert (
        build.scalar(
            "select category_code from staging.stg_events where product_id = 100 and event_type = 'purchase'"
        )
        == "electronics.smartphone"
    )
    assert checks["category_code_imputed"] == 1
    assert checks["brand_imputed"] == 1
    # encodings: latin-1 and UTF-8 bytes both come out as the right text
    brands = {b for (b,) in build.query("select distinct brand from staging.stg_events")}
    assert {"café", "éclair"} <= brands
    # three sessionless events of user 4: a 50-minute gap splits them into two derived sessions
    derived = build.query(
        "select session_id, count(*) from staging.stg_events where user_id = 4 group by 1 order by 2 desc"
    )
    assert [n for _, n in derived] == [2, 1]
    assert checks["session_id_derived"] == 3
    # the unreadable lines keep their raw text and line number
    malformed = build.query(
        "select line_number, raw_line from staging.events_quarantine "
        "where reject_reason = 'malformed_line' order by line_number"
    )
    assert [n for n, _ in malformed] == [13, 15]
    assert malformed[0][1] == "2019-10-02 11:06:00 UTC,view,200,1,9"

    # far too few shoppers for the ML: documented fallbacks, a clear WARN in the log, no crash
    assert build.query("select status from marts.segmentation_quality") == [("fallback",)]
    message = build.scalar("select message from marts.segmentation_quality")
    # 4 shoppers, 1 of them with enough views to be fitted
    assert "needs at least" in message and "only 1 of the 4" in message
    methods = build.query("select distinct segmentation_method from marts.customer_segments")
    assert methods == [("rfm_fallback",)]
    segments = dict(build.query("select user_id, segment_name from marts.customer_segments"))
    rfm = dict(build.query("select user_id, rfm_segment from marts.customer_rfm"))
    assert all(segments[user] == name for user, name in rfm.items())
    assert segments[4] == "Visitors without an order (not segmented)"
    assert build.scalar("select status from ml.propensity_model") == "not_trained"
    assert build.scalar("select count(*) from marts.customer_propensity") == 0
    assert "WARN" in build.output and "warn_propensity_model_not_trained" in build.output
    assert "warn_segmentation_fell_back_to_rfm" in build.output
    # ... and for the recommenders: no temporal split, global popularity serves, flagged
    evaluation = build.query(
        "select model, status, is_selected, message from marts.recommender_evaluation"
    )
    assert len(evaluation) == 1 and evaluation[0][:3] == ("popularity", "fallback", True)
    assert "too little data" in evaluation[0][3]
    assert "warn_recommender_not_evaluated" in build.output
    recommended = build.query(
        "select distinct model, reason from marts.recommendations order by all"
    )
    assert {model for model, _ in recommended} == {"popularity"}


def test_gdpr_erasure_reaches_every_output(
    tmp_path: Path, dbt_project: Path, build_events: Callable[..., Build]
) -> None:
    events_glob = write_dirty_files(tmp_path / "dirty")
    # user 2 has clean, quarantined and unreadable lines; user 5 only a line and its duplicate
    (dbt_project / "seeds" / "gdpr_erasure_requests.csv").write_text(
        "user_id,requested_at,request_reference\n2,2020-05-01 00:00:00,REQ-1\n5,2020-05-02 00:00:00,REQ-2\n"
    )
    build = build_events(dbt_project, events_glob)

    user_lines = [raw for raw, _ in ALL_LINES if raw.split(b",")[7:8] in ([b"2"], [b"5"])]
    # the unreadable line with user "xyz" is not erased: it names no erased user
    checks = assert_reconciles(build, len(ALL_LINES))
    assert checks["gdpr_erased_rows"] == len(user_lines)
    for table in (
        "staging.stg_events",
        "marts.sessions",
        "marts.orders",
        "marts.customers",
        "marts.customer_features",
        "intermediate.int_interactions",
        "marts.user_embeddings",
        "marts.recommendations",
        "marts.campaign_audiences",
    ):
        assert build.scalar(f"select count(*) from {table} where user_id in (2, 5)") == 0, table
    assert (
        build.scalar(
            "select count(*) from staging.events_quarantine where user_id in ('2', '5') "
            "or list_has_any(string_split(raw_line, ','), ['2', '5'])"
        )
        == 0
    )
    assert (
        build.scalar("select count(*) from staging.base_events_parsed where user_id in (2, 5)") == 0
    )


def test_generated_demo_data_builds_and_reconciles(
    tmp_path: Path, dbt_project: Path, build_events: Callable[..., Build]
) -> None:
    from amazing_analytics.generate import generate_events

    summary = generate_events(40_000, 7, tmp_path / "demo")
    # one active buyer objects to personalisation (GDPR art. 21)
    opted_out = duckdb.sql(
        f"select user_id from read_csv('{tmp_path / 'demo'}/*.csv.gz') where event_type = 'purchase' "
        "group by user_id order by count(*) desc, user_id limit 1"
    ).fetchall()[0][0]
    (dbt_project / "seeds" / "gdpr_personalisation_opt_outs.csv").write_text(
        f"user_id,opted_out_at\n{opted_out},2020-01-01 00:00:00\n"
    )
    build = build_events(dbt_project, str(tmp_path / "demo" / "*.csv.gz"))

    expected = sum(count_data_lines(path) for path in summary.files)
    assert expected == summary.events_written
    checks = assert_reconciles(build, expected)
    # the generator's defects are all found and handled
    for check in (
        "duplicate_rows",
        "category_code_imputed",
        "category_code_missing",
        "brand_missing",
        "price_imputed_non_positive",
        "session_id_derived",
        "sessions_shared_by_users",
        "sessions_inconsistent_times",
    ):
        assert checks[check] > 0, check
    assert checks["quarantined_rows"] < 0.01 * checks["input_rows"]
    # the ground truth is beside the data, never read by the warehouse
    sources = {
        Path(f).parent
        for (f,) in build.query("select distinct source_file from staging.stg_events")
    }
    assert sources == {tmp_path / "demo"}
    kpi = build.query("select sum(order_count), sum(revenue) from marts.kpi_daily")[0]
    assert kpi[0] > 0 and kpi[1] > 0

    # recommendations: every model evaluated on the temporal split with intervals, exactly one
    # serves, and it is the one the evidence rule picks (popularity below the minimum of users)
    from amazing_analytics.ml.recommend.models import MODEL_NAMES
    from amazing_analytics.ml.recommend.selection import Interval, select_by_evidence

    rows = build.query(
        "select model, value, ci_low, ci_high, user_count from marts.recommender_evaluation "
        "where slice_type = 'all' and metric = 'ndcg'"
    )
    assert {row[0] for row in rows} == set(MODEL_NAMES)
    assert all(low <= value <= high for _, value, low, high, _ in rows)
    intervals = {name: Interval(value, low, high) for name, value, low, high, _ in rows}
    enough = rows[0][4] >= 200  # var recommender_min_test_users
    expected = select_by_evidence(MODEL_NAMES, intervals)[0] if enough else "popularity"
    selected = build.query(
        "select distinct model from marts.recommender_evaluation where is_selected"
    )
    assert selected == [(expected,)]
    # the session recommender: every session model on the next-item protocol, one serves, by
    # the same rule (popularity below session_eval_min_sessions), its neighbours are served
    from amazing_analytics.ml.recommend.session import SESSION_MODELS

    rows = build.query(
        "select model, value, ci_low, ci_high, session_count, status "
        "from marts.session_recommender_evaluation "
        "where slice_type = 'all' and metric = 'hit_rate'"
    )
    assert {row[0] for row in rows} == set(SESSION_MODELS)
    evaluated = {r[0]: Interval(r[1], r[2], r[3]) for r in rows if r[1] is not None}
    sessions = max(row[4] for row in rows)
    assert sessions > 0
    enough = {row[0]: row[5] for row in rows}["popularity"] == "ok"
    expected = select_by_evidence(SESSION_MODELS, evaluated)[0] if enough else "popularity"
    selected = build.query(
        "select distinct model from marts.session_recommender_evaluation where is_selected"
    )
    assert selected == [(expected,)]
    assert build.scalar("select count(*) from marts.session_item_neighbours") > 0
    # every active customer gets exactly recommender_top_n products, ranked 1..10
    lists = build.query(
        "select count(*), min(rank), max(rank), count(distinct product_id) "
        "from marts.recommendations group by user_id"
    )
    assert lists and all(row == (10, 1, 10, 10) for row in lists)
    active = build.scalar("select count(*) from marts.customer_features where recency_days <= 365")
    assert len(lists) == active
    # the opt-out gets the non-personalised list and is in no profile, embedding or audience
    mine = build.query(
        f"select distinct is_personalised, reason from marts.recommendations where user_id = {opted_out}"
    )
    assert mine == [(False, "Popular right now")]
    for table in (
        "intermediate.int_interactions",
        "marts.user_embeddings",
        "marts.campaign_audiences",
    ):
        assert build.scalar(f"select count(*) from {table} where user_id = {opted_out}") == 0, table
    assert (
        build.scalar(
            "select count(*) from marts.recommendations where is_personalised and user_id = "
            f"{opted_out}"
        )
        == 0
    )
    # no product the customer already bought, outside repeat-purchase categories
    rebought = build.scalar(
        "select count(*) from marts.recommendations r "
        "join intermediate.int_interactions i on i.split = 'serving' and i.user_id = r.user_id "
        "and i.product_id = r.product_id and i.purchase_count > 0 "
        "join intermediate.int_recommender_product_features f on f.product_id = r.product_id "
        "where r.is_personalised and not f.is_repeat_purchase_category"
    )
    assert rebought == 0
    # every product, even one without interactions, has an embedding; similar products exist
    assert build.scalar("select count(*) from marts.item_embeddings") == build.scalar(
        "select count(*) from marts.products"
    )
    methods = dict(build.query("select method, count(*) from marts.similar_products group by 1"))
    assert methods.get("embedding", 0) > 0 and methods.get("bought_together", 0) > 0
    assert build.scalar("select count(*) from marts.campaign_audiences") > 0

    # the co-visitation pairs do not depend on how many product chunks aggregate them, and what
    # the session evaluation computes itself with var session_eval_split_at (its pairs, its
    # history) is, at the default split, what it reads from int_product_cooccurrence and
    # int_interactions: rebuilt on a copy in three chunks, with the split named, every row is
    # the same. The same run bounds the drift's shoppers (var drift_sample_shoppers).
    test_start = build.scalar(
        "select max(event_date) + 1 - 14 from staging.stg_events"  # var recommender_eval_days
    )
    copy = tmp_path / "chunked.duckdb"
    shutil.copy2(build.warehouse, copy)
    pair_models = (
        "intermediate.int_product_cooccurrence",
        "intermediate.int_session_item_neighbours_train",
        "marts.session_item_neighbours",
        "intermediate.int_session_evaluation_history",
    )
    chunked = run_dbt(
        dbt_project,
        str(tmp_path / "demo" / "*.csv.gz"),
        "run",
        "--select",
        *(name.split(".")[1] for name in pair_models),
        "session_recommender_evaluation",
        "int_propensity_drift_snapshots",
        "prediction_drift",
        "--vars",
        f'{{recommender_pair_chunks: 3, session_eval_split_at: "{test_start} 00:00:00", '
        f"drift_sample_shoppers: {DRIFT_SAMPLE}}}",
        warehouse=copy,
    )
    assert chunked.returncode == 0, chunked.output[-6000:]
    compiled = dbt_project / "target" / "run" / "amazing" / "models" / "intermediate"
    cooccurrence = (compiled / "recommendations" / "int_product_cooccurrence.sql").read_text()
    assert "product_id % 3 = 2" in cooccurrence and "product_id % 3 = 3" not in cooccurrence
    own = (compiled / "recommendations" / "int_session_item_neighbours_train.sql").read_text()
    assert "neighbour_window" in own and "product_id % 3 = 2" in own
    history = (compiled / "recommendations" / "int_session_evaluation_history.sql").read_text()
    assert "group by user_id, product_id" in history
    # every chunk holds pairs of both splits
    assert build.query(
        "select split, count(distinct product_id % 3) from intermediate.int_product_cooccurrence "
        "group by split order by split"
    ) == [("evaluation_train", 3), ("serving", 3)]
    for table in pair_models:
        sql = f"select * from {table} order by all"
        assert chunked.query(sql) == build.query(sql), table
    # with the split named, the session evaluation fits its own LightFM instead of ranking by
    # the batch evaluation's (recommender_evaluation_embeddings): its embedding models are
    # still evaluated, and the other models' rows are the same
    evaluated = (
        "select model, slice_type, slice, metric, value, ci_low, ci_high "
        "from marts.session_recommender_evaluation where {} order by all"
    )
    others = "model not in ('embedding', 'hybrid') and metric <> 'milliseconds_per_list'"
    assert chunked.query(evaluated.format(others)) == build.query(evaluated.format(others))
    embedding = "model = 'embedding' and metric = 'hit_rate' and value is not null"
    assert chunked.query(evaluated.format(embedding)) and build.query(evaluated.format(embedding))
    # the drift's bound: exactly that many shoppers, each at every cut-off the whole build has
    # them at, with the same features; the scores' rows count them, the segments' are unchanged
    drift = "select * from intermediate.int_propensity_drift_snapshots order by all"
    everyone, sampled = build.query(drift), chunked.query(drift)
    shoppers = {row[1] for row in sampled}  # (as_of_date, user_id, ...)
    assert len({row[1] for row in everyone}) > DRIFT_SAMPLE == len(shoppers)
    assert sampled == [row for row in everyone if row[1] in shoppers]
    scored = (
        "select window_end_date, rows from marts.prediction_drift "
        "where model = 'purchase_propensity' and category = 'all' and not is_reference "
        "order by all"
    )
    per_cut_off = Counter(row[0] for row in sampled)
    assert chunked.query(scored) == sorted(per_cut_off.items())
    segments = (
        "select * from marts.prediction_drift where model = 'customer_segmentation' order by all"
    )
    assert chunked.query(segments) == build.query(segments)

    # the models whose sums of doubles are exact (macros/exact_aggregates.sql) give the same
    # bits when the rows they add come in another order: rebuilt on a copy whose inputs are
    # stored in reverse, every row is identical (with plain sums: 4,880 rows of
    # int_category_price_daily, 3 of segment_profiles and 20 of int_model_fairness_slices differ)
    reordered = tmp_path / "reordered" / "amazing.duckdb"
    reordered.parent.mkdir()
    shutil.copy2(build.warehouse, reordered)
    with duckdb.connect(str(reordered)) as con:
        for table in ORDER_FREE_INPUTS:
            con.execute(
                f"create or replace table {table} as select * from {table} order by rowid desc"
            )
    rebuilt = run_dbt(
        dbt_project,
        str(tmp_path / "demo" / "*.csv.gz"),
        "run",
        "--select",
        *(name.split(".")[1] for name in ORDER_FREE_MODELS),
        warehouse=reordered,
    )
    assert rebuilt.returncode == 0, rebuilt.output[-6000:]
    for table in ORDER_FREE_MODELS:
        sql = f"select * from {table} order by all"
        got, want = rebuilt.query(sql), build.query(sql)
        differing = Counter(map(repr, got)) - Counter(map(repr, want))  # rows hold lists
        assert got == want, f"{table}: {sum(differing.values())} rows differ"


#: var drift_sample_shoppers in the rerun: fewer shoppers than the 40k events have.
DRIFT_SAMPLE = 300

#: Models with exact sums of doubles, and the stored tables whose rows they add.
ORDER_FREE_MODELS = (
    "intermediate.int_category_price_daily",
    "marts.segment_profiles",
    "intermediate.int_model_fairness_slices",
)
ORDER_FREE_INPUTS = (
    "staging.base_events_classified",
    "marts.customer_features",
    "marts.forecast_backtest",
)


def test_same_input_gives_the_same_marts(
    tmp_path: Path, build_events: Callable[..., Build]
) -> None:
    from conftest import copy_project

    events_glob = write_dirty_files(tmp_path / "dirty")
    first = build_events(copy_project(tmp_path / "one"), events_glob)
    second = build_events(copy_project(tmp_path / "two"), events_glob)
    for table in MAIN_MARTS:
        sql = f"select * from {table} order by all"
        assert first.query(sql) == second.query(sql), table


@pytest.fixture(scope="module")
def real_build(shared_excerpts: list[Path], tmp_path_factory: pytest.TempPathFactory) -> Build:
    """One warehouse built on every real excerpt, shared by the tests that read it."""
    from conftest import copy_project, run_dbt

    project = copy_project(tmp_path_factory.mktemp("real") / "project")
    build = run_dbt(project, str(shared_excerpts[0].parent / "*.csv.gz"), "build")
    assert build.returncode == 0, build.output[-6000:]
    return build


def test_real_excerpts_reconcile_line_by_line(
    shared_excerpts: list[Path], real_build: Build
) -> None:
    build = real_build

    expected = {path.name: count_data_lines(path) for path in shared_excerpts}
    assert_reconciles(build, sum(expected.values()))
    per_file = build.query(
        "select source_file, input_rows, clean_rows + quarantined_rows + duplicate_rows + gdpr_erased_rows + retention_dropped_rows "
        "from marts.data_quality_by_file"
    )
    assert {Path(f).name: rows for f, rows, _ in per_file} == expected
    assert all(rows == accounted for _, rows, accounted in per_file)


def test_real_excerpts_session_recommender_says_there_is_not_enough_evidence(
    real_build: Build,
) -> None:
    # the default split (the last recommender_eval_days days) leaves only the few sessions of
    # 2020-02-01 to test on: the session evaluation says so, popularity serves, WARN in the log
    build = real_build
    rows = build.query(
        "select distinct model, status, message from marts.session_recommender_evaluation "
        "where is_selected and slice_type = 'all' and metric = 'hit_rate'"
    )
    assert len(rows) == 1 and rows[0][:2] == ("popularity", "not_enough_evidence")
    assert "test sessions (need 200" in rows[0][2]
    assert "warn_session_recommender_not_evaluated" in build.output
    assert build.scalar("select count(*) from marts.session_item_neighbours") > 0


def distinct_raw_lines(path: Path) -> list[list[str]]:
    with gzip.open(path, "rt", encoding="latin-1") as handle:
        rows = handle.read().splitlines()[1:]
    return [row.split(",") for row in dict.fromkeys(r for r in rows if r.strip())]


def test_real_defects_land_in_the_right_place(
    shared_excerpts: list[Path], real_build: Build
) -> None:
    build = real_build

    multicat = next(p for p in shared_excerpts if p.name.startswith("multicat_2019-10-01"))
    rows = distinct_raw_lines(multicat)
    # missing category_code: imputed from the product's earlier events, or kept as unknown
    no_category = sum(1 for r in rows if r[4] == "")
    assert no_category > 5000
    clean = build.query(
        "select count(*) filter (where is_category_code_imputed), count(*) filter (where category_code is null) "
        "from staging.stg_events where source_file = $f",
        {"f": str(multicat)},
    )[0]
    quarantined_no_category = build.scalar(
        "select count(*) from staging.events_quarantine where source_file = $f and category_code is null",
        {"f": str(multicat)},
    )
    assert clean[0] + clean[1] + quarantined_no_category == no_category
    # point in time: this file holds the excerpts' first multicat events (2019-10-01 from 00:00)
    # and none of its products has a coded line in it, so no code is known yet for them; the
    # November files' codes come later and are not used (the old rule filled 1,314 lines so)
    uncoded_products = {r[2] for r in rows if r[4] == ""}
    assert not any(r[4] for r in rows if r[2] in uncoded_products)
    assert clean[0] == 0
    # the codes the real data does get imputed (the November purchases) are codes the product
    # had at or before the event, never a later one's
    imputed_codes = "select count(*) from staging.stg_events as e where is_category_code_imputed"
    assert build.scalar(imputed_codes) > 0
    assert (
        build.scalar(
            f"{imputed_codes} and not exists (select 1 from staging.base_events_parsed as p "
            "where p.product_id = e.product_id and p.category_code = e.category_code "
            "and p.event_time <= e.event_at)"
        )
        == 0
    )
    # no bad price of the excerpts has a valid price of its product at or before it (checked on
    # the raw lines), so none is imputed: the old rule imputed 75, all from later lines
    assert (
        build.scalar(
            "select count(*) from staging.stg_events where price_imputation_reason is not null"
        )
        == 0
    )

    # zero or negative prices: imputed from the product's last valid price, else quarantined
    non_positive = sum(1 for r in rows if r[6] and float(r[6]) <= 0)
    assert non_positive > 0
    imputed = build.scalar(
        "select count(*) from staging.stg_events where source_file = $f and price_imputation_reason = 'non_positive'",
        {"f": str(multicat)},
    )
    quarantined = build.scalar(
        "select count(*) from staging.events_quarantine where source_file = $f and reject_reason = 'invalid_price'",
        {"f": str(multicat)},
    )
    assert imputed + quarantined == non_positive

    # empty sessions: every purchase of the purchases-only files gets a derived session
    for path in (p for p in shared_excerpts if "purchases_only" in p.name):
        assert all(r[8] == "" for r in distinct_raw_lines(path))
        derived, total = build.query(
            "select count(*) filter (where is_session_derived), count(*) from staging.stg_events where source_file = $f",
            {"f": str(path)},
        )[0]
        assert derived == total == 10_000
    assert build.scalar("select count(*) from marts.orders") > 20_000


def truncate_events(files: list[Path], out: Path, last_day: str) -> str:
    """Copies of the event files without any line after `last_day` (YYYY-MM-DD)."""
    out.mkdir(parents=True, exist_ok=True)
    for path in files:
        with gzip.open(path, "rt") as handle:
            header, *rows = handle.read().splitlines()
        kept = [row for row in rows if row[:10] <= last_day]
        with gzip.open(out / path.name, "wt") as handle:
            handle.write("\n".join([header, *kept]) + "\n")
    return str(out / "*.csv.gz")


def test_training_data_never_sees_past_the_cut_off(
    tmp_path: Path, build_events: Callable[..., Build]
) -> None:
    """Build once on all the data and once on the data cut at the training cut-off: the
    propensity training features and the recommenders' training interactions must be identical,
    so nothing after the cut-off can reach them. (It found staging's imputation looking ahead:
    events are now completed from their product's values at or before their time.)"""
    from amazing_analytics.generate import generate_events
    from conftest import copy_project

    summary = generate_events(
        20_000, 5, tmp_path / "demo", start=dt.date(2019, 10, 1), end=dt.date(2020, 1, 31)
    )
    as_of = "2020-01-31"
    cut_off = "2020-01-01"  # final_train snapshot: as_of - 30 days
    # the cut data keep the cut-off day; the recommenders' test window starts the day after:
    # as_of + 1 - 30 days = 2020-01-02
    variables = f"{{as_of_date: '{as_of}', recommender_eval_days: 30}}"
    full = build_events(
        copy_project(tmp_path / "full"), str(tmp_path / "demo" / "*.csv.gz"), "--vars", variables
    )
    cut = build_events(
        copy_project(tmp_path / "cut"),
        truncate_events(summary.files, tmp_path / "cut_data", cut_off),
        "--vars",
        variables,
    )
    columns = (
        "user_id, session_count, view_count, cart_count, order_count, days_active, tenure_days, "
        "days_since_last_event, days_since_last_order, views_last_7_days, views_last_30_days, "
        "carts_last_30_days, orders_last_90_days, conversion_rate, cart_abandonment_rate, revenue, average_basket"
    )
    sql = f"select {columns} from intermediate.int_customer_propensity_snapshots where snapshot = $s order by user_id"
    for snapshot in ("final_train", "evaluation_train"):
        reference = full.query(sql, {"s": snapshot})
        assert reference, snapshot
        assert cut.query(sql, {"s": snapshot}) == reference, snapshot
    # the labels are what the future holds: in the cut data there is no future, so none bought
    assert (
        full.scalar(
            "select count(*) filter (where label) from intermediate.int_customer_propensity_snapshots where snapshot = 'final_train'"
        )
        > 0
    )
    assert (
        cut.scalar(
            "select count(*) filter (where label) from intermediate.int_customer_propensity_snapshots where snapshot = 'final_train'"
        )
        == 0
    )
    # the recommenders' training split and co-occurrence are the same with or without the
    # test window's events; only the full data has a test split
    for sql in (
        "select user_id, product_id, view_count, cart_count, purchase_count, "
        "days_since_last_event, round(weight, 9) from intermediate.int_interactions "
        "where split = 'evaluation_train' order by all",
        "select product_id, other_product_id, session_count, bought_together_count "
        "from intermediate.int_product_cooccurrence where split = 'evaluation_train' order by all",
    ):
        reference = full.query(sql)
        assert reference and cut.query(sql) == reference, sql
    test_split = (
        "select count(*) from intermediate.int_interactions where split = 'evaluation_test'"
    )
    assert full.scalar(test_split) > 0 and cut.scalar(test_split) == 0


def test_only_bad_lines_leave_nothing_to_forecast_and_the_build_warns(
    tmp_path: Path, dbt_project: Path, build_events: Callable[..., Build]
) -> None:
    """Issue 9, defect 2: every line quarantined -> the forecasting marts degrade, never crash."""
    folder = tmp_path / "bad"
    folder.mkdir()
    bad = [
        line("2019-10-02 11:01:00 UTC", "click", "200", CAT, "kids.toys", "lego", "15.50", "2", S2),
        line("2019-10-02 11:02:00 UTC", "view", "", CAT, "kids.toys", "lego", "15.50", "2", S2),
    ]
    (folder / "only_bad.csv").write_bytes(b"\n".join([HEADER, *bad]) + b"\n")
    build = build_events(
        dbt_project,
        str(folder / "*.csv"),
        "--select",
        # the forecasting models and their parents (not the bias audit and exports downstream,
        # whose other parents this build leaves out); their WARN tests come by cautious selection
        "+forecast_evaluation",
        "+sales_forecast",
        "+forecast_feature_importance",
        "--indirect-selection",
        "cautious",
    )
    assert build.scalar("select count(*) from staging.stg_events") == 0
    for table in ("forecast_backtest", "sales_forecast", "forecast_feature_importance"):
        assert build.scalar(f"select count(*) from marts.{table}") == 0
    statuses = build.query("select distinct status, reason from marts.forecast_evaluation")
    assert len(statuses) == 1 and statuses[0][0] == "skipped"
    assert statuses[0][1].startswith("no data to forecast")
    assert "WARN" in build.output and "warn_forecast_not_possible" in build.output


@pytest.mark.parametrize("bad", ["-5", "'many'"])
def test_a_drift_sample_that_is_not_a_count_is_a_clear_error(
    tmp_path: Path, dbt_project: Path, bad: str
) -> None:
    """var drift_sample_shoppers (docs/scaling.md "Bounded ML") stops the build at compile time
    with its name and value, before any query."""
    result = run_dbt(
        dbt_project,
        str(tmp_path / "*.csv"),
        "compile",
        "--select",
        "int_propensity_drift_snapshots",
        "--vars",
        f"{{drift_sample_shoppers: {bad}}}",
    )
    assert result.returncode != 0
    shown = bad.strip("'")
    assert (
        "var drift_sample_shoppers must be a whole number of shoppers (0 = all), "
        f"got '{shown}'" in result.output
    )


def test_a_memory_limit_too_low_for_the_events_warns_right_after_the_read(
    tmp_path: Path, dbt_project: Path, build_events: Callable[..., Build], monkeypatch
) -> None:
    """At 100M events the default 3GB failed after 28 minutes. The test on the read warns when
    the events per GiB of DuckDB's limit exceed var max_events_per_memory_gib (the most a build
    was measured to pass with), and names the limit to set; below it, it passes."""
    events_glob = write_dirty_files(tmp_path / "dirty")
    monkeypatch.setenv("AMAZING_MEMORY_LIMIT", "1GB")  # DuckDB shows it as 953.6 MiB
    args = (
        "--select",
        "+base_events_parsed",
        "--indirect-selection",
        "cautious",
        "--store-failures",
    )
    low = build_events(dbt_project, events_glob, *args, "--vars", "{max_events_per_memory_gib: 10}")
    lines = low.scalar("select count(*) from staging.base_events_parsed")
    assert lines > 10  # 10 per GiB allows 9.3 lines at 953.6 MiB
    assert "WARN" in low.output and "warn_memory_limit_low_for_the_events" in low.output
    rows = low.query(
        "select event_count, memory_limit, suggested_memory_limit_gib, message "
        "from dbt_test__audit.warn_memory_limit_low_for_the_events"
    )
    suggested = -(-lines // 10)
    assert rows == [
        (
            lines,
            "953.6 MiB",
            suggested,
            f"{lines} events for DuckDB's memory limit of 953.6 MiB: more events per GiB than "
            "any build measured to pass (10, var max_events_per_memory_gib); set "
            f"AMAZING_MEMORY_LIMIT to at least {suggested}GiB and keep free disk for the spill "
            "(docs/scaling.md §3); beyond the machine's memory, see docs/scaling.md §4",
        )
    ]
    ample = build_events(
        dbt_project, events_glob, *args, "--vars", "{max_events_per_memory_gib: 1000}"
    )
    assert "warn_memory_limit_low_for_the_events" in ample.output
    assert "WARN=0" in ample.output
    assert ample.query(
        "select count(*) from dbt_test__audit.warn_memory_limit_low_for_the_events"
    ) == [(0,)]


def test_real_excerpts_are_exported_and_audited(real_build: Build) -> None:
    """The BI exports match their tables, and the governance marts are built, on real data."""
    import pyarrow.parquet as pq

    parquet = real_build.warehouse.parent / "exports" / "parquet"
    marts = [
        name
        for (name,) in real_build.query(
            "select table_name from information_schema.tables where table_schema = 'marts'"
        )
    ]
    for name in marts:
        rows = real_build.scalar(f"select count(*) from marts.{name}")
        assert pq.read_metadata(parquet / f"{name}.parquet").num_rows == rows, name
    assert real_build.scalar("select count(*) from marts.model_fairness_audit") > 0
    assert real_build.scalar("select count(*) from marts.feature_drift") > 0
    assert real_build.scalar("select count(*) from marts.data_quality_anomalies") > 0
    # a few days of data: prediction drift is not measured, and the build says so
    assert "warn_prediction_drift_not_measured" in real_build.output

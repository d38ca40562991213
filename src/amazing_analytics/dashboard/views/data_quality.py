"""Data quality: the audit, the reconciliation per input file, and the quarantine reasons with
examples."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from amazing_analytics.dashboard import charts, data, formatting
from amazing_analytics.dashboard.ui import chart, header, language, show_table, table_or_notice, tr
from amazing_analytics.exports import QUARANTINE_SAMPLE

#: Example lines shown per quarantine reason.
EXAMPLES_PER_REASON = 3

report = table_or_notice("data_quality_report")
if report is None:
    st.title(tr("quality.title"))
    st.stop()
counts = dict(zip(report["check_name"], report["rows_affected"], strict=True))
shares = dict(zip(report["check_name"], report["share"], strict=True))
header(
    "quality",
    input=formatting.number(counts.get("input_rows"), language()),
    kept=formatting.number(counts.get("clean_rows"), language()),
    kept_share=formatting.percent(shares.get("clean_rows"), language(), decimals=2),
    quarantined=formatting.number(counts.get("quarantined_rows"), language()),
)
chart(charts.quality_checks_chart(report, language()), "quality.audit.caption")
show_table(
    report.sort_values("sort_order")[["check_name", "rows_affected", "share", "action_taken"]],
    formats={"rows_affected": "number", "share": "percent"},
    height=300,
)

st.subheader(tr("quality.files.title"))
files = table_or_notice("data_quality_by_file")
if files is not None:
    # the file name is enough for a reader; the full path is in the mart
    files = files.assign(source_file=[Path(str(f)).name for f in files["source_file"]])
    show_table(
        files[
            [
                "source_file",
                "input_rows",
                "clean_rows",
                "quarantined_rows",
                "duplicate_rows",
                "gdpr_erased_rows",
            ]
        ],
        formats={
            c: "number"
            for c in (
                "input_rows",
                "clean_rows",
                "quarantined_rows",
                "duplicate_rows",
                "gdpr_erased_rows",
            )
        },
    )
    st.caption(tr("quality.files.caption"))

st.subheader(tr("quality.quarantine.title"))
reasons = report[(report["check_group"] == "quarantine") & (report["rows_affected"] > 0)]
if reasons.empty:
    st.info(tr("quality.quarantine.none"))
else:
    show_table(
        reasons[["check_name", "rows_affected", "share", "description"]],
        formats={"rows_affected": "number", "share": "percent"},
    )
    quarantine = data.load(QUARANTINE_SAMPLE)
    if quarantine is not None and not quarantine.empty:
        st.caption(tr("quality.quarantine.examples"))
        examples = (
            quarantine.sort_values(["reject_reason", "source_file", "line_number"])
            .groupby("reject_reason", sort=True)
            .head(EXAMPLES_PER_REASON)
        )
        examples = examples.assign(source_file=[Path(str(f)).name for f in examples["source_file"]])
        show_table(examples[["reject_reason", "source_file", "line_number", "raw_line"]])

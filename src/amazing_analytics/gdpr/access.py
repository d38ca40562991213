"""The right of access and to portability (GDPR arts. 15 and 20): every row about a person in
every personal-data table of the metadata, as JSON and CSV, an index with the purpose, lawful
basis, retention and recipients of each table, and plain-language explanations of their segment,
their purchase propensity and each recommended product."""

from __future__ import annotations

import csv
import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from amazing_analytics.gdpr import feedback_logs
from amazing_analytics.gdpr.metadata import PersonalTable
from amazing_analytics.gdpr.traces import trace_condition, warehouse_tables


@dataclass(frozen=True)
class TableExport:
    table: PersonalTable
    rows: int
    json_file: str
    csv_file: str


@dataclass
class AccessReport:
    user_id: int
    out_dir: Path
    exports: list[TableExport] = field(default_factory=list)
    explanations: list[str] = field(default_factory=list)
    #: the person's entries in the erasure and objection lists (file -> listed), for the index
    lists: dict[str, bool] = field(default_factory=dict)
    #: the recommendation API's log lines about the person (impressions, feedback on them)
    api_logs: feedback_logs.UserLogRows = field(default_factory=feedback_logs.UserLogRows)
    api_log_files: list[str] = field(default_factory=list)

    @property
    def personal_rows(self) -> int:
        """Rows about the person outside the erasure list (which only says they asked to go)."""
        held = sum(export.rows for export in self.exports if not export.table.is_erasure_list)
        return held + len(self.api_logs.impressions) + len(self.api_logs.feedback)

    @property
    def erasure_requested(self) -> bool:
        return any(export.table.is_erasure_list and export.rows for export in self.exports)


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)  # Decimal, UUID, ...


def _fetch(connection: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    cursor = connection.execute(sql)
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, (_plain(v) for v in row), strict=True)) for row in cursor.fetchall()]


def _write_table(out_dir: Path, stem: str, rows: list[dict[str, Any]]) -> tuple[str, str]:
    json_name, csv_name = f"{stem}.json", f"{stem}.csv"
    (out_dir / json_name).write_text(json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
    with open(out_dir / csv_name, "w", newline="") as handle:
        if rows:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            for row in rows:
                writer.writerow(
                    {
                        key: json.dumps(value) if isinstance(value, list | dict) else value
                        for key, value in row.items()
                    }
                )
    return json_name, csv_name


def _one(connection: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> dict | None:
    cursor = connection.execute(sql, params)
    row = cursor.fetchone()
    if row is None:
        return None
    return dict(zip([column[0] for column in cursor.description], row, strict=True))


def explain(connection: duckdb.DuckDBPyConnection, user_id: int, available: set[str]) -> list[str]:
    """Plain-language sentences about the person's segment, propensity and recommendations."""
    lines: list[str] = []
    if "marts.customer_segments" in available:
        lines += _explain_segment(connection, user_id, available)
    if "marts.customer_rfm" in available:
        lines += _explain_rfm(connection, user_id)
    if "marts.customer_propensity" in available:
        lines += _explain_propensity(connection, user_id)
    if "marts.recommendations" in available:
        lines += _explain_recommendations(connection, user_id, available)
    return lines


def _explain_segment(
    connection: duckdb.DuckDBPyConnection, user_id: int, available: set[str]
) -> list[str]:
    """The person's segment, how it was found, and its profile when built."""
    segment = _one(
        connection,
        "select segment_name, segmentation_method from marts.customer_segments where user_id = ?",
        [user_id],
    )
    if segment is None:
        return []
    how = (
        "a clustering (KMeans) of shoppers by their visits, views, carts, orders, spend and recency"
        if segment["segmentation_method"] == "kmeans"
        else "the RFM grid (recency, frequency and value of orders)"
    )
    text = f"Your segment is **{segment['segment_name']}**, found by {how}."
    if "marts.segment_profiles" in available:
        profile = _one(
            connection,
            "select customer_share, typical_price_band, top_category_families "
            "from marts.segment_profiles where segment_name = ?",
            [segment["segment_name"]],
        )
        if profile is not None and profile["customer_share"] is not None:
            text += (
                f" It holds {profile['customer_share']:.0%} of the shoppers; they typically "
                f"buy in the {profile['typical_price_band'] or 'usual'} price band"
                + (
                    f", mostly {profile['top_category_families']}."
                    if profile["top_category_families"]
                    else "."
                )
            )
    return [text]


def _explain_rfm(connection: duckdb.DuckDBPyConnection, user_id: int) -> list[str]:
    """The person's RFM group and the order facts behind it."""
    rfm = _one(
        connection,
        "select rfm_segment, rfm_segment_description, recency_days, frequency, monetary "
        "from marts.customer_rfm where user_id = ?",
        [user_id],
    )
    if rfm is None:
        return []
    return [
        f"Your order history puts you in the RFM group **{rfm['rfm_segment']}** "
        f"({rfm['rfm_segment_description']}): last order {rfm['recency_days']} days "
        f"ago, {rfm['frequency']} order(s), {rfm['monetary']} spent."
    ]


def _explain_propensity(connection: duckdb.DuckDBPyConnection, user_id: int) -> list[str]:
    """The person's purchase propensity, its decile and reasons, and what it is used for."""
    propensity = _one(
        connection,
        "select purchase_probability, propensity_decile, reason_1, reason_2, reason_3 "
        "from marts.customer_propensity where user_id = ?",
        [user_id],
    )
    if propensity is None or propensity["purchase_probability"] is None:
        return []
    reasons = [propensity[f"reason_{i}"] for i in (1, 2, 3) if propensity[f"reason_{i}"]]
    return [
        f"Our model estimates a {propensity['purchase_probability']:.0%} chance that you "
        f"buy in the next 30 days (decile {propensity['propensity_decile']} of 10; 1 is "
        "the most likely). The main reasons: "
        + ("; ".join(reasons) if reasons else "none recorded")
        + ". The score only chooses which offers you may see; no decision with legal "
        "or similar effect is taken on it (GDPR art. 22)."
    ]


def _explain_recommendations(
    connection: duckdb.DuckDBPyConnection, user_id: int, available: set[str]
) -> list[str]:
    """The products recommended to the person, each with its reason (and brand and category
    when the products are built)."""
    join_products = "marts.products" in available
    recommendations = _fetch(
        connection,
        "select r.rank, r.product_id, r.reason, r.is_personalised"
        + (
            ", p.category_code, p.brand from marts.recommendations r "
            "left join marts.products p on p.product_id = r.product_id"
            if join_products
            else " from marts.recommendations r"
        )
        + f" where r.user_id = {int(user_id)} order by r.rank",
    )
    if not recommendations:
        return []
    personalised = any(row["is_personalised"] for row in recommendations)
    lines = [
        "The products recommended to you, and why"
        + ("" if personalised else " (not personalised: you objected, or we know too little)")
        + ":"
    ]
    for row in recommendations:
        what = " ".join(str(part) for part in (row.get("brand"), row.get("category_code")) if part)
        lines.append(
            f"  {row['rank']}. product {row['product_id']}"
            + (f" ({what})" if what else "")
            + f": {row['reason']}"
        )
    return lines


def export_access(
    connection: duckdb.DuckDBPyConnection,
    tables: list[PersonalTable],
    user_id: int,
    out_dir: Path,
    *,
    write: bool = True,
    lists: dict[str, bool] | None = None,
    feedback_dir: Path | None = None,
) -> AccessReport:
    """Collect (and, with write, save under out_dir) everything held about the user, in the
    warehouse and in the API's impression and feedback logs under ``feedback_dir``."""
    report = AccessReport(
        user_id=user_id,
        out_dir=out_dir,
        lists=dict(lists or {}),
        api_logs=feedback_logs.find_user_rows(feedback_dir, user_id),
    )
    built = warehouse_tables(connection)
    found: list[tuple[PersonalTable, list[dict[str, Any]]]] = []
    for table in tables:
        columns = built.get(table.label)
        if columns is None:
            continue
        condition = trace_condition(columns, user_id, table)
        if condition is None:
            continue
        rows = _fetch(connection, f"select * from {table.relation} where {condition}")
        found.append((table, rows))
    report.explanations = explain(connection, user_id, set(built))
    held = [(table, rows) for table, rows in found if rows]
    logged = bool(report.api_logs.impressions or report.api_logs.feedback)
    if write and (logged or any(not table.is_erasure_list for table, _ in held)):
        out_dir.mkdir(parents=True, exist_ok=True)
        for table, rows in held:
            json_name, csv_name = _write_table(out_dir, table.label, rows)
            report.exports.append(TableExport(table, len(rows), json_name, csv_name))
        report.api_log_files = feedback_logs.write_access_export(report.api_logs, out_dir)
        _write_index(report)
    else:
        report.exports = [TableExport(table, len(rows), "", "") for table, rows in held]
    return report


def _write_index(report: AccessReport) -> None:
    """index.json (each table's purpose, lawful basis, retention and recipients) and
    explanations.md (the tables and the plain words) in the export's folder."""
    generated = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    index = _index(report, generated)
    (report.out_dir / "index.json").write_text(json.dumps(index, indent=2) + "\n")
    (report.out_dir / "explanations.md").write_text(_explanations_markdown(report, generated))


def _index(report: AccessReport, generated: str) -> dict[str, Any]:
    return {
        "user_id": report.user_id,
        "generated_at": generated,
        "legal_basis_of_this_export": "GDPR art. 15 (access) and art. 20 (portability)",
        "tables": [
            {
                "table": export.table.label,
                "model": export.table.name,
                "rows": export.rows,
                "what": export.table.category,
                "personal_data_columns": list(export.table.personal_data_columns),
                "purposes": list(export.table.purposes),
                "lawful_basis": export.table.lawful_basis,
                "retention": export.table.retention,
                "recipients": list(export.table.recipients),
                "json": export.json_file,
                "csv": export.csv_file,
            }
            for export in report.exports
        ],
        "lists": report.lists,
        "api_logs": {
            "what": "the recommendations the API showed you and what you did with them "
            "(purpose: recommendations; legitimate interest, art. 6(1)(f))",
            "impressions": len(report.api_logs.impressions),
            "feedback": len(report.api_logs.feedback),
            "files": report.api_log_files,
        },
        "explanations": "explanations.md",
    }


def _explanations_markdown(report: AccessReport, generated: str) -> str:
    lines = [
        f"# What we hold about user {report.user_id}",
        "",
        f"Generated {generated} (GDPR arts. 15 and 20). Each table below is also in this folder "
        "as JSON and CSV; index.json lists the purpose, lawful basis, retention and recipients "
        "of each.",
        "",
        "| table | rows | what | purposes |",
        "|---|---|---|---|",
        *(
            f"| {e.table.label} | {e.rows} | {e.table.category} | {', '.join(e.table.purposes)} |"
            for e in report.exports
        ),
        *(
            [
                "",
                f"The recommendation API showed you products {len(report.api_logs.impressions)} "
                f"time(s) and recorded {len(report.api_logs.feedback)} click(s), cart(s) or "
                f"purchase(s) on them: {', '.join(report.api_log_files)}.",
            ]
            if report.api_log_files
            else []
        ),
        "",
        "## In plain words",
        "",
        *(
            line if line.startswith("  ") else f"- {line}"
            for line in report.explanations
            or ["We hold no segment, score or recommendation about you."]
        ),
        "",
    ]
    return "\n".join(lines)

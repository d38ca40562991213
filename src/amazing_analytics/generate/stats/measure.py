"""A statistic beside its published figure, the sources quoted, the DuckDB connection every
measure reads (a table ``events`` with ``ts``, ``month`` and ``line`` columns), and the
Markdown table."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

COLUMNS = (
    "{'event_time': 'VARCHAR', 'event_type': 'VARCHAR', 'product_id': 'BIGINT', "
    "'category_id': 'BIGINT', 'category_code': 'VARCHAR', 'brand': 'VARCHAR', "
    "'price': 'DOUBLE', 'user_id': 'BIGINT', 'user_session': 'VARCHAR'}"
)


KAGGLE = "Kaggle, 'eCommerce behavior data from multi category store' (M. Kechinov / REES46)"


REES46 = "REES46 Open CDP monthly files (rees46.com/open-cdp), as quoted in issue 9"


T4REC = "Transformers4Rec REES46 example (NVIDIA Merlin), as quoted in issue 9"


ISSUE = "issue 9 (measured on real REES46 logs by the project)"


OWN = "project target (no published figure; the real logs show the behaviour)"


@dataclass(frozen=True)
class Statistic:
    """One measured statistic beside its published figure and tolerance."""

    name: str
    measured: float
    published: str
    low: float
    high: float
    source: str

    @property
    def within(self) -> bool:
        """Whether the measured value lies inside ``[low, high]``."""
        return self.low <= self.measured <= self.high


def connect(directory: Path) -> duckdb.DuckDBPyConnection:
    """DuckDB with table ``events`` of ``directory/*.csv.gz`` plus ``ts``, ``month``, ``line``."""
    files = sorted(Path(directory).glob("*.csv.gz"))
    if not files:
        raise ValueError(f"no *.csv.gz event files in {directory}")
    con = duckdb.connect()
    file_list = ", ".join(f"'{path}'" for path in files)
    con.execute(f"""
        create table events as
        select *, strptime(event_time, '%Y-%m-%d %H:%M:%S UTC') as ts,
               strftime(strptime(event_time, '%Y-%m-%d %H:%M:%S UTC'), '%Y-%b') as month,
               row_number() over () as line
        from read_csv([{file_list}], header = true, columns = {COLUMNS})
    """)
    return con


def first_row(con: duckdb.DuckDBPyConnection, sql: str) -> tuple:
    """The first row of a query."""
    row = con.execute(sql).fetchone()
    if row is None:
        raise ValueError(f"no result for {sql}")
    return row


def _format(value: float) -> str:
    """A measured value for the table."""
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3f}"


def markdown_table(stats: list[Statistic]) -> str:
    """The statistics as a Markdown table."""
    lines = [
        "| statistic | measured | published | tolerance | source | within |",
        "|---|---|---|---|---|---|",
    ]
    for stat in stats:
        high = "inf" if stat.high >= 1e9 else _format(stat.high)
        lines.append(
            f"| {stat.name} | {_format(stat.measured)} | {stat.published} | "
            f"{_format(stat.low)} .. {high} | {stat.source} | {'yes' if stat.within else 'NO'} |"
        )
    return "\n".join(lines)

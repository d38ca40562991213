"""Statistics of generated (or real) REES46 files beside the published figures of the full logs.

Used by ``scripts/demo_stats.py`` (``make demo-stats``) and by the generator's tests, so the
table in docs/demo_data.md and the test measure the same way. Every function takes a DuckDB
connection prepared by :func:`connect` (a table ``events`` with ``ts`` and ``month`` columns).
"""

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
#: Events per month of the full logs (millions); Feb-Mar interpolated.
PUBLISHED_MONTHLY_MILLIONS = {
    "2019-Oct": 42.4,
    "2019-Nov": 67.5,
    "2019-Dec": 67.5,
    "2020-Jan": 56.0,
    "2020-Feb": 59.5,
    "2020-Mar": 63.1,
    "2020-Apr": 66.6,
}
#: Test window (days before the last event) of the next-item hit rates.
NEXT_ITEM_TEST_DAYS = 14
#: Length of the recommended lists of the next-item hit rates.
NEXT_ITEM_K = 20


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


def _one(con: duckdb.DuckDBPyConnection, sql: str) -> tuple:
    """The first row of a query."""
    row = con.execute(sql).fetchone()
    if row is None:
        raise ValueError(f"no result for {sql}")
    return row


def monthly_volumes(con: duckdb.DuckDBPyConnection) -> list[Statistic]:
    """Each month's share of the lines against the REES46 ratio (+- 0.5 points)."""
    counts = dict(con.execute("select month, count(*) from events group by 1").fetchall())
    months = [m for m in PUBLISHED_MONTHLY_MILLIONS if m in counts]
    published_total = sum(PUBLISHED_MONTHLY_MILLIONS[m] for m in months)
    total = sum(counts[m] for m in months)
    stats = []
    for month in months:
        share = PUBLISHED_MONTHLY_MILLIONS[month] / published_total
        source = KAGGLE if month in ("2019-Oct", "2019-Nov") else REES46
        if month in ("2020-Feb", "2020-Mar"):
            source = "interpolated between Jan and Apr (issue 9)"
        stats.append(
            Statistic(
                f"share of lines in {month}",
                counts[month] / total,
                f"{share:.3f} ({PUBLISHED_MONTHLY_MILLIONS[month]}M)",
                share - 0.005,
                share + 0.005,
                source,
            )
        )
    return stats


def event_mix(con: duckdb.DuckDBPyConnection) -> list[Statistic]:
    """Shares of views, carts, purchases and remove_from_cart."""
    view, cart, purchase, removal = _one(
        con,
        """select avg((event_type = 'view')::int), avg((event_type = 'cart')::int),
                  avg((event_type = 'purchase')::int),
                  avg((event_type = 'remove_from_cart')::int) from events""",
    )
    return [
        Statistic("share of views", view, "~0.94", 0.92, 0.96, KAGGLE),
        Statistic("share of carts", cart, "~0.036", 0.03, 0.045, KAGGLE),
        Statistic("share of purchases", purchase, "0.015-0.024", 0.015, 0.024, KAGGLE),
        Statistic("share of remove_from_cart", removal, "0 (none in the logs)", 0.0, 0.0, KAGGLE),
    ]


def session_shape(con: duckdb.DuckDBPyConnection) -> list[Statistic]:
    """Events per session, sessions per user, and their tails (p99 / mean)."""
    con.execute("""
        create or replace temp table session_sizes as
        select user_session, count(*) as events from events
        where user_session is not null group by 1
    """)
    con.execute("""
        create or replace temp table user_sessions as
        select user_id, count(distinct user_session) as sessions from events
        where user_session is not null group by 1
    """)
    per_session, session_tail = _one(
        con, "select avg(events), quantile_cont(events, 0.99) / avg(events) from session_sizes"
    )
    per_user, user_tail = _one(
        con,
        "select avg(sessions), quantile_cont(sessions, 0.99) / avg(sessions) from user_sessions",
    )
    return [
        Statistic("events per session", per_session, "~4.9", 4.4, 5.4, T4REC),
        Statistic("events per session, p99 / mean", session_tail, "heavy tail", 4.0, 30.0, OWN),
        Statistic("sessions per user", per_user, "~3.7", 3.2, 4.2, T4REC),
        Statistic("sessions per user, p99 / mean", user_tail, "heavy tail", 4.0, 30.0, OWN),
    ]


def multi_day_buyers(con: duckdb.DuckDBPyConnection) -> list[Statistic]:
    """Share of buyers who buy on more than one day."""
    (share,) = _one(
        con,
        """select avg((days > 1)::int) from (
               select user_id, count(distinct ts::date) as days from events
               where event_type = 'purchase' group by 1)""",
    )
    return [Statistic("buyers buying on more than one day", share, "~0.20", 0.15, 0.25, ISSUE)]


def revisits(con: duckdb.DuckDBPyConnection) -> list[Statistic]:
    """Returning to viewed products, carts bought later, purchases of products seen before."""
    con.execute("""
        create or replace temp table first_seen as
        select user_id, product_id, user_session, min(ts) as first_ts
        from events where user_session is not null group by all
    """)
    (returning,) = _one(
        con,
        """with visits as (
               select user_id, user_session, min(ts) as started from events
               where user_session is not null group by all),
           later as (
               select v.user_session, bool_or(f.user_session <> v.user_session
                                             and f.first_ts < v.started) as revisits
               from visits v join first_seen s using (user_id, user_session)
               join first_seen f on f.user_id = s.user_id and f.product_id = s.product_id
               group by 1)
           select avg(revisits::int) from later""",
    )
    (bought_later,) = _one(
        con,
        """with carts as (
               select user_id, product_id, user_session, min(ts) as carted from events
               where event_type = 'cart' and user_session is not null group by all),
           abandoned as (
               select c.* from carts c where not exists (
                   select 1 from events p where p.event_type = 'purchase'
                   and p.user_session = c.user_session and p.product_id = c.product_id))
           select avg((exists (select 1 from events p where p.event_type = 'purchase'
                       and p.user_id = a.user_id and p.product_id = a.product_id
                       and p.ts > a.carted))::int) from abandoned a""",
    )
    (seen_before,) = _one(
        con,
        """select avg((exists (select 1 from events v where v.event_type = 'view'
                       and v.user_id = p.user_id and v.product_id = p.product_id
                       and v.ts::date < p.ts::date))::int)
           from events p where p.event_type = 'purchase'""",
    )
    return [
        Statistic(
            "sessions revisiting a product of an earlier session",
            returning,
            "present",
            0.10,
            0.50,
            OWN,
        ),
        Statistic(
            "abandoned carts bought in a later session", bought_later, "present", 0.05, 0.40, OWN
        ),
        Statistic(
            "purchases of a product viewed on an earlier day",
            seen_before,
            "present",
            0.10,
            0.50,
            OWN,
        ),
    ]


def missing_values(con: duckdb.DuckDBPyConnection) -> list[Statistic]:
    """category_code missing before / from December, new category_ids in December, brand."""
    early, late, brand = _one(
        con,
        """select avg((category_code is null)::int) filter (where ts < '2019-12-01'),
                  avg((category_code is null)::int) filter (where ts >= '2019-12-01'),
                  avg((brand is null)::int) from events""",
    )
    (new_ids,) = _one(
        con,
        """select count(*) from (select category_id, min(ts) as first_ts from events group by 1)
           where first_ts >= '2019-12-01' and first_ts < '2020-01-01'""",
    )
    stats = []
    if early is not None:
        stats.append(
            Statistic("category_code missing, Oct-Nov rows", early, "~0.32", 0.28, 0.36, KAGGLE)
        )
    if late is not None:
        stats.append(
            Statistic("category_code missing, Dec-Apr rows", late, "~0.10", 0.07, 0.13, REES46)
        )
        stats.append(
            Statistic(
                "category_ids first seen in December", new_ids, "> 0 (new ids)", 1, 1e9, REES46
            )
        )
    stats.append(Statistic("brand missing", brand, "0.12-0.14", 0.11, 0.15, KAGGLE))
    return stats


def cart_duplicates(con: duckdb.DuckDBPyConnection) -> list[Statistic]:
    """Share of cart lines that repeat another cart line at the same timestamp."""
    (share,) = _one(
        con,
        """select 1 - count(distinct (event_time, product_id, user_id, user_session, price))
                      / count(*)
           from events where event_type = 'cart'""",
    )
    return [
        Statistic("cart lines repeated at the same timestamp", share, "present", 0.03, 0.25, ISSUE)
    ]


def popularity_gini(con: duckdb.DuckDBPyConnection) -> list[Statistic]:
    """Gini coefficient of the events per product (products with at least one event)."""
    (gini,) = _one(
        con,
        """with counts as (select count(*)::double as n from events group by product_id),
           ranked as (select n, row_number() over (order by n) as r, count(*) over () as m,
                             sum(n) over () as total from counts)
           select 2 * sum(r * n) / (max(m) * max(total)) - (max(m) + 1) / max(m) from ranked""",
    )
    return [Statistic("Gini of events per product", gini, "~0.86", 0.80, 0.92, ISSUE)]


def purchase_prices(con: duckdb.DuckDBPyConnection) -> list[Statistic]:
    """Median and maximum of the valid purchase prices (0 < price <= 10,000)."""
    median, p99, highest = _one(
        con,
        """select median(price), quantile_cont(price, 0.99), max(price) from events
           where event_type = 'purchase' and price > 0 and price <= 10000""",
    )
    return [
        Statistic("purchase price, median", median, "~175", 140, 210, ISSUE),
        Statistic("purchase price, p99", p99, "right-skewed tail", 900, 2600, OWN),
        Statistic("purchase price, max", highest, "~2,600", 2000, 2650, ISSUE),
    ]


def next_item_hit_rates(con: duckdb.DuckDBPyConnection) -> list[Statistic]:
    """HR@20 of a session co-visitation counter and of popularity for the next viewed product.

    Views per session in time order, consecutive repeats collapsed. Sessions that start in the
    last :data:`NEXT_ITEM_TEST_DAYS` days are the test; the counter (both directions of every
    consecutive pair) and the popularity (views) are counted on the sessions before.
    """
    con.execute(f"""
        create or replace temp table view_steps as
        with ordered as (
            select user_session, product_id, ts, line,
                   lag(product_id) over (partition by user_session order by ts, line) as previous
            from events where event_type = 'view' and user_session is not null),
        collapsed as (select * from ordered where previous is null or previous <> product_id),
        steps as (
            select user_session, product_id,
                   lead(product_id) over (partition by user_session order by ts, line) as following,
                   min(ts) over (partition by user_session) as started
            from collapsed)
        select *, started >= (select max(ts) from events) - interval {NEXT_ITEM_TEST_DAYS} days
                  as is_test
        from steps
    """)
    covisitation, popularity, pairs = _one(
        con,
        f"""with pairs as (
                select product_id as a, following as b from view_steps
                where not is_test and following is not null
                union all
                select following, product_id from view_steps
                where not is_test and following is not null),
            counts as (select a, b, count(*) as n from pairs group by 1, 2),
            top as (select a, b from counts qualify row_number() over (
                        partition by a order by n desc, b) <= {NEXT_ITEM_K}),
            popular as (select product_id from view_steps where not is_test group by 1
                        order by count(*) desc, product_id limit {NEXT_ITEM_K}),
            test as (select product_id as a, following as b from view_steps
                     where is_test and following is not null)
            select avg((exists (select 1 from top where top.a = test.a and top.b = test.b))::int),
                   avg((test.b in (select product_id from popular))::int), count(*)
            from test""",
    )
    if not pairs:
        return []
    ratio = covisitation / popularity if popularity else float("inf")
    return [
        Statistic(
            "next-item HR@20, session co-visitation", covisitation, "~0.16", 0.10, 0.50, ISSUE
        ),
        Statistic("next-item HR@20, popularity", popularity, "~0.06", 0.02, 0.20, ISSUE),
        Statistic("co-visitation / popularity HR@20", ratio, "~2.7", 2.0, 6.0, ISSUE),
    ]


def in_house_decline(con: duckdb.DuckDBPyConnection, ground_truth: Path) -> list[Statistic]:
    """Relative decline of amazingbasics' revenue share in its families, last vs first month."""
    catalogue = Path(ground_truth) / "catalogue.csv"
    if not catalogue.is_file():
        return []
    rows = con.execute(f"""
        select month, sum(price) filter (where c.brand = 'amazingbasics') / sum(price)
        from events e join read_csv('{catalogue}', header = true) c using (product_id)
        where event_type = 'purchase' and price > 0 and price <= 10000
          and c.category_family in ('entertainment', 'tech_accessories')
        group by 1 order by min(ts)
    """).fetchall()
    if len(rows) < 2 or not rows[0][1]:
        return []
    decline = 1 - rows[-1][1] / rows[0][1]
    return [
        Statistic(
            "amazingbasics revenue-share decline, last vs first month",
            decline,
            "0.15 (the demo's story)",
            0.08,
            0.25,
            "generator design (issue 2)",
        )
    ]


def measure_all(directory: Path) -> list[Statistic]:
    """Every statistic of the generated files in ``directory``."""
    con = connect(directory)
    stats: list[Statistic] = []
    for measure in (
        monthly_volumes,
        event_mix,
        session_shape,
        multi_day_buyers,
        revisits,
        missing_values,
        cart_duplicates,
        popularity_gini,
        purchase_prices,
        next_item_hit_rates,
    ):
        stats.extend(measure(con))
    stats.extend(in_house_decline(con, Path(directory) / "ground_truth"))
    return stats


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

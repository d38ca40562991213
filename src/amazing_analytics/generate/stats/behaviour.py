"""How shoppers behave: sessions, repeat buyers, revisits, the popularity of products, the
next-item hit rates of two simple recommenders, and the in-house brand's decline."""

from __future__ import annotations

from pathlib import Path

import duckdb

from amazing_analytics.generate.stats.measure import ISSUE, OWN, T4REC, Statistic, first_row

#: Test window (days before the last event) of the next-item hit rates.
NEXT_ITEM_TEST_DAYS = 14


#: Length of the recommended lists of the next-item hit rates.
NEXT_ITEM_K = 20


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
    per_session, session_tail = first_row(
        con, "select avg(events), quantile_cont(events, 0.99) / avg(events) from session_sizes"
    )
    per_user, user_tail = first_row(
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
    (share,) = first_row(
        con,
        """select avg((days > 1)::int) from (
               select user_id, count(distinct ts::date) as days from events
               where event_type = 'purchase' group by 1)""",
    )
    return [Statistic("buyers buying on more than one day", share, "~0.20", 0.15, 0.25, ISSUE)]


def revisits(con: duckdb.DuckDBPyConnection) -> list[Statistic]:
    """Returning to viewed products, carts bought later, purchases of products seen before."""
    returning = _sessions_revisiting_products(con)
    bought_later = _abandoned_carts_bought_later(con)
    seen_before = _purchases_viewed_before(con)
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


def _sessions_revisiting_products(con: duckdb.DuckDBPyConnection) -> float:
    """Share of sessions with a product the shopper first met in an earlier session."""
    con.execute("""
        create or replace temp table first_seen as
        select user_id, product_id, user_session, min(ts) as first_ts
        from events where user_session is not null group by all
    """)
    (returning,) = first_row(
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
    return returning


def _abandoned_carts_bought_later(con: duckdb.DuckDBPyConnection) -> float:
    """Share of carts not bought in their session that the shopper bought afterwards."""
    (bought_later,) = first_row(
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
    return bought_later


def _purchases_viewed_before(con: duckdb.DuckDBPyConnection) -> float:
    """Share of purchases of a product the shopper viewed on an earlier day."""
    (seen_before,) = first_row(
        con,
        """select avg((exists (select 1 from events v where v.event_type = 'view'
                       and v.user_id = p.user_id and v.product_id = p.product_id
                       and v.ts::date < p.ts::date))::int)
           from events p where p.event_type = 'purchase'""",
    )
    return seen_before


def popularity_gini(con: duckdb.DuckDBPyConnection) -> list[Statistic]:
    """Gini coefficient of the events per product (products with at least one event)."""
    (gini,) = first_row(
        con,
        """with counts as (select count(*)::double as n from events group by product_id),
           ranked as (select n, row_number() over (order by n) as r, count(*) over () as m,
                             sum(n) over () as total from counts)
           select 2 * sum(r * n) / (max(m) * max(total)) - (max(m) + 1) / max(m) from ranked""",
    )
    return [Statistic("Gini of events per product", gini, "~0.86", 0.80, 0.92, ISSUE)]


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
    covisitation, popularity, pairs = first_row(
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

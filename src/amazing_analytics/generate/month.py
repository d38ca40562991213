"""Simulation of one month: sessions, views, funnel, timestamps, defects, rendered rows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from amazing_analytics.generate import defects, funnel, sessions
from amazing_analytics.generate.browsing import (
    base_view_counts,
    followup_view_counts,
    session_views,
)
from amazing_analytics.generate.csvout import MonthRows
from amazing_analytics.generate.pricing import PRICE_STEPS
from amazing_analytics.generate.timeline import event_times, session_ids

if TYPE_CHECKING:
    from amazing_analytics.generate.model import ShopModel


@dataclass
class MonthEvents:
    """Per-event columns of a month before sorting (internal indexes, not yet rendered)."""

    time: np.ndarray  # int64
    event_type: np.ndarray  # int8
    product: np.ndarray  # int32 internal product index
    user: np.ndarray  # int32 internal user index
    session_high: np.ndarray  # uint64
    session_low: np.ndarray  # uint64
    session_valid: np.ndarray  # bool
    price_cents: np.ndarray  # int64, -1 = empty

    def take(self, index: np.ndarray) -> MonthEvents:
        """Rows ``index`` (fancy index or boolean mask)."""
        return MonthEvents(*(getattr(self, name)[index] for name in _EVENT_FIELDS))

    @staticmethod
    def concat(parts: list[MonthEvents]) -> MonthEvents:
        """Concatenate event tables."""
        return MonthEvents(
            *(np.concatenate([getattr(p, name) for p in parts]) for name in _EVENT_FIELDS)
        )


_EVENT_FIELDS = (
    "time",
    "event_type",
    "product",
    "user",
    "session_high",
    "session_low",
    "session_valid",
    "price_cents",
)


def _fixed_lines(table: sessions.Sessions, cross: funnel.CrossSellViews) -> int:
    """Lines of a month that do not depend on the base sessions' view counts."""
    second = table.second_item
    return (
        int(table.cart.sum())
        + 2 * int(second.sum())
        + int(table.buy.sum())
        + int((table.buy & second).sum())
        + int(cross.view_engagement.shape[0])
        + 2 * int(cross.buys.sum())
    )


def _view_counts(
    model: ShopModel,
    month: int,
    table: sessions.Sessions,
    cross: funnel.CrossSellViews,
    rng: np.random.Generator,
) -> np.ndarray:
    """Views per session so that the month hits its line target."""
    followup_views = followup_view_counts(table, rng)
    target = round(model.month_lines[month] * (1.0 - defects.RATE_DUPLICATE))
    expected_cart_duplicates = defects.RATE_CART_DUPLICATE * (
        int(table.cart.sum()) + int(table.second_item.sum()) + int(cross.buys.sum())
    )
    extra = (
        target
        - _fixed_lines(table, cross)
        - int(followup_views.sum())
        - round(expected_cart_duplicates)
        - table.base_count
    )
    return np.concatenate([base_view_counts(table, extra, rng), followup_views])


def simulate_month(
    model: ShopModel, month: int, rng: np.random.Generator, pending: sessions.FollowUps
) -> tuple[MonthEvents, sessions.FollowUps]:
    """Simulate the sessions starting in month ``month`` (plus due follow-ups).

    Returns the month's events (some may lie after the month end; the caller carries them over)
    and the follow-ups still pending after this month.
    """
    _, _, _, end_day = model.calendar.months[month]
    base = sessions.plan_base_sessions(model, month, rng)
    cross_sells, scheduled = sessions.schedule_followups(model, base, rng)
    followups = sessions.FollowUps.concat([pending, scheduled])
    due = followups.take(followups.day < end_day)
    later = followups.take(followups.day >= end_day)
    table = sessions.add_followup_sessions(model, base, due, rng)
    cross = funnel.walk_cross_sells(model, table, cross_sells, rng)
    view_counts = _view_counts(model, month, table, cross, rng)
    views = session_views(model, table, view_counts, rng)
    choices = funnel.choose_cart_products(model, table, views, cross, cross_sells, rng)
    # return sessions scheduled this month buy what their source session carted
    due_source = due.source
    from_this_month = np.flatnonzero(due_source >= 0) + table.base_count
    table.forced_product[from_this_month] = choices.target_product[due_source[due_source >= 0]]
    funnel.apply_forced_products(table, views, choices)
    later.product[later.source >= 0] = choices.target_product[later.source[later.source >= 0]]
    later.source[:] = -1
    blocks = funnel.session_blocks(
        model, table, views, view_counts, cross_sells, cross, choices, rng
    )
    return _timed_events(model, table, blocks, rng), later


def _timed_events(
    model: ShopModel,
    table: sessions.Sessions,
    blocks: funnel.EventBlocks,
    rng: np.random.Generator,
) -> MonthEvents:
    """Timestamps, users (with the shared-session defect), session ids and prices."""
    event_session, _, event_type, product, jump = blocks.build()
    times, first = event_times(event_session, event_type, jump, table.start, rng)
    event_user = table.user[event_session]
    defects.share_sessions_between_users(event_user, first, model.users.size, rng)
    high, low = session_ids(table.size, rng)
    valid = defects.empty_sessions(event_session.shape[0], rng)
    event_day = table.day[event_session]
    step = model.price_step[event_day, model.catalogue.category[product]]
    level = model.calendar.price_level[event_day].astype(np.int64) * len(PRICE_STEPS) + step
    cents = defects.price_defects(model.level_cents[level, product], rng)
    return MonthEvents(
        times,
        event_type,
        product,
        event_user,
        high[event_session],
        low[event_session],
        valid,
        cents,
    )


def month_rows(
    model: ShopModel, events: MonthEvents, recoded: bool, rng: np.random.Generator
) -> MonthRows:
    """Sort a month's events by time, inject duplicate lines and de-normalise ids."""
    catalogue = model.catalogue
    code, category_id = defects.event_category_codes(catalogue, events.product, recoded, rng)
    order = np.argsort(events.time, kind="stable")
    order = defects.duplicated_order(order, events.event_type, funnel.CART, rng)
    rows = events.take(order)
    code, category_id = code[order], category_id[order]
    brand = np.where(catalogue.brand_missing[rows.product], -1, catalogue.brand[rows.product])
    return MonthRows(
        time=rows.time,
        event_type=rows.event_type,
        product_id=catalogue.product_id[rows.product],
        category_id=category_id,
        category_code=code,
        brand=brand.astype(np.int16),
        price_cents=rows.price_cents,
        user_id=model.users.user_id[rows.user],
        session_hi=rows.session_high,
        session_lo=rows.session_low,
        session_valid=rows.session_valid,
    )

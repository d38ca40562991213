"""Sessions of a month: base sessions, follow-up sessions and what each session intends.

Base sessions start on day *d* with the calendar's intensity, at an hour of the daily profile, by
a user drawn proportionally to ``users.weight``. A session targets the user's favourite category
with the persona's ``home_category_rate``, otherwise a category of the persona's affinity. The
funnel intent (cart, purchase, a second item) is drawn per session.

Follow-up sessions come back later: complementary accessories of a purchase (``complements.csv``,
either inside the purchasing session or as a new session some days later) and abandoned carts that
convert in a later session (:data:`RETURN_PURCHASE_RATE`). Follow-ups never spawn follow-ups.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from amazing_analytics.generate.model import ShopModel

#: Average number of lines per session (REES46: about 4.9); sizes the number of sessions.
EVENTS_PER_SESSION = 4.9
#: Probability that a carting session also carts a second product of the target category.
P_SECOND_ITEM = 0.15
#: Probability that an accessory engagement (cross-sell or follow-up session) ends in a purchase.
FOLLOWUP_PURCHASE_RATE = 0.3
#: Probability that an abandoned cart is bought in a later session of the same user.
RETURN_PURCHASE_RATE = 0.15
#: Lag in days of an accessory engagement after the anchor purchase: P(0) = same session.
COMPLEMENT_LAG_PMF = np.array([0.65] + [0.35 * 0.4 * 0.6 ** (k - 1) for k in range(1, 31)])
COMPLEMENT_LAG_PMF = COMPLEMENT_LAG_PMF / COMPLEMENT_LAG_PMF.sum()
#: Lag in days of the session that buys an abandoned cart (P(0) = 0: always a later day).
RETURN_LAG_PMF = np.array([0.0] + [0.3 * 0.7 ** (k - 1) for k in range(1, 22)])
RETURN_LAG_PMF = RETURN_LAG_PMF / RETURN_LAG_PMF.sum()
#: Mean number of views of a follow-up session (geometric).
FOLLOWUP_MEAN_VIEWS = 2.5

KIND_BASE, KIND_COMPLEMENT, KIND_RETURN = 0, 1, 2


@dataclass
class FollowUps:
    """Follow-up sessions scheduled for later days (carried across months).

    ``product`` is the product to buy of a return session (-1 for complement sessions);
    ``source`` is the index of the scheduling session in its month (-1 once carried over).
    """

    day: np.ndarray  # int64 day index
    user: np.ndarray  # int32
    category: np.ndarray  # int16
    kind: np.ndarray  # int8
    product: np.ndarray  # int32
    source: np.ndarray  # int64

    @staticmethod
    def empty() -> FollowUps:
        """No follow-ups."""
        return FollowUps(
            np.zeros(0, np.int64),
            np.zeros(0, np.int32),
            np.zeros(0, np.int16),
            np.zeros(0, np.int8),
            np.zeros(0, np.int32),
            np.zeros(0, np.int64),
        )

    def take(self, index: np.ndarray) -> FollowUps:
        """Rows ``index`` (fancy index or boolean mask)."""
        return FollowUps(*(getattr(self, name)[index] for name in _FOLLOWUP_FIELDS))

    @staticmethod
    def concat(parts: list[FollowUps]) -> FollowUps:
        """Concatenate follow-up tables."""
        return FollowUps(
            *(np.concatenate([getattr(p, name) for p in parts]) for name in _FOLLOWUP_FIELDS)
        )


_FOLLOWUP_FIELDS = ("day", "user", "category", "kind", "product", "source")


@dataclass
class Sessions:
    """The sessions starting in a month: base sessions first, then due follow-ups."""

    day: np.ndarray  # int64
    start: np.ndarray  # int64 unix seconds
    user: np.ndarray  # int32
    persona: np.ndarray  # int8
    category: np.ndarray  # int16 target category
    kind: np.ndarray  # int8 KIND_*
    cart: np.ndarray  # bool: adds the target product to the cart
    buy: np.ndarray  # bool: buys it
    second_item: np.ndarray  # bool: carts a second product
    forced_product: np.ndarray  # int32: product a return session buys (-1 = none)
    base_count: int
    returns_later: np.ndarray | None = None  # bool: an abandoned cart bought in a later session

    @property
    def size(self) -> int:
        """Number of sessions."""
        return int(self.day.shape[0])


def plan_base_sessions(model: ShopModel, month: int, rng: np.random.Generator) -> Sessions:
    """Draw the base sessions of month ``month`` with their target and funnel intent."""
    calendar = model.calendar
    _, _, first_day, end_day = calendar.months[month]
    intensity = calendar.intensity[first_day:end_day]
    counts = rng.multinomial(int(model.month_sessions[month]), intensity / intensity.sum())
    day = np.repeat(np.arange(first_day, end_day), counts)
    count = day.shape[0]
    user = model.sample_users(count, rng)
    persona = model.users.persona[user]
    home_rate = model.home_category_rate[persona]
    at_home = rng.random(count) < home_rate
    category = np.where(
        at_home, model.users.home_category[user], model.choice.sample_category(persona, rng)
    ).astype(np.int16)
    cart = rng.random(count) < model.choice.cart_probability[persona, category]
    buy_probability = np.minimum(
        1.0,
        model.choice.purchase_rate[persona]
        * calendar.conversion[day]
        * model.price_response[day, category],
    )
    buy = cart & (rng.random(count) < buy_probability)
    return Sessions(
        day=day,
        start=model.sample_start(day, rng),
        user=user,
        persona=persona,
        category=category,
        kind=np.full(count, KIND_BASE, dtype=np.int8),
        cart=cart,
        buy=buy,
        second_item=cart & (rng.random(count) < P_SECOND_ITEM),
        forced_product=np.full(count, -1, dtype=np.int32),
        base_count=count,
    )


@dataclass
class CrossSells:
    """Accessory engagements inside a purchasing session (after the purchase)."""

    session: np.ndarray  # int64 session index
    category: np.ndarray  # int16


def schedule_followups(
    model: ShopModel, base: Sessions, rng: np.random.Generator
) -> tuple[CrossSells, FollowUps]:
    """Accessory engagements of purchasing anchor sessions and returns of abandoned carts.

    Returns the same-session cross-sells and the new follow-up sessions (with their day; the
    product of a return session is filled in once the source session's cart is known).
    """
    engaged_sessions = []
    engaged_categories = []
    for anchor, accessory, probability in model.complement_rules:  # loop over rules only
        anchor_sessions = np.flatnonzero(base.buy & (base.category == anchor))
        hit = anchor_sessions[rng.random(anchor_sessions.shape[0]) < probability]
        engaged_sessions.append(hit)
        engaged_categories.append(np.full(hit.shape[0], accessory, dtype=np.int16))
    engaged = np.concatenate(engaged_sessions)
    engaged_category = np.concatenate(engaged_categories)
    lag = rng.choice(COMPLEMENT_LAG_PMF.shape[0], size=engaged.shape[0], p=COMPLEMENT_LAG_PMF)
    same = lag == 0
    order = np.argsort(engaged[same], kind="stable")
    cross_sells = CrossSells(engaged[same][order], engaged_category[same][order])
    later = engaged[~same]
    complement = FollowUps(
        day=base.day[later] + lag[~same],
        user=base.user[later],
        category=engaged_category[~same],
        kind=np.full(later.shape[0], KIND_COMPLEMENT, dtype=np.int8),
        product=np.full(later.shape[0], -1, dtype=np.int32),
        source=np.full(later.shape[0], -1, dtype=np.int64),
    )
    abandoned = np.flatnonzero(base.cart & ~base.buy)
    returning = abandoned[rng.random(abandoned.shape[0]) < RETURN_PURCHASE_RATE]
    base.returns_later = np.zeros(base.size, dtype=bool)
    base.returns_later[returning] = True
    return_lag = rng.choice(RETURN_LAG_PMF.shape[0], size=returning.shape[0], p=RETURN_LAG_PMF)
    returns = FollowUps(
        day=base.day[returning] + return_lag,
        user=base.user[returning],
        category=base.category[returning],
        kind=np.full(returning.shape[0], KIND_RETURN, dtype=np.int8),
        product=np.full(returning.shape[0], -1, dtype=np.int32),
        source=returning.astype(np.int64),
    )
    scheduled = FollowUps.concat([complement, returns])
    return cross_sells, scheduled.take(scheduled.day < model.calendar.n_days)


def add_followup_sessions(
    model: ShopModel, base: Sessions, due: FollowUps, rng: np.random.Generator
) -> Sessions:
    """The month's session table: the base sessions followed by the due follow-ups."""
    count = due.day.shape[0]
    persona = model.users.persona[due.user]
    is_return = due.kind == KIND_RETURN
    buy = is_return | (rng.random(count) < FOLLOWUP_PURCHASE_RATE)
    no = np.zeros(count, dtype=bool)
    return Sessions(
        day=np.concatenate([base.day, due.day]),
        start=np.concatenate([base.start, model.sample_start(due.day, rng)]),
        user=np.concatenate([base.user, due.user]),
        persona=np.concatenate([base.persona, persona]),
        category=np.concatenate([base.category, due.category]),
        kind=np.concatenate([base.kind, due.kind]),
        cart=np.concatenate([base.cart, buy]),
        buy=np.concatenate([base.buy, buy]),
        second_item=np.concatenate([base.second_item, no]),
        forced_product=np.concatenate([base.forced_product, due.product]),
        base_count=base.base_count,
        returns_later=np.concatenate([base.returns_later, no])
        if base.returns_later is not None
        else None,
    )

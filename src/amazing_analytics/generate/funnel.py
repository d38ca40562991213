"""The funnel of each session as event blocks: views, carts, purchases, cross-sells, bursts.

The carted product is the last viewed product of the session's target category (a second item is
a similar product of the same category). Purchased products take the in-house/competitor side
from balanced sampling (:meth:`ChoiceModel.balanced_in_house`) and a stratified position of the
same rank as the shopper's (:func:`_stratified_uniforms`), so the in-house share decline is
measurable at demo sizes while shoppers still buy what they browsed. A return session buys the product its user carted days before. After a purchase of an
anchor category, cross-sells view (and maybe buy) a complementary accessory in the same session.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from amazing_analytics.generate.browsing import Runs, SessionViews, walk_runs
from amazing_analytics.generate.defects import RATE_SESSION_SECOND_BURST
from amazing_analytics.generate.sessions import (
    FOLLOWUP_PURCHASE_RATE,
    KIND_RETURN,
    CrossSells,
    Sessions,
)

if TYPE_CHECKING:
    from amazing_analytics.generate.model import ShopModel

VIEW, CART, REMOVE, PURCHASE = 0, 1, 2, 3
#: Standard deviation of the step from the first to the second carted product.
SECOND_ITEM_STEP = 0.05
#: Mean number of views of a same-session accessory engagement (geometric).
CROSS_SELL_MEAN_VIEWS = 2.0


class EventBlocks:
    """Accumulates event blocks (session, order key, type, product, extra gap) of a month."""

    def __init__(self) -> None:
        self.parts: list[tuple[np.ndarray, ...]] = []

    def add(
        self,
        session: np.ndarray,
        key: np.ndarray,
        event_type: int,
        product: np.ndarray,
        jump: np.ndarray | None = None,
    ) -> None:
        """Add events of one type; ``jump`` = extra seconds before the event (bursts)."""
        count = session.shape[0]
        if count == 0:
            return
        self.parts.append(
            (
                session.astype(np.int64),
                np.asarray(key, dtype=np.float64),
                np.full(count, event_type, dtype=np.int8),
                product.astype(np.int32),
                np.zeros(count, np.int64) if jump is None else jump.astype(np.int64),
            )
        )

    def build(self) -> tuple[np.ndarray, ...]:
        """Concatenate the blocks and sort them by (session, key)."""
        columns = [np.concatenate([part[i] for part in self.parts]) for i in range(5)]
        order = np.lexsort((columns[1], columns[0]))
        return tuple(column[order] for column in columns)


@dataclass
class CrossSellViews:
    """Views of the same-session cross-sells and which of them end in a purchase."""

    view_engagement: np.ndarray  # int64 engagement index per view
    view_rank: np.ndarray  # int64 view number inside the engagement
    product: np.ndarray  # int32 per view
    last_view: np.ndarray  # int64 index of the last view of each engagement
    last_uniform: np.ndarray  # float64
    buys: np.ndarray  # bool per engagement


def walk_cross_sells(
    model: ShopModel, sessions: Sessions, cross_sells: CrossSells, rng: np.random.Generator
) -> CrossSellViews:
    """Browse the accessory category of each cross-sell engagement."""
    owner = cross_sells.session
    length = np.minimum(rng.geometric(1.0 / CROSS_SELL_MEAN_VIEWS, size=owner.shape[0]), 200)
    runs = Runs(
        user=sessions.user[owner],
        persona=sessions.persona[owner],
        category=cross_sells.category,
        day=sessions.day[owner],
        length=length,
    )
    walk = walk_runs(model, runs, rng)
    first = np.cumsum(length) - length
    last = first + length - 1
    return CrossSellViews(
        view_engagement=walk.run,
        view_rank=np.arange(walk.run.shape[0]) - first[walk.run],
        product=walk.product,
        last_view=last,
        last_uniform=walk.uniform[last],
        buys=rng.random(owner.shape[0]) < FOLLOWUP_PURCHASE_RATE,
    )


@dataclass
class CartChoices:
    """The products each session carts and buys."""

    target_product: np.ndarray  # int32 per session: the carted (and maybe bought) product
    second_sessions: np.ndarray  # int64 sessions carting a second item
    second_product: np.ndarray  # int32


def choose_cart_products(
    model: ShopModel,
    sessions: Sessions,
    views: SessionViews,
    cross: CrossSellViews,
    cross_sells: CrossSells,
    rng: np.random.Generator,
) -> CartChoices:
    """Carted products per session; purchases re-sided by balanced in-house sampling.

    Updates ``views.product`` (the last target view shows the bought product) and
    ``cross.product`` (the last view of a buying cross-sell). Return sessions get their product
    afterwards (:func:`apply_forced_products`).
    """
    target_view = views.first + views.last_target
    target_uniform = views.uniform[target_view]
    second = np.flatnonzero(sessions.second_item)
    second_uniform = np.mod(
        target_uniform[second] + rng.normal(0.0, SECOND_ITEM_STEP, second.shape[0]), 1.0
    )
    second_in_house = views.in_house[target_view[second]]
    # purchases, and carts that a later session buys, are sampled as purchases
    will_buy = sessions.buy & (sessions.kind != KIND_RETURN)
    if sessions.returns_later is not None:
        will_buy |= sessions.returns_later
    buying = np.flatnonzero(will_buy)
    second_buys = sessions.buy[second]
    cross_buying = np.flatnonzero(cross.buys)
    slot_session = np.concatenate([buying, second[second_buys], cross_sells.session[cross_buying]])
    slot_category = np.concatenate(
        [
            sessions.category[buying],
            sessions.category[second[second_buys]],
            cross_sells.category[cross_buying],
        ]
    )
    slot_uniform = np.concatenate(
        [target_uniform[buying], second_uniform[second_buys], cross.last_uniform[cross_buying]]
    )
    slot_in_house = model.choice.balanced_in_house(
        slot_category, sessions.persona[slot_session], sessions.day[slot_session], rng
    )
    slot_uniform = _stratified_uniforms(2 * slot_category + slot_in_house, slot_uniform, rng)
    bought = model.choice.product_at(
        slot_category, sessions.persona[slot_session], slot_in_house, slot_uniform
    )
    first_count, second_count = buying.shape[0], int(second_buys.sum())
    views.product[target_view[buying]] = bought[:first_count]
    second_in_house[second_buys] = slot_in_house[first_count : first_count + second_count]
    cross.product[cross.last_view[cross_buying]] = bought[first_count + second_count :]
    second_product = model.choice.product_at(
        sessions.category[second], sessions.persona[second], second_in_house, second_uniform
    )
    return CartChoices(views.product[target_view], second, second_product)


def apply_forced_products(sessions: Sessions, views: SessionViews, choices: CartChoices) -> None:
    """Return sessions view, cart and buy the product their user carted before (in place)."""
    returning = np.flatnonzero(sessions.forced_product >= 0)
    views.product[views.first[returning] + views.last_target[returning]] = sessions.forced_product[
        returning
    ]
    choices.target_product[returning] = sessions.forced_product[returning]


def _stratified_uniforms(
    group: np.ndarray, uniform: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Taste uniforms replaced by stratified ones of the same rank inside each group.

    The purchase at the k-th smallest taste position of a segment gets ``(k + V) / n``: almost
    the same position (so a shopper still buys what they browsed), but the segment's price mix
    tracks its expectation, so the monthly in-house revenue share is measurable at demo sizes.
    Each value is still exactly uniform (the rank of i.i.d. uniforms is uniform).
    """
    count = group.shape[0]
    if count == 0:
        return np.zeros(0)
    group = group.astype(np.int64)
    order = np.lexsort((uniform, group))
    sorted_group = group[order]
    first = np.searchsorted(sorted_group, sorted_group, side="left")
    size = np.searchsorted(sorted_group, sorted_group, side="right") - first
    stratified = np.empty(count)
    stratified[order] = (np.arange(count) - first + rng.random(count)) / size
    return stratified


def session_blocks(
    model: ShopModel,
    sessions: Sessions,
    views: SessionViews,
    view_counts: np.ndarray,
    cross_sells: CrossSells,
    cross: CrossSellViews,
    choices: CartChoices,
    rng: np.random.Generator,
) -> EventBlocks:
    """All events of the month's sessions as blocks ordered by (session, key)."""
    blocks = EventBlocks()
    blocks.add(views.session, views.position, VIEW, views.product)
    index = np.arange(sessions.size)
    last_target = views.last_target
    carting = index[sessions.cart]
    blocks.add(carting, last_target[carting] + 0.5, CART, choices.target_product[carting])
    second = choices.second_sessions
    blocks.add(second, last_target[second] + 0.6, VIEW, choices.second_product)
    blocks.add(second, last_target[second] + 0.7, CART, choices.second_product)
    buying = index[sessions.buy]
    blocks.add(buying, view_counts[buying] + 1.0, PURCHASE, choices.target_product[buying])
    second_buys = second[sessions.buy[second]]
    blocks.add(
        second_buys,
        view_counts[second_buys] + 1.1,
        PURCHASE,
        choices.second_product[sessions.buy[second]],
    )
    _add_cross_sells(blocks, view_counts, cross_sells, cross)
    _add_second_bursts(model, blocks, sessions, view_counts, rng)
    return blocks


def _add_cross_sells(
    blocks: EventBlocks, view_counts: np.ndarray, cross_sells: CrossSells, cross: CrossSellViews
) -> None:
    """Cross-sell views after the purchase, then cart + purchase of the last one if it buys."""
    owner = cross_sells.session
    first_of_owner = np.searchsorted(owner, owner, side="left")
    rank_in_owner = np.arange(owner.shape[0]) - first_of_owner
    base_key = view_counts[owner] + 2.0 + rank_in_owner
    engagement = cross.view_engagement
    blocks.add(
        owner[engagement], base_key[engagement] + cross.view_rank * 1e-3, VIEW, cross.product
    )
    last_product = cross.product[cross.last_view]
    buys = cross.buys
    blocks.add(owner[buys], base_key[buys] + 0.9, CART, last_product[buys])
    blocks.add(owner[buys], base_key[buys] + 0.95, PURCHASE, last_product[buys])


def _add_second_bursts(
    model: ShopModel,
    blocks: EventBlocks,
    sessions: Sessions,
    view_counts: np.ndarray,
    rng: np.random.Generator,
) -> None:
    """Defect: a second burst of views hours or days later with the same user_session."""
    burst = np.flatnonzero(rng.random(sessions.size) < RATE_SESSION_SECOND_BURST)
    length = np.minimum(rng.geometric(0.4, size=burst.shape[0]), 50)
    jump = rng.integers(2 * 3600, 4 * 86_400, size=burst.shape[0])
    runs = Runs(
        user=sessions.user[burst],
        persona=sessions.persona[burst],
        category=sessions.category[burst],
        day=sessions.day[burst],
        length=length,
    )
    walk = walk_runs(model, runs, rng)
    first = np.cumsum(length) - length
    rank = np.arange(walk.run.shape[0]) - first[walk.run]
    owner = burst[walk.run]
    blocks.add(
        owner,
        view_counts[owner] + 100.0 + rank,
        VIEW,
        walk.product,
        jump=np.where(rank == 0, jump[walk.run], 0),
    )

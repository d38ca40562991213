"""The real logs' defects, injected into the simulated events (rates documented in
``ground_truth/README.md`` and docs/demo_data.md).

Missing category_code and brand are product attributes (see :mod:`.catalogue`); the category
tree changes on :data:`RECODE_DATE` (fewer uncoded rows, new category_ids), as it did in the
REES46 logs in December 2019. Everything else is drawn per event or per session here.
"""

from __future__ import annotations

from datetime import date

import numpy as np

from amazing_analytics.generate.catalogue import Catalogue

#: First day of the extended category tree (REES46: category_code missing on ~32 % of the rows
#: in October-November, ~10 % from December, with new category_ids).
RECODE_DATE = date(2019, 12, 1)
#: Share of events of products *with* a category_code that lose it on that event only.
RATE_EVENT_LOST_CATEGORY_CODE = 0.01
#: Share of events with price 0.00.
RATE_PRICE_ZERO = 0.001
#: Share of events with an empty price.
RATE_PRICE_NULL = 0.0002
#: Share of events with a mis-typed price above 10,000 (true price x 100, x 1000, ...).
RATE_PRICE_TYPO = 0.00005
#: Share of lines that are exact duplicates of the line just before them.
RATE_DUPLICATE = 0.003
#: Share of cart events written twice at the same timestamp (a double click on "add to cart").
RATE_CART_DUPLICATE = 0.12
#: Share of sessions with a second burst of views (same user_session) hours or days later.
RATE_SESSION_SECOND_BURST = 0.002
#: Share of sessions in which one event carries another user's user_id.
RATE_SESSION_SHARED_USER = 0.001
#: Share of events with an empty user_session.
RATE_EMPTY_SESSION = 0.0005


def share_sessions_between_users(
    event_user: np.ndarray,
    session_first: np.ndarray,
    user_count: int,
    rng: np.random.Generator,
) -> None:
    """Give one event of :data:`RATE_SESSION_SHARED_USER` of the sessions another user (in place).

    ``session_first`` is the first event of each session in the session-ordered events.
    """
    session_count = session_first.shape[0]
    events_in_session = np.diff(np.append(session_first, event_user.shape[0]))
    eligible = np.flatnonzero(events_in_session >= 2)
    if not eligible.shape[0]:
        return
    probability = min(1.0, RATE_SESSION_SHARED_USER * session_count / eligible.shape[0])
    shared = eligible[rng.random(eligible.shape[0]) < probability]
    pick = (
        session_first[shared]
        + 1
        + (rng.random(shared.shape[0]) * (events_in_session[shared] - 1)).astype(np.int64)
    )
    other = (
        event_user[session_first[shared]]
        + 1
        + rng.integers(0, max(1, user_count - 1), size=shared.shape[0])
    )
    event_user[pick] = (other % user_count).astype(np.int32)


def event_category_codes(
    catalogue: Catalogue, product: np.ndarray, recoded: bool, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``(category_code index or -1, category_id)`` per event, before or after the recode."""
    if recoded:
        missing, category_id = (
            catalogue.code_missing_after_recode,
            catalogue.category_id_after_recode,
        )
    else:
        missing = catalogue.code_missing_before_recode
        category_id = catalogue.category_id_before_recode
    lost = rng.random(product.shape[0]) < RATE_EVENT_LOST_CATEGORY_CODE
    code = np.where(missing[product] | lost, -1, catalogue.category[product]).astype(np.int16)
    return code, category_id[product]


def price_defects(cents: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Prices with zeros, empties (-1) and mis-typed values above 10,000 injected."""
    draw = rng.random(cents.shape[0])
    zero = draw < RATE_PRICE_ZERO
    empty = (draw >= RATE_PRICE_ZERO) & (draw < RATE_PRICE_ZERO + RATE_PRICE_NULL)
    typo = (draw >= RATE_PRICE_ZERO + RATE_PRICE_NULL) & (
        draw < RATE_PRICE_ZERO + RATE_PRICE_NULL + RATE_PRICE_TYPO
    )
    result = np.where(zero, 0, np.where(empty, -1, cents))
    if typo.any():
        typed = result[typo] * 100
        while (small := typed <= 1_000_000).any():  # loop over orders of magnitude only
            typed[small] *= 10
        result[typo] = typed
    return result


def empty_sessions(event_count: int, rng: np.random.Generator) -> np.ndarray:
    """False for the :data:`RATE_EMPTY_SESSION` of events whose user_session is empty."""
    return rng.random(event_count) >= RATE_EMPTY_SESSION


def duplicated_order(
    order: np.ndarray, event_type: np.ndarray, cart_type: int, rng: np.random.Generator
) -> np.ndarray:
    """The time order with duplicate lines right after their original.

    Any line is duplicated with :data:`RATE_DUPLICATE` (of the output lines); a cart line
    additionally with :data:`RATE_CART_DUPLICATE` (same timestamp, identical line).
    """
    draw = rng.random(order.shape[0])
    duplicate = draw < RATE_DUPLICATE / (1.0 - RATE_DUPLICATE)
    is_cart = event_type[order] == cart_type
    duplicate |= is_cart & (rng.random(order.shape[0]) < RATE_CART_DUPLICATE)
    return np.repeat(order, 1 + duplicate.astype(np.int64))

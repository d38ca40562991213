"""The analytic ground truth: expected purchases per day and category, and the in-house ramp.

Computed from the same parameters the simulation samples from (session intensities, persona
shares, category affinities, funnel probabilities, complementary and return follow-ups, the
choice model's prices), never from the sampled events.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from amazing_analytics.generate import pricing, seasonality
from amazing_analytics.generate.sessions import (
    COMPLEMENT_LAG_PMF,
    FOLLOWUP_PURCHASE_RATE,
    P_SECOND_ITEM,
    RETURN_LAG_PMF,
    RETURN_PURCHASE_RATE,
)

if TYPE_CHECKING:
    from amazing_analytics.generate.model import ShopModel

#: Target relative decline of the in-house brand's revenue share (last vs first month).
IN_HOUSE_SHARE_DECLINE = 0.15


def _lagged(source: np.ndarray, pmf: np.ndarray) -> np.ndarray:
    """``sum_k source[d - k] * pmf[k]`` along the first axis (days)."""
    day_count = source.shape[0]
    result = np.zeros_like(source)
    for lag, probability in enumerate(pmf):  # loop over lags only
        if lag >= day_count:
            break
        if probability:
            result[lag:] += source[: day_count - lag] * probability
    return result


def expected_units(model: ShopModel, price_response: np.ndarray | None = None) -> np.ndarray:
    """Expected purchase events per (day, persona, category); ``price_response`` (day x
    category, default the model's) multiplies the base sessions' purchase probability."""
    choice = model.choice
    response = model.price_response if price_response is None else price_response
    buy_probability = np.minimum(
        1.0,
        choice.purchase_rate[None, :, None]
        * model.calendar.conversion[:, None, None]
        * response[:, None, :],
    )  # (D, P, C)
    carting = (
        model.expected_base_sessions[:, None, None]
        * model.persona_session_share[None, :, None]
        * choice.affinity[None]
        * choice.cart_probability[None]
    )
    buying = carting * buy_probability
    units = buying * (1.0 + P_SECOND_ITEM)
    units += _lagged((carting - buying) * RETURN_PURCHASE_RATE, RETURN_LAG_PMF)
    for anchor, accessory, probability in model.complement_rules:  # loop over rules only
        units[:, :, accessory] += _lagged(
            buying[:, :, anchor] * (probability * FOLLOWUP_PURCHASE_RATE), COMPLEMENT_LAG_PMF
        )
    return units


def expected_demand(
    model: ShopModel, units: np.ndarray, in_house_weight: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(units, revenue, in_house_revenue)`` per (day, category) for the given daily weights.

    Purchases are attributed to the day their session starts; prices are the true prices (no
    injected price defects, no duplicate lines). A return purchase is priced with the choice
    model of its purchase day (its product was chosen a few days earlier: a negligible shift).
    """
    choice = model.choice
    weight = in_house_weight[:, None, None]
    steps = np.array(pricing.PRICE_STEPS)[model.price_step]
    factor = model.calendar.price_factor[:, None, None] * steps[:, None, :]
    denominator = weight * choice.in_house_den[None] + choice.other_den[None]
    in_house_price = weight * choice.in_house_num[None] / denominator
    price = in_house_price + choice.other_num[None] / denominator
    revenue = (units * price * factor).sum(axis=1)
    in_house_revenue = (units * in_house_price * factor).sum(axis=1)
    return units.sum(axis=1), revenue, in_house_revenue


def monthly_in_house_share(
    model: ShopModel, revenue: np.ndarray, in_house_revenue: np.ndarray
) -> np.ndarray:
    """Expected in-house revenue share in the in-house categories, per calendar month."""
    mask = model.in_house_categories
    return np.array(
        [
            in_house_revenue[first:end, mask].sum() / revenue[first:end, mask].sum()
            for _, _, first, end in model.calendar.months
        ]
    )


def calibrate_in_house(model: ShopModel, units: np.ndarray) -> float:
    """End weight of the in-house ramp giving the target share decline (bisection)."""
    target = 1.0 - IN_HOUSE_SHARE_DECLINE
    if len(model.calendar.months) < 2:
        return target
    low, high = 0.05, 1.0
    for _ in range(40):
        middle = 0.5 * (low + high)
        weight = seasonality.in_house_weight(model.calendar, model.ramp_start, middle)
        _, revenue, in_house_revenue = expected_demand(model, units, weight)
        share = monthly_in_house_share(model, revenue, in_house_revenue)
        low, high = (middle, high) if share[-1] / share[0] < target else (low, middle)
    return 0.5 * (low + high)

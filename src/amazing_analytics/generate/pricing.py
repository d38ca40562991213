"""Category price moves and the shoppers' response to them: the truth the elasticity recovers.

Each second-level category (the first two levels of its code, as the warehouse's
``category_level_2``) has a purchase elasticity and a flag saying whether its price moves
(``data/category_pricing.csv``). A moving category's shelf price is re-set every
:data:`PRICE_PERIOD_DAYS` days (a phase per category) to its base price times a step drawn
uniformly from :data:`PRICE_STEPS` (a raised price is capped at the category's ``max_price``,
so the few products at the top of the range move less); the steps are drawn from their own seed stream, so the rest
of the simulation is the same draw for draw. A category that does not move keeps step 1.0.

The response: on a day with step ``m``, a base session's probability of buying the carted
product is multiplied by ``m ** elasticity`` (clipped at 1 with the rest of that probability),
so the base purchases of the category move by that factor. Views and carts do not respond, nor
do the purchases of abandoned carts in a later session (at that day's price) and of accessories:
the elasticity of all the category's units, the quantity ``price_elasticity`` estimates, is
about 0.75 x the purchase elasticity; the ground truth writes it, computed from the expected
demand (``ground_truth.write_price_elasticity``).
The shop-wide Black Friday discount (:data:`seasonality.BLACK_FRIDAY_PRICE_FACTOR`) is not a
category move and has no such response (Black Friday has its own conversion multipliers).
"""

from __future__ import annotations

import numpy as np

from amazing_analytics.generate.catalogue import CATEGORY_CODES, _read_package_csv

#: Multipliers of the base price a moving category's price can take.
PRICE_STEPS: tuple[float, ...] = (0.85, 0.90, 0.95, 1.00, 1.05, 1.10, 1.15)
#: Index of the step 1.0 (the price of a category that does not move).
BASE_STEP = PRICE_STEPS.index(1.00)
#: Days between two price changes of a moving category.
PRICE_PERIOD_DAYS = 14


def level_2(category_code: str) -> str:
    """The first two levels of a category code (``electronics.audio.headphone`` ->
    ``electronics.audio``)."""
    return ".".join(category_code.split(".")[:2])


def _pricing_rows() -> dict[str, tuple[float, bool]]:
    rows = _read_package_csv("category_pricing.csv")
    return {
        row["category_level_2"]: (float(row["purchase_elasticity"]), row["price_moves"] == "1")
        for row in rows
    }


#: category_level_2 -> (true elasticity, whether its price moves).
CATEGORY_PRICING: dict[str, tuple[float, bool]] = _pricing_rows()

_missing = sorted({level_2(code) for code in CATEGORY_CODES} - set(CATEGORY_PRICING))
if _missing:  # pragma: no cover - guards the package data
    raise ValueError(f"category_pricing.csv lacks categories {_missing}")


def category_elasticity() -> np.ndarray:
    """True elasticity per generator category (index of ``CATEGORY_CODES``)."""
    return np.array([CATEGORY_PRICING[level_2(code)][0] for code in CATEGORY_CODES])


def plan_price_steps(day_count: int, rng: np.random.Generator) -> np.ndarray:
    """Index into :data:`PRICE_STEPS` per (day, generator category), shared by the categories of
    one second-level category."""
    keys = sorted(CATEGORY_PRICING)
    periods = day_count // PRICE_PERIOD_DAYS + 2
    by_key = np.full((day_count, len(keys)), BASE_STEP, dtype=np.int8)
    for column, key in enumerate(keys):  # loop over the 28 keys only
        phase = int(rng.integers(0, PRICE_PERIOD_DAYS))
        steps = rng.integers(0, len(PRICE_STEPS), size=periods).astype(np.int8)
        if CATEGORY_PRICING[key][1]:
            period = (np.arange(day_count) + phase) // PRICE_PERIOD_DAYS
            by_key[:, column] = steps[period]
    index = [keys.index(level_2(code)) for code in CATEGORY_CODES]
    return by_key[:, index]


def price_response(steps: np.ndarray) -> np.ndarray:
    """``m ** elasticity`` per (day, generator category) for the step indices ``steps``."""
    multiplier = np.array(PRICE_STEPS)[steps]
    return multiplier ** category_elasticity()[None, :]

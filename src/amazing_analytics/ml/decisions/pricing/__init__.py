"""Price elasticity per second-level category, and price suggestions for the focus brand.

Elasticity: per category, a Poisson regression (log link) of the day's units on the log of its
price index, with calendar controls::

    log E[units_d] = a + elasticity * log p_d + b * log sessions_d + c * log P_d
                     + day-of-week_d + holiday_d

``p_d`` is the category's fixed-basket price index (the mean over the day's priced views of
log(price / the product's median price), so a change of the mix of products bought does not
look like a price move), ``sessions_d`` the shop's sessions (traffic and season), ``P_d`` the
price index of the rest of the shop (shop-wide promotions such as Black Friday, which come with
their own rush). A log-log model, so the slope is the elasticity: +1 % price, ``elasticity`` %
units. Poisson rather than least squares on log units because most category-days sell a few
units or none. The interval uses the sandwich (robust) standard error, which stays valid when
the units are more dispersed than Poisson.

A category whose price barely moves (standard deviation of ``log p_d`` below a var) is
``not_identifiable``: no elasticity is guessed. Too few days or units: ``insufficient_data``,
with a WARN.

Suggestions: for the focus brand's ``underperforming`` and ``high_potential`` products, the
price change within the guardrail (±var, on a grid of var step) that maximises the expected
revenue ``(1 + r) ** (1 + elasticity)`` or, with a cost share ``c`` of the current price, the
expected margin ``(1 + r) ** elasticity * (1 + r - c)``, with the effect of the elasticity's
interval. They are for marketing to decide; nothing is applied.

Two modules: ``elasticity`` (the Poisson fit and price_elasticity) and ``suggestions`` (the
guardrailed change and price_suggestions); the package re-exports their public names.
"""

from amazing_analytics.ml.decisions.pricing.elasticity import (
    ELASTICITY_COLUMNS,
    PoissonFit,
    build_price_elasticity,
    estimate_elasticity,
    fit_poisson,
)
from amazing_analytics.ml.decisions.pricing.suggestions import (
    DECISION,
    SUGGESTED_LABELS,
    SUGGESTION_COLUMNS,
    best_change,
    build_price_suggestions,
    change_grid,
    objective_factor,
)

__all__ = [
    "DECISION",
    "ELASTICITY_COLUMNS",
    "SUGGESTED_LABELS",
    "SUGGESTION_COLUMNS",
    "PoissonFit",
    "best_change",
    "build_price_elasticity",
    "build_price_suggestions",
    "change_grid",
    "estimate_elasticity",
    "fit_poisson",
    "objective_factor",
]

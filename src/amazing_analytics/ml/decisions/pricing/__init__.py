"""Price elasticity per second-level category, and price suggestions for the focus brand.

Two modules: ``elasticity`` (a Poisson regression of each category's daily units on its price
index with calendar controls: price_elasticity, or why a category has no elasticity) and
``suggestions`` (for the brand's underperforming and high-potential products, the price change
within the guardrail that maximises the expected revenue or margin: price_suggestions, for
marketing to decide, never applied). The package re-exports their public names.
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

"""Shopper personas and the user population of the synthetic shop.

A persona fixes a user's category affinities, price sensitivity, brand preferences, visit
frequency and funnel propensities. Users additionally get an individual, heavy-tailed
(log-normal) activity multiplier, so a few users visit very often and most only once or twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from amazing_analytics.generate.catalogue import BRANDS, CATEGORIES

#: Range of REES46-like user ids (inclusive lower bound, exclusive upper bound).
USER_ID_RANGE = (500_000_000, 600_000_000)
#: Log-normal sigma of the individual activity multiplier (heavy-tailed visits per user).
USER_ACTIVITY_SIGMA = 1.1
#: Expected sessions per user = base + per_month * months of the span (sizes the population).
USER_SESSIONS_BASE = 1.0
USER_SESSIONS_PER_MONTH = 0.5


@dataclass(frozen=True)
class Persona:
    """A shopper archetype.

    Attributes:
        name: Persona name written to the ground truth.
        share: Share of the user population.
        visit_rate: Relative number of sessions per user (before the individual multiplier).
        price_sensitivity: Exponent ``beta`` of the choice weight ``(price/median)**-beta``;
            negative values prefer expensive products.
        cart_rate: Probability that a session adds to cart (times the category conversion).
        purchase_rate: Probability that a session with a cart purchases (times the daily
            conversion multiplier of the calendar).
        family_affinity: Multipliers of the category traffic per category family (default 1).
        brand_affinity: Multipliers of the product choice weight per brand (default 1).
    """

    name: str
    share: float
    visit_rate: float
    price_sensitivity: float
    cart_rate: float
    purchase_rate: float
    family_affinity: Mapping[str, float] = field(default_factory=dict)
    brand_affinity: Mapping[str, float] = field(default_factory=dict)


PERSONAS: tuple[Persona, ...] = (
    Persona("window_shopper", 0.34, 0.8, 0.6, 0.028, 0.17),
    Persona(
        "bargain_hunter",
        0.20,
        1.4,
        1.6,
        0.083,
        0.26,
        {"tech_accessories": 1.6, "entertainment": 1.3, "mobile": 1.2, "fashion": 1.2},
        {
            "xiaomi": 1.6,
            "amazingbasics": 1.8,
            "honor": 1.4,
            "defender": 1.3,
            "apple": 0.4,
            "dyson": 0.3,
        },
    ),
    Persona(
        "tech_enthusiast",
        0.12,
        2.2,
        0.15,
        0.10,
        0.27,
        {
            "mobile": 2.2,
            "computers": 2.5,
            "tech_accessories": 2.0,
            "entertainment": 1.6,
            "tv_video": 1.5,
            "appliances": 0.4,
            "furniture": 0.2,
            "fashion": 0.3,
            "kids": 0.3,
            "sport": 0.4,
            "diy": 0.4,
        },
        {
            "apple": 1.8,
            "samsung": 1.4,
            "sony": 1.3,
            "razer": 2.0,
            "logitech": 1.3,
            "amazingbasics": 0.8,
        },
    ),
    Persona(
        "home_maker",
        0.12,
        1.2,
        0.9,
        0.092,
        0.29,
        {
            "appliances": 3.5,
            "furniture": 3.0,
            "kids": 2.5,
            "diy": 1.3,
            "computers": 0.5,
            "tech_accessories": 0.6,
        },
        {"bosch": 1.4, "tefal": 1.4, "lg": 1.2, "samsung": 1.2},
    ),
    Persona(
        "fashion_fan",
        0.09,
        1.5,
        0.5,
        0.092,
        0.24,
        {
            "fashion": 5.0,
            "entertainment": 1.2,
            "mobile": 1.2,
            "sport": 1.3,
            "computers": 0.4,
            "appliances": 0.5,
            "diy": 0.2,
        },
        {"nike": 1.4, "adidas": 1.4, "apple": 1.4},
    ),
    Persona(
        "entertainment_fan",
        0.06,
        1.5,
        0.6,
        0.092,
        0.27,
        {"entertainment": 3.5, "tv_video": 3.0, "mobile": 1.2},
        {"sony": 1.5, "jbl": 1.5, "marshall": 1.8, "lg": 1.2},
    ),
    Persona(
        "loyal_big_spender",
        0.03,
        4.0,
        -0.6,
        0.165,
        0.38,
        {"mobile": 1.5, "computers": 1.5, "tv_video": 1.5, "appliances": 1.5, "furniture": 1.3},
        {
            "apple": 2.5,
            "dyson": 2.5,
            "sony": 1.5,
            "bosch": 1.5,
            "samsung": 1.3,
            "amazingbasics": 0.5,
            "xiaomi": 0.6,
        },
    ),
    Persona(
        "outdoor_diy",
        0.04,
        1.2,
        0.8,
        0.083,
        0.27,
        {"sport": 4.0, "diy": 4.0, "auto": 3.0, "tech_accessories": 0.8},
        {"bosch": 1.3, "makita": 1.5},
    ),
)

PERSONA_NAMES: tuple[str, ...] = tuple(p.name for p in PERSONAS)


def category_affinity() -> np.ndarray:
    """Probability that a session of persona p targets category c, shape (personas, categories)."""
    traffic = np.array([c.traffic for c in CATEGORIES])
    a = np.array(
        [
            [traffic[ci] * p.family_affinity.get(c.family, 1.0) for ci, c in enumerate(CATEGORIES)]
            for p in PERSONAS
        ]
    )
    return a / a.sum(axis=1, keepdims=True)


def brand_affinity() -> np.ndarray:
    """Brand multipliers of the choice weight, shape (personas, brands)."""
    return np.array([[p.brand_affinity.get(b, 1.0) for b in BRANDS] for p in PERSONAS])


@dataclass(frozen=True)
class Users:
    """The user population; arrays indexed by the internal user index."""

    user_id: np.ndarray  # int64
    persona: np.ndarray  # int8, index into PERSONAS
    weight: np.ndarray  # float64, relative session intensity (visit_rate * activity)

    @property
    def size(self) -> int:
        """Number of users."""
        return int(self.user_id.shape[0])


def population_size(total_sessions: float, months: float) -> int:
    """Number of users for ``total_sessions`` expected sessions over ``months`` months."""
    per_user = USER_SESSIONS_BASE + USER_SESSIONS_PER_MONTH * months
    return int(max(50, round(total_sessions / per_user)))


def build_users(n_users: int, rng: np.random.Generator) -> Users:
    """Draw ``n_users`` users with personas and heavy-tailed activity."""
    shares = np.array([p.share for p in PERSONAS])
    persona = rng.choice(len(PERSONAS), size=n_users, p=shares / shares.sum()).astype(np.int8)
    visit = np.array([p.visit_rate for p in PERSONAS])[persona]
    activity = rng.lognormal(-0.5 * USER_ACTIVITY_SIGMA**2, USER_ACTIVITY_SIGMA, size=n_users)
    lo, hi = USER_ID_RANGE
    user_id = rng.choice(hi - lo, size=n_users, replace=False).astype(np.int64) + lo
    return Users(user_id=user_id, persona=persona, weight=visit * activity)

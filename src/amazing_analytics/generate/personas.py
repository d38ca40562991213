"""Shopper personas of the synthetic shop.

A persona fixes a shopper's category affinities, price sensitivity, brand preferences, visit
frequency, funnel propensities and how loyal the shopper is to one category and one taste.
The personas differ visibly in category-family shares, price level and brand loyalty /
in-house-brand share, so a segmentation on those features can recover them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from amazing_analytics.generate.catalogue import BRANDS, CATEGORIES


@dataclass(frozen=True)
class Persona:
    """A shopper archetype.

    Attributes:
        name: Persona name written to the ground truth.
        share: Share of the user population.
        visit_rate: Relative number of sessions per user (before the individual multiplier).
        price_sensitivity: Exponent ``beta`` of the choice weight ``(price/median)**-beta``;
            negative values prefer expensive products.
        cart_rate: Probability that a session adds to cart (times the category conversion and
            the funnel calibration).
        purchase_rate: Probability that a session with a cart purchases (times the daily
            conversion multiplier of the calendar and the funnel calibration).
        home_category_rate: Probability that a session targets the shopper's own favourite
            category (drawn once per shopper from the persona's affinities).
        taste_spread: Width (on the unit interval of a category's cumulative choice weights,
            ordered by brand and price) of the products a shopper starts browsing from; small
            values are brand- and price-loyal shoppers.
        family_affinity: Multipliers of the category traffic per category family (default 1).
        brand_affinity: Multipliers of the product choice weight per brand (default 1).
    """

    name: str
    share: float
    visit_rate: float
    price_sensitivity: float
    cart_rate: float
    purchase_rate: float
    home_category_rate: float
    taste_spread: float
    family_affinity: Mapping[str, float] = field(default_factory=dict)
    brand_affinity: Mapping[str, float] = field(default_factory=dict)


PERSONAS: tuple[Persona, ...] = (
    Persona(
        name="window_shopper",
        share=0.34,
        visit_rate=0.8,
        price_sensitivity=0.6,
        cart_rate=0.028,
        purchase_rate=0.17,
        home_category_rate=0.35,
        taste_spread=0.35,
        family_affinity={"mobile": 2.5, "tv_video": 2.5},
    ),
    Persona(
        name="bargain_hunter",
        share=0.20,
        visit_rate=1.4,
        price_sensitivity=1.8,
        cart_rate=0.083,
        purchase_rate=0.26,
        home_category_rate=0.45,
        taste_spread=0.30,
        family_affinity={"tech_accessories": 9.0, "entertainment": 4.0, "mobile": 0.5},
        brand_affinity={
            "xiaomi": 1.6,
            "amazingbasics": 3.0,
            "honor": 1.4,
            "defender": 1.3,
            "apple": 0.3,
            "dyson": 0.3,
        },
    ),
    Persona(
        name="tech_enthusiast",
        share=0.12,
        visit_rate=2.2,
        price_sensitivity=0.1,
        cart_rate=0.10,
        purchase_rate=0.27,
        home_category_rate=0.6,
        taste_spread=0.12,
        family_affinity={
            "mobile": 0.8,
            "computers": 12.0,
            "tech_accessories": 2.0,
            "appliances": 0.3,
            "furniture": 0.1,
            "fashion": 0.2,
            "kids": 0.2,
            "sport": 0.3,
            "diy": 0.3,
        },
        brand_affinity={
            "apple": 1.8,
            "samsung": 1.4,
            "razer": 2.0,
            "logitech": 1.5,
            "asus": 1.4,
            "amazingbasics": 0.5,
        },
    ),
    Persona(
        name="home_maker",
        share=0.12,
        visit_rate=1.2,
        price_sensitivity=0.9,
        cart_rate=0.092,
        purchase_rate=0.29,
        home_category_rate=0.55,
        taste_spread=0.2,
        family_affinity={
            "appliances": 10.0,
            "furniture": 10.0,
            "kids": 8.0,
            "mobile": 0.3,
            "computers": 0.3,
            "tech_accessories": 0.4,
        },
        brand_affinity={"bosch": 1.4, "tefal": 1.4, "lg": 1.2, "samsung": 1.2},
    ),
    Persona(
        name="fashion_fan",
        share=0.09,
        visit_rate=1.5,
        price_sensitivity=0.5,
        cart_rate=0.092,
        purchase_rate=0.24,
        home_category_rate=0.6,
        taste_spread=0.15,
        family_affinity={
            "fashion": 30.0,
            "sport": 2.0,
            "mobile": 0.6,
            "computers": 0.2,
            "appliances": 0.3,
            "diy": 0.1,
        },
        brand_affinity={"nike": 1.6, "adidas": 1.6, "apple": 1.4},
    ),
    Persona(
        name="entertainment_fan",
        share=0.06,
        visit_rate=1.5,
        price_sensitivity=0.6,
        cart_rate=0.092,
        purchase_rate=0.27,
        home_category_rate=0.55,
        taste_spread=0.15,
        family_affinity={"entertainment": 16.0, "tv_video": 6.0, "mobile": 0.5},
        brand_affinity={"sony": 1.6, "jbl": 1.6, "marshall": 1.8, "lg": 1.2},
    ),
    Persona(
        name="loyal_big_spender",
        share=0.03,
        visit_rate=4.0,
        price_sensitivity=-0.8,
        cart_rate=0.165,
        purchase_rate=0.38,
        home_category_rate=0.7,
        taste_spread=0.05,
        family_affinity={
            "mobile": 1.5,
            "computers": 1.5,
            "tv_video": 4.0,
            "appliances": 3.0,
            "furniture": 3.0,
            "tech_accessories": 0.4,
        },
        brand_affinity={
            "apple": 3.0,
            "dyson": 2.5,
            "sony": 1.5,
            "bosch": 1.5,
            "samsung": 1.3,
            "amazingbasics": 0.3,
            "xiaomi": 0.5,
        },
    ),
    Persona(
        name="outdoor_diy",
        share=0.04,
        visit_rate=1.2,
        price_sensitivity=0.8,
        cart_rate=0.083,
        purchase_rate=0.27,
        home_category_rate=0.6,
        taste_spread=0.15,
        family_affinity={
            "sport": 25.0,
            "diy": 25.0,
            "auto": 20.0,
            "mobile": 0.5,
            "tech_accessories": 0.5,
        },
        brand_affinity={"bosch": 1.3, "makita": 1.5},
    ),
)

PERSONA_NAMES: tuple[str, ...] = tuple(p.name for p in PERSONAS)


def persona_array(attribute: str) -> np.ndarray:
    """One numeric attribute of every persona, e.g. ``persona_array("cart_rate")``."""
    return np.array([getattr(persona, attribute) for persona in PERSONAS], dtype=float)


def category_affinity() -> np.ndarray:
    """Probability that a session of persona p targets category c, shape (personas, categories)."""
    traffic = np.array([c.traffic for c in CATEGORIES])
    affinity = np.array(
        [
            [
                traffic[index] * p.family_affinity.get(c.family, 1.0)
                for index, c in enumerate(CATEGORIES)
            ]
            for p in PERSONAS
        ]
    )
    return affinity / affinity.sum(axis=1, keepdims=True)


def brand_affinity() -> np.ndarray:
    """Brand multipliers of the choice weight, shape (personas, brands)."""
    return np.array([[p.brand_affinity.get(b, 1.0) for b in BRANDS] for p in PERSONAS])

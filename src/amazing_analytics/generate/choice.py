"""The shoppers' choice model: which category a session targets, which product is viewed or
bought, and the funnel probabilities.

Product choice weights per persona are ``popularity * (price/median)**-beta * brand_affinity``
(times the day's in-house weight for ``amazingbasics``). A product is drawn in two stages: in-house
or competitor (a Bernoulli with the segments' weights), then a product of that segment by
inverting its cumulative weights at a uniform. Callers pass the uniforms, so the same function
serves random draws, a shopper's fixed taste and a browsing walk (see :mod:`.browsing`).
"""

from __future__ import annotations

import numpy as np

from amazing_analytics.generate.catalogue import CATEGORIES, Catalogue
from amazing_analytics.generate.personas import (
    PERSONAS,
    brand_affinity,
    category_affinity,
    persona_array,
)

#: Multiplier of every persona's add-to-cart rate (calibrates the cart share of the events).
CART_RATE_SCALE = 1.75
#: Multiplier of every persona's purchase rate (calibrates the purchase share of the events).
PURCHASE_RATE_SCALE = 1.55
#: Highest add-to-cart probability of a session.
MAX_CART_PROBABILITY = 0.95


def _row_cumsum(matrix: np.ndarray) -> np.ndarray:
    """Cumulative sums along rows, each row ending exactly at 1.0."""
    cumulative = np.cumsum(matrix, axis=1)
    cumulative = cumulative / cumulative[:, -1:]
    cumulative[:, -1] = 1.0
    return cumulative


class ChoiceModel:
    """Category affinities, product choice weights and funnel rates of every persona."""

    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue
        persona_count = len(PERSONAS)
        self.affinity = category_affinity()  # (P, C)
        self.category_count = self.affinity.shape[1]
        self.affinity_keys = (
            np.arange(persona_count)[:, None] + _row_cumsum(self.affinity)
        ).ravel()
        conversion = np.array([c.conversion for c in CATEGORIES])
        cart_rate = persona_array("cart_rate") * CART_RATE_SCALE
        self.cart_probability = np.minimum(
            MAX_CART_PROBABILITY, cart_rate[:, None] * conversion[None, :]
        )
        self.purchase_rate = persona_array("purchase_rate") * PURCHASE_RATE_SCALE
        self.product_count = catalogue.size
        self.segment_count = 2 * self.category_count
        self.product_segment = 2 * catalogue.category.astype(np.int64) + catalogue.in_house
        self._build_choice_keys()
        self.in_house_weight = np.ones(1)

    def _build_choice_keys(self) -> None:
        """Flat cumulative keys ``persona * segments + segment + within`` over the products."""
        catalogue = self.catalogue
        persona_count = len(PERSONAS)
        median = np.array([c.median_price for c in CATEGORIES])[catalogue.category]
        price = catalogue.price_cents / 100.0
        beta = persona_array("price_sensitivity")
        weights = (
            catalogue.popularity[None, :]
            * (price / median)[None, :] ** -beta[:, None]
            * brand_affinity()[:, catalogue.brand]
        )
        segment = self.product_segment
        keys = np.empty((persona_count, self.product_count))
        self.segment_weight = np.zeros((persona_count, self.segment_count))
        self.segment_price_weight = np.zeros((persona_count, self.segment_count))
        starts = catalogue.segment_start
        for persona in range(persona_count):  # loop over personas only
            row = weights[persona]
            self.segment_weight[persona] = np.bincount(
                segment, weights=row, minlength=self.segment_count
            )
            self.segment_price_weight[persona] = np.bincount(
                segment, weights=row * price, minlength=self.segment_count
            )
            cumulative = np.cumsum(row)
            before = np.concatenate([[0.0], cumulative])[starts[:-1]]
            within = (cumulative - before[segment]) / self.segment_weight[persona][segment]
            nonempty = starts[1:] > starts[:-1]
            within[(starts[1:] - 1)[nonempty]] = 1.0
            keys[persona] = persona * self.segment_count + segment + within
        self.choice_keys = keys.ravel()
        self.in_house_den = self.segment_weight[:, 1::2]  # (P, C) in-house weight
        self.other_den = self.segment_weight[:, 0::2]
        self.in_house_num = self.segment_price_weight[:, 1::2]
        self.other_num = self.segment_price_weight[:, 0::2]

    # ------------------------------------------------------------------------ categories ---
    def category_at(self, persona: np.ndarray, uniform: np.ndarray) -> np.ndarray:
        """The category of the persona's affinity at ``uniform`` (inverse CDF)."""
        persona = persona.astype(np.int64)
        position = np.searchsorted(self.affinity_keys, persona + (1.0 - uniform))
        position = np.maximum(position, persona * self.category_count)
        return (position - persona * self.category_count).astype(np.int16)

    def sample_category(self, persona: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Draw a category per row from the persona's affinity."""
        return self.category_at(persona, rng.random(persona.shape[0]))

    # -------------------------------------------------------------------------- products ---
    def in_house_probability(
        self, category: np.ndarray, persona: np.ndarray, day: np.ndarray
    ) -> np.ndarray:
        """Probability that the product chosen in ``category`` on ``day`` is in-house."""
        category = category.astype(np.int64)
        persona = persona.astype(np.int64)
        weighted = self.in_house_weight[day] * self.in_house_den[persona, category]
        return weighted / (weighted + self.other_den[persona, category])

    def product_at(
        self,
        category: np.ndarray,
        persona: np.ndarray,
        is_in_house: np.ndarray,
        uniform: np.ndarray,
    ) -> np.ndarray:
        """The product of the segment (category, in-house flag) at ``uniform`` in [0, 1)."""
        persona = persona.astype(np.int64)
        segment = 2 * category.astype(np.int64) + is_in_house
        position = np.searchsorted(
            self.choice_keys, persona * self.segment_count + segment + (1.0 - uniform)
        )
        position = np.maximum(
            position, persona * self.product_count + self.catalogue.segment_start[segment]
        )
        return (position - persona * self.product_count).astype(np.int32)

    def balanced_in_house(
        self,
        category: np.ndarray,
        persona: np.ndarray,
        day: np.ndarray,
        rng: np.random.Generator,
    ) -> np.ndarray:
        """In-house flags by systematic sampling over the rows ordered by (category, day).

        Every row keeps exactly its probability, but the number of in-house rows per category
        tracks its expectation to within one, so the in-house share decline is measurable at
        demo sizes (used for purchased products).
        """
        probability = self.in_house_probability(category, persona, day)
        order = np.lexsort((day, category.astype(np.int64)))
        cumulative = np.cumsum(probability[order])
        offset = rng.random()
        hit = (
            np.floor(cumulative + offset) - np.floor(cumulative - probability[order] + offset) > 0.5
        )
        flags = np.empty(category.shape[0], dtype=bool)
        flags[order] = hit
        return flags

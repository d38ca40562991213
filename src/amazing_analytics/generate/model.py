"""Everything that is fixed for a run: calendar, volumes, catalogue, users, choice model."""

from __future__ import annotations

from datetime import date

import numpy as np

from amazing_analytics.generate import catalogue as catalogue_data
from amazing_analytics.generate import demand, population, pricing, seasonality
from amazing_analytics.generate.choice import ChoiceModel
from amazing_analytics.generate.personas import category_affinity, persona_array
from amazing_analytics.generate.sessions import (
    COMPLEMENT_LAG_PMF,
    EVENTS_PER_SESSION,
    RETURN_PURCHASE_RATE,
)


class ShopModel:
    """Static quantities of a run, shared by the simulation and the analytic ground truth."""

    def __init__(
        self, events: int, start: date, end: date, seeds: list[np.random.SeedSequence]
    ) -> None:
        self.events = events
        self.start = start
        self.end = end
        self.calendar = seasonality.build_calendar(start, end)
        # the third seed drives the category price moves only (see pricing)
        self.price_step = pricing.plan_price_steps(
            self.calendar.n_days, np.random.default_rng(seeds[2])
        )
        self.price_response = pricing.price_response(self.price_step)
        shares = persona_array("share") * persona_array("visit_rate")
        self.persona_session_share = shares / shares.sum()
        self.catalogue = catalogue_data.build_catalogue(
            catalogue_data.catalogue_size(events),
            np.random.default_rng(seeds[0]),
            self.persona_session_share @ category_affinity(),
        )
        self.choice = ChoiceModel(self.catalogue)
        self.home_category_rate = persona_array("home_category_rate")
        self.taste_spread = persona_array("taste_spread")
        self.complement_rules = [
            (catalogue_data.CATEGORY_INDEX[anchor], catalogue_data.CATEGORY_INDEX[accessory], q)
            for anchor, accessories in catalogue_data.COMPLEMENTS.items()
            for accessory, q in accessories
        ]
        self._plan_volumes()
        users_rng = np.random.default_rng(seeds[1])
        base_total = float(self.month_sessions.sum())
        user_count = population.population_size(
            base_total, base_total * (1.0 + self.followups_per_session), users_rng
        )
        self.users = population.build_users(user_count, users_rng)
        self.user_cumulative_weight = np.cumsum(self.users.weight)
        drawn = np.bincount(self.users.persona, weights=self.users.weight, minlength=len(shares))
        self.persona_session_share = drawn / drawn.sum()
        # price level = shop level (Black Friday) x category step, index level * steps + step;
        # a raised price stays within the category's price range (max_price), as the base does
        levels = np.outer(seasonality.PRICE_LEVELS, pricing.PRICE_STEPS).ravel()
        base = self.catalogue.price_cents
        ceiling = np.array([round(c.max_price * 100) for c in catalogue_data.CATEGORIES])
        self.level_cents = np.minimum(
            np.round(base[None, :] * levels[:, None]),
            np.maximum(base, ceiling[self.catalogue.category])[None, :],
        ).astype(np.int64)
        hourly = seasonality.HOURLY_PROFILE_UTC
        self.hour_cumulative = np.cumsum(hourly / hourly.sum())
        self._plan_in_house_ramp()

    def _plan_volumes(self) -> None:
        """Lines per month (REES46 ratio), base sessions per month and per day."""
        calendar = self.calendar
        self.month_lines = self.events * seasonality.month_line_shares(calendar)
        self.followups_per_session = self._expected_followups_per_session()
        sessions = self.month_lines / EVENTS_PER_SESSION / (1.0 + self.followups_per_session)
        self.month_sessions = np.maximum(1, np.round(sessions)).astype(np.int64)
        self.expected_base_sessions = np.empty(calendar.n_days)
        for (_, _, first, end), count in zip(calendar.months, self.month_sessions, strict=True):
            intensity = calendar.intensity[first:end]
            self.expected_base_sessions[first:end] = count * intensity / intensity.sum()

    def _expected_followups_per_session(self) -> float:
        """Expected follow-up sessions (later accessories, returns) per base session."""
        choice = self.choice
        buy = np.minimum(1.0, choice.purchase_rate)[:, None]
        carting = self.persona_session_share[:, None] * choice.affinity * choice.cart_probability
        followups = (carting * (1.0 - buy)).sum() * RETURN_PURCHASE_RATE
        later = 1.0 - COMPLEMENT_LAG_PMF[0]
        for anchor, _, probability in self.complement_rules:  # loop over rules only
            followups += (carting[:, anchor] * buy[:, 0]).sum() * probability * later
        return float(followups)

    def _plan_in_house_ramp(self) -> None:
        """Calibrate the in-house weight ramp and compute the expected demand with it."""
        self.in_house_categories = catalogue_data.in_house_category_mask()
        self.ramp_start = seasonality.in_house_ramp_start(self.start, self.end)
        units = demand.expected_units(self)
        self.in_house_end_weight = demand.calibrate_in_house(self, units)
        self.in_house_weight = seasonality.in_house_weight(
            self.calendar, self.ramp_start, self.in_house_end_weight
        )
        self.choice.in_house_weight = self.in_house_weight
        self.expected_units, self.expected_revenue, self.expected_in_house_revenue = (
            demand.expected_demand(self, units, self.in_house_weight)
        )

    def sample_users(self, count: int, rng: np.random.Generator) -> np.ndarray:
        """Draw users proportionally to their session intensity."""
        draw = rng.random(count) * self.user_cumulative_weight[-1]
        index = np.searchsorted(self.user_cumulative_weight, draw, side="right")
        return np.minimum(index, self.users.size - 1).astype(np.int32)

    def sample_start(self, day: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Session start times (Unix seconds) on the given days, following the hourly cycle."""
        hour = np.searchsorted(self.hour_cumulative, rng.random(day.shape[0]), side="right")
        hour = np.minimum(hour, 23)
        return self.calendar.day_epoch[day] + hour * 3600 + rng.integers(0, 3600, size=day.shape[0])

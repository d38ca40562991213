"""What shoppers view: browsing runs that walk through similar products.

A session's views are split into *runs*. A run starts at the shopper's taste in a category (their
fixed position on the category's cumulative choice weights, see :mod:`.taste`, spread by the
persona's ``taste_spread``) and then walks: each further view moves a small random step
(:data:`BROWSING_STEP_PER_SPREAD` times the persona's taste spread) along the category's products, which are ordered by brand and price, so
the next product is mostly the same one again or a product of the same brand at a similar price.
A new run starts with :data:`P_NEW_RUN`, in another category with :data:`P_OTHER_CATEGORY_RUN`.

This is what makes a session predictable from its last product (a co-visitation counter beats
popularity, as on the real logs) and a shopper predictable from their history (they come back to
the same products), while every single view still follows the persona's choice model exactly
(a random walk on the circle started at a uniform point stays uniform).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from amazing_analytics.generate.sessions import FOLLOWUP_MEAN_VIEWS
from amazing_analytics.generate.taste import PURPOSE_IN_HOUSE, PURPOSE_POSITION, taste_uniform

if TYPE_CHECKING:
    from amazing_analytics.generate.model import ShopModel
    from amazing_analytics.generate.sessions import Sessions

#: Probability that a view after the first one starts a new run instead of stepping on.
P_NEW_RUN = 0.7
#: Share of new runs that browse another category than the session's target.
P_OTHER_CATEGORY_RUN = 0.5
#: Standard deviation of a browsing step on the unit interval of a category's choice weights, as
#: a multiple of the persona's ``taste_spread`` (loyal shoppers also step less far).
BROWSING_STEP_PER_SPREAD = 0.6
#: Gamma shape of the views-per-session weights (smaller = heavier tail).
VIEW_DISPERSION = 0.45
#: Relative number of views of sessions that add to cart.
CART_SESSION_VIEW_WEIGHT = 2.0
#: Most views of one session.
MAX_VIEWS_PER_SESSION = 2_000


@dataclass
class Runs:
    """Browsing runs: who browses which category, from where, for how many views."""

    user: np.ndarray  # int32
    persona: np.ndarray  # int8
    category: np.ndarray  # int16
    day: np.ndarray  # int64
    length: np.ndarray  # int64 views


@dataclass
class Walk:
    """The views of a set of runs, run after run."""

    run: np.ndarray  # int64 run index per view
    product: np.ndarray  # int32
    uniform: np.ndarray  # float64 position on the category's cumulative weights
    in_house: np.ndarray  # bool per view (the run's segment)


def walk_runs(model: ShopModel, runs: Runs, rng: np.random.Generator) -> Walk:
    """Products viewed along each run (start at the shopper's taste, then small steps)."""
    run_count = runs.user.shape[0]
    salt = model.users.taste_salt[runs.user]
    taste_in_house = taste_uniform(salt, runs.category, PURPOSE_IN_HOUSE)
    in_house = taste_in_house < model.choice.in_house_probability(
        runs.category, runs.persona, runs.day
    )
    spread = model.taste_spread[runs.persona]
    start = taste_uniform(salt, runs.category, PURPOSE_POSITION) + spread * (
        rng.random(run_count) - 0.5
    )
    run = np.repeat(np.arange(run_count), runs.length)
    first = np.cumsum(runs.length) - runs.length
    steps = rng.normal(0.0, 1.0, size=run.shape[0]) * (BROWSING_STEP_PER_SPREAD * spread[run])
    steps[first[runs.length > 0]] = 0.0
    walked = np.cumsum(steps)
    offset = walked - walked[first[run]]
    uniform = np.mod(start[run] + offset, 1.0)
    product = model.choice.product_at(runs.category[run], runs.persona[run], in_house[run], uniform)
    return Walk(run=run, product=product, uniform=uniform, in_house=in_house[run])


def followup_view_counts(sessions: Sessions, rng: np.random.Generator) -> np.ndarray:
    """Views of the follow-up sessions (geometric, at least one)."""
    count = sessions.size - sessions.base_count
    return np.minimum(rng.geometric(1.0 / FOLLOWUP_MEAN_VIEWS, size=count), 50)


def base_view_counts(sessions: Sessions, extra_views: int, rng: np.random.Generator) -> np.ndarray:
    """Views of the base sessions: one each plus ``extra_views`` spread with heavy tails."""
    count = sessions.base_count
    if count == 0:
        return np.zeros(0, np.int64)
    weight = rng.gamma(VIEW_DISPERSION, size=count) * np.where(
        sessions.cart[:count], CART_SESSION_VIEW_WEIGHT, 1.0
    )
    extra = rng.multinomial(max(0, extra_views), weight / weight.sum())
    return np.minimum(1 + extra, MAX_VIEWS_PER_SESSION)


@dataclass
class SessionViews:
    """The views of every session of a month (sessions in order, views in order)."""

    session: np.ndarray  # int64
    position: np.ndarray  # int64 view number inside the session
    product: np.ndarray  # int32
    uniform: np.ndarray  # float64
    in_house: np.ndarray  # bool
    is_target: np.ndarray  # bool: in the session's target category
    first: np.ndarray  # int64 first view of each session
    last_target: np.ndarray  # int64 position of the last target-category view per session


def session_views(
    model: ShopModel, sessions: Sessions, view_counts: np.ndarray, rng: np.random.Generator
) -> SessionViews:
    """Split each session's views into runs, walk them, and locate the last target view."""
    session = np.repeat(np.arange(sessions.size), view_counts)
    first = np.cumsum(view_counts) - view_counts
    position = np.arange(session.shape[0]) - first[session]
    new_run = (position == 0) | (rng.random(session.shape[0]) < P_NEW_RUN)
    run_session = session[new_run]
    run_count = run_session.shape[0]
    other = (position[new_run] > 0) & (rng.random(run_count) < P_OTHER_CATEGORY_RUN)
    persona = sessions.persona[run_session]
    category = sessions.category[run_session].copy()
    category[other] = model.choice.sample_category(persona[other], rng)
    run_of_view = np.cumsum(new_run) - 1
    run_length = np.bincount(run_of_view, minlength=run_count)
    runs = Runs(
        user=sessions.user[run_session],
        persona=persona,
        category=category,
        day=sessions.day[run_session],
        length=run_length,
    )
    walk = walk_runs(model, runs, rng)
    is_target = category[walk.run] == sessions.category[session]
    last_target = np.maximum.reduceat(np.where(is_target, position, -1), first)
    return SessionViews(
        session=session,
        position=position,
        product=walk.product,
        uniform=walk.uniform,
        in_house=walk.in_house,
        is_target=is_target,
        first=first,
        last_target=np.maximum(last_target, 0),
    )

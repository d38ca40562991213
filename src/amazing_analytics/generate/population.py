"""The user population of the synthetic shop: personas, heavy-tailed activity, taste.

Users get a persona, an individual heavy-tailed (log-normal) activity multiplier, so a few users
visit very often and most only once or twice, a taste salt (see :mod:`.taste`) and a favourite
category drawn from the persona's affinities. The population is sized so that the users who
appear in the logs have :data:`SESSIONS_PER_VISITOR` sessions on average (REES46: about 3.7).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from amazing_analytics.generate.personas import PERSONAS, category_affinity, persona_array
from amazing_analytics.generate.taste import PURPOSE_HOME_CATEGORY, taste_uniform

#: Range of REES46-like user ids (inclusive lower bound, exclusive upper bound).
USER_ID_RANGE = (500_000_000, 600_000_000)
#: Log-normal sigma of the individual activity multiplier (heavy-tailed visits per user).
USER_ACTIVITY_SIGMA = 1.1
#: Target mean number of sessions of a user who appears in the logs.
SESSIONS_PER_VISITOR = 3.7
#: Users drawn to estimate how many of a population appear in the logs.
_ACTIVITY_SAMPLE = 20_000


@dataclass(frozen=True)
class Users:
    """The user population; arrays indexed by the internal user index."""

    user_id: np.ndarray  # int64
    persona: np.ndarray  # int8, index into PERSONAS
    weight: np.ndarray  # float64, relative session intensity (visit_rate * activity)
    taste_salt: np.ndarray  # uint64, seed of the user's taste uniforms
    home_category: np.ndarray  # int16, the user's favourite category

    @property
    def size(self) -> int:
        """Number of users."""
        return int(self.user_id.shape[0])


def _draw_personas_and_weights(count: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Personas and session weights (visit rate x log-normal activity) of ``count`` users."""
    shares = persona_array("share")
    persona = rng.choice(len(PERSONAS), size=count, p=shares / shares.sum()).astype(np.int8)
    activity = rng.lognormal(-0.5 * USER_ACTIVITY_SIGMA**2, USER_ACTIVITY_SIGMA, size=count)
    return persona, persona_array("visit_rate")[persona] * activity


def population_size(base_sessions: float, total_sessions: float, rng: np.random.Generator) -> int:
    """Users needed so that visitors have :data:`SESSIONS_PER_VISITOR` sessions on average.

    Base sessions pick their user proportionally to the weight, so a user with weight ``w`` in
    a population of ``n`` appears with probability ``1 - exp(-base_sessions * w / (n * E[w]))``;
    the size is solved by bisection on a sample of weights. Follow-up sessions reuse users.
    """
    _, weights = _draw_personas_and_weights(_ACTIVITY_SAMPLE, rng)
    relative = weights / weights.mean()
    target_visitors = total_sessions / SESSIONS_PER_VISITOR

    def visitors(size: float) -> float:
        return size * float(np.mean(1.0 - np.exp(-base_sessions * relative / size)))

    low, high = 1.0, max(2.0, 50.0 * total_sessions)
    for _ in range(60):
        middle = 0.5 * (low + high)
        low, high = (middle, high) if visitors(middle) < target_visitors else (low, middle)
    return int(max(50, round(0.5 * (low + high))))


def build_users(count: int, rng: np.random.Generator) -> Users:
    """Draw ``count`` users with personas, heavy-tailed activity and taste."""
    persona, weight = _draw_personas_and_weights(count, rng)
    low, high = USER_ID_RANGE
    user_id = rng.choice(high - low, size=count, replace=False).astype(np.int64) + low
    salt = rng.integers(0, np.iinfo(np.uint64).max, size=count, dtype=np.uint64, endpoint=True)
    affinity = category_affinity()
    category_count = affinity.shape[1]
    cumulative = np.cumsum(affinity, axis=1)
    cumulative[:, -1] = 1.0
    keys = (np.arange(len(PERSONAS))[:, None] + cumulative).ravel()
    home_uniform = taste_uniform(salt, 0, PURPOSE_HOME_CATEGORY)
    position = np.searchsorted(keys, persona + home_uniform, side="right")
    home = position - persona.astype(np.int64) * category_count
    return Users(
        user_id=user_id,
        persona=persona,
        weight=weight,
        taste_salt=salt,
        home_category=np.minimum(home, category_count - 1).astype(np.int16),
    )

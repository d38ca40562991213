"""Individual taste: fixed per-shopper uniforms that keep every marginal distribution exact.

A shopper's taste is a set of uniforms on [0, 1) derived from the shopper's random salt and a
key (category and purpose) by a SplitMix64 hash, so they are the same in every session and month
without storing a shopper x category table. Because each uniform is, over shoppers, exactly
uniform and independent of everything else, feeding it to an inverse-CDF draw gives exactly the
persona's distribution in aggregate while each shopper keeps coming back to the same place: the
analytic ground truth stays exact and a shopper's history carries signal.
"""

from __future__ import annotations

import numpy as np

#: Purposes of a taste uniform (part of the hash key).
PURPOSE_IN_HOUSE = 0  # in-house versus competitor products of a category
PURPOSE_POSITION = 1  # where in a category's products (brand, then price) the shopper browses
PURPOSE_HOME_CATEGORY = 2  # the shopper's favourite category
_PURPOSES = 4

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)


def _splitmix64(values: np.ndarray) -> np.ndarray:
    """The SplitMix64 finaliser (wrapping uint64 arithmetic)."""
    with np.errstate(over="ignore"):
        mixed = values + _GOLDEN
        mixed = (mixed ^ (mixed >> np.uint64(30))) * _MIX_1
        mixed = (mixed ^ (mixed >> np.uint64(27))) * _MIX_2
        return mixed ^ (mixed >> np.uint64(31))


def taste_uniform(salt: np.ndarray, category: np.ndarray | int, purpose: int) -> np.ndarray:
    """The shopper's fixed uniform on [0, 1) for ``(category, purpose)``.

    Args:
        salt: uint64 taste salt of each row's shopper.
        category: Category index per row (or one index for all rows); ignored for
            :data:`PURPOSE_HOME_CATEGORY` callers, who pass 0.
        purpose: One of the ``PURPOSE_*`` constants.
    """
    key = (np.asarray(category, dtype=np.int64) * _PURPOSES + purpose).astype(np.uint64)
    with np.errstate(over="ignore"):
        hashed = _splitmix64(salt ^ (key * _GOLDEN))
    return (hashed >> np.uint64(11)).astype(np.float64) * 2.0**-53

"""Segment names composed from each cluster's profile, and their marketing actions.

A name says what the segment's shoppers do (their role), and, when the profile stands out, the
price level they shop at and the department they favour: "Premium phone & tablet buyers",
"Budget home & kitchen window shoppers", "Lapsed browsers". Every part comes from the
cluster's centroid against the population, by the rules of :func:`describe_segments`; the
actions are marketing copy from seed ``segment_actions`` (see :mod:`.actions`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from amazing_analytics.ml.arrow_utils import ArrowData, as_table
from amazing_analytics.ml.segmentation.features import CATEGORY_FAMILIES

#: A cluster is a buyer cluster when its members average at least this many orders.
BUYER_MIN_ORDERS = 0.5
#: Lapsed: mean recency_days at least this multiple of the population's.
LAPSED_RECENCY_RATIO = 1.5
#: High value: revenue at least this multiple of the revenue per buyer, or the cluster holds at
#: least this share of all revenue (a segment with most of the revenue is never "just buyers").
HIGH_VALUE_REVENUE_RATIO = 2.0
MOST_REVENUE_SHARE = 0.5
#: Loyal: orders at least this multiple of the orders per buyer, and at least this many.
LOYAL_ORDERS_RATIO = 1.5
LOYAL_MIN_ORDERS = 2.0
#: Shoppers: a cluster of buyers and browsers alike, its members averaging at least this many
#: orders (but fewer than BUYER_MIN_ORDERS).
SHOPPER_MIN_ORDERS = 0.1
#: Cart abandoners: mean cart_abandonment_rate at least this (never-carted members count 0).
CART_ABANDONMENT_MIN = 0.5
#: Window shoppers: views at least this multiple of the population's.
WINDOW_VIEWS_RATIO = 1.5
#: New browsers: recency at most this multiple of the population's and days_active at most
#: the population's.
NEW_RECENCY_RATIO = 0.5
#: Price level: mean price_index at or above PREMIUM (at or below BUDGET); 1.0 = typical prices.
PREMIUM_PRICE_INDEX = 1.2
BUDGET_PRICE_INDEX = 0.85
#: Favourite family: its share of the cluster's views at least this, and at least this multiple
#: of the population's share (the family with the biggest multiple wins).
FAMILY_MIN_SHARE = 0.3
FAMILY_MIN_LIFT = 1.5

#: The roles, each with the words of a name: (adjective, noun).
ROLE_WORDS: dict[str, tuple[str, str]] = {
    "high_value_buyers": ("high-value", "buyers"),
    "loyal_buyers": ("loyal", "buyers"),
    "buyers": ("", "buyers"),
    "lapsed_buyers": ("lapsed", "buyers"),
    "shoppers": ("", "shoppers"),
    "cart_abandoners": ("", "cart abandoners"),
    "window_shoppers": ("", "window shoppers"),
    "new_browsers": ("new", "browsers"),
    "browsers": ("", "browsers"),
    "lapsed_browsers": ("lapsed", "browsers"),
}
ROLES: tuple[str, ...] = tuple(ROLE_WORDS)
PRICE_LEVELS: tuple[str, ...] = ("premium", "budget")

_RULE_FEATURES = (
    "session_count",
    "view_count",
    "order_count",
    "revenue",
    "cart_abandonment_rate",
    "days_active",
    "recency_days",
    "price_index",
)


@dataclass(frozen=True)
class SegmentLabel:
    """What a segment's name says: role, price level (or None), favourite family (or None)."""

    role: str
    price_level: str | None
    family: str | None
    name: str


def family_labels_from_table(table: ArrowData) -> dict[str, str]:
    """``{family: label}`` from seed category_families (columns category_family, family_label)."""
    rows = as_table(table).select(["category_family", "family_label"]).to_pylist()
    return {row["category_family"]: row["family_label"] for row in rows}


def family_label(family: str, labels: Mapping[str, str]) -> str:
    return labels.get(family, family.replace("_", " "))


def _role(c: Mapping[str, float], p: Mapping[str, float], revenue_share: float) -> str:
    """The first matching role rule (see :func:`describe_segments`)."""
    buyer_share = p["buyer_share"]
    per_buyer = 1.0 / buyer_share if buyer_share > 0 else 1.0
    lapsed = c["recency_days"] >= LAPSED_RECENCY_RATIO * p["recency_days"] and c["recency_days"] > 0
    if c["order_count"] >= BUYER_MIN_ORDERS:
        if lapsed and revenue_share < MOST_REVENUE_SHARE:
            return "lapsed_buyers"
        if (
            c["revenue"] >= HIGH_VALUE_REVENUE_RATIO * p["revenue"] * per_buyer
            or revenue_share >= MOST_REVENUE_SHARE
        ):
            return "high_value_buyers"
        if (
            c["order_count"] >= LOYAL_ORDERS_RATIO * p["order_count"] * per_buyer
            and c["order_count"] >= LOYAL_MIN_ORDERS
        ):
            return "loyal_buyers"
        return "buyers"
    if c["cart_abandonment_rate"] >= CART_ABANDONMENT_MIN:
        return "cart_abandoners"
    if lapsed and revenue_share < MOST_REVENUE_SHARE:
        return "lapsed_browsers"
    if c["order_count"] >= SHOPPER_MIN_ORDERS or revenue_share >= MOST_REVENUE_SHARE:
        return "shoppers"
    if c["view_count"] > 0 and c["view_count"] >= WINDOW_VIEWS_RATIO * p["view_count"]:
        return "window_shoppers"
    if (
        c["recency_days"] <= NEW_RECENCY_RATIO * p["recency_days"]
        and c["days_active"] <= p["days_active"]
    ):
        return "new_browsers"
    return "browsers"


def _price_level(c: Mapping[str, float]) -> str | None:
    if c["price_index"] >= PREMIUM_PRICE_INDEX:
        return "premium"
    if c["price_index"] <= BUDGET_PRICE_INDEX:
        return "budget"
    return None


def _favourite_family(c: Mapping[str, float], p: Mapping[str, float]) -> str | None:
    best, best_lift = None, FAMILY_MIN_LIFT
    for family in CATEGORY_FAMILIES:
        if family == "other":
            continue
        share = c.get(f"family_share_{family}", 0.0)
        reference = p.get(f"family_share_{family}", 0.0)
        lift = share / reference if reference > 0 else 0.0
        if share >= FAMILY_MIN_SHARE and lift >= best_lift:
            best, best_lift = family, lift
    return best


def _compose(role: str, price: str | None, family: str | None, labels: Mapping[str, str]) -> str:
    adjective, noun = ROLE_WORDS[role]
    words = [adjective, price or "", family_label(family, labels) if family else "", noun]
    text = " ".join(word for word in words if word)
    return text[0].upper() + text[1:]


def _check_inputs(
    centroids_raw: Mapping[str, np.ndarray], population: Mapping[str, float]
) -> dict[str, np.ndarray]:
    missing = [f for f in _RULE_FEATURES if f not in centroids_raw]
    missing_population = [f for f in (*_RULE_FEATURES, "buyer_share") if f not in population]
    if missing or missing_population:
        raise ValueError(
            "name_segments needs centroid values for "
            + (", ".join(missing) or "-")
            + " and population values for "
            + (", ".join(missing_population) or "-")
        )
    arrays = {name: np.asarray(values, dtype=np.float64) for name, values in centroids_raw.items()}
    shapes = {a.shape for a in arrays.values()}
    if len(shapes) != 1 or len(next(iter(shapes))) != 1:
        raise ValueError(f"centroid arrays must be 1-d and of equal length, got shapes {shapes}")
    return arrays


def describe_segments(
    centroids_raw: Mapping[str, np.ndarray],
    population: Mapping[str, float],
    sizes: Sequence[float] | None = None,
    family_labels: Mapping[str, str] | None = None,
) -> list[SegmentLabel]:
    """Role, price level, favourite family and a unique name per cluster.

    Args:
        centroids_raw: Per feature, the cluster means in original units (one value per
            cluster). Needs session_count, view_count, order_count, revenue,
            cart_abandonment_rate, days_active, recency_days and price_index; the
            family_share_<family> values name the favourite family; every key may serve to
            tell apart clusters that would otherwise share a name.
        population: The same features' means over all customers, plus ``buyer_share``.
        sizes: Members per cluster, for each cluster's share of all revenue (None: the
            revenue-share rule is not applied).
        family_labels: ``{family: words}`` from seed category_families.

    Role, first match wins. Buyer clusters (mean order_count >= 0.5): lapsed buyers (recency
    >= 1.5 x the population's, unless the cluster holds half the revenue or more), high-value
    buyers (revenue >= 2 x the revenue per buyer, or half the revenue or more), loyal buyers
    (orders >= 1.5 x the orders per buyer and >= 2), buyers. Other clusters: cart abandoners
    (mean abandonment >= 0.5), lapsed browsers (recency >= 1.5 x, unless the cluster holds half
    the revenue or more), shoppers (buyers and browsers alike: mean orders >= 0.1, or half the
    revenue or more), window shoppers (views >= 1.5 x the population's), new browsers
    (recency <= 0.5 x and days_active <= 1 x the population's), browsers.

    Price level: premium when the mean price_index is >= 1.2, budget when <= 0.85. Favourite
    family: the family with the biggest multiple of the population's view share, when that
    multiple is >= 1.5 and the cluster's share >= 0.3 ('other' is never named).

    Clusters that earn the same name get a qualifier from the feature that tells them apart
    most (difference relative to the population value), e.g. "Browsers (more views)" and
    "Browsers (fewer views)"; with three or more "most ...", "mid ...", "least ...". Names are
    therefore unique and deterministic.

    Raises:
        ValueError: a required key is missing or the arrays differ in length.
    """
    arrays = _check_inputs(centroids_raw, population)
    labels = dict(family_labels or {})
    k = next(iter(arrays.values())).shape[0]
    p = {name: float(value) for name, value in population.items()}
    shares = np.zeros(k)  # without sizes, no cluster is known to hold most of the revenue
    if sizes is not None:
        revenue = np.maximum(arrays["revenue"], 0.0) * np.asarray(sizes, dtype=np.float64)
        shares = revenue / revenue.sum() if revenue.sum() > 0 else shares
    parts = []
    for i in range(k):
        c = {name: float(values[i]) for name, values in arrays.items()}
        parts.append((_role(c, p, float(shares[i])), _price_level(c), _favourite_family(c, p)))
    names = [_compose(*part, labels) for part in parts]
    qualify_duplicates(names, arrays, p, labels)
    return [SegmentLabel(*part, name) for part, name in zip(parts, names, strict=True)]


def name_segments(
    centroids_raw: Mapping[str, np.ndarray],
    population: Mapping[str, float],
    sizes: Sequence[float] | None = None,
    family_labels: Mapping[str, str] | None = None,
) -> list[str]:
    """The names of :func:`describe_segments`."""
    return [
        label.name for label in describe_segments(centroids_raw, population, sizes, family_labels)
    ]


# --------------------------------------------------------------------------------------------
# Qualifiers that keep names unique
# --------------------------------------------------------------------------------------------

#: Words for qualifiers: (larger-of-two, smaller-of-two, largest, smallest, mid).
_QUALIFIER_WORDS: dict[str, tuple[str, str, str, str, str]] = {
    "session_count": ("more sessions", "fewer sessions", "most sessions", "fewest sessions",
                      "mid sessions"),
    "view_count": ("more views", "fewer views", "most views", "fewest views", "mid views"),
    "cart_count": ("more carts", "fewer carts", "most carts", "fewest carts", "mid carts"),
    "order_count": ("more orders", "fewer orders", "most orders", "fewest orders",
                    "mid orders"),
    "revenue": ("higher spend", "lower spend", "highest spend", "lowest spend", "mid spend"),
    "average_basket": ("bigger baskets", "smaller baskets", "biggest baskets",
                       "smallest baskets", "mid-size baskets"),
    "cart_abandonment_rate": ("more abandonment", "less abandonment", "most abandonment",
                              "least abandonment", "mid abandonment"),
    "conversion_rate": ("higher conversion", "lower conversion", "highest conversion",
                        "lowest conversion", "mid conversion"),
    "days_active": ("more active days", "fewer active days", "most active days",
                    "fewest active days", "mid active days"),
    "recency_days": ("less recent", "more recent", "least recent", "most recent",
                     "mid recency"),
    "median_viewed_price": ("pricier views", "cheaper views", "priciest views",
                            "cheapest views", "mid-price views"),
    "price_index": ("pricier picks", "cheaper picks", "priciest picks", "cheapest picks",
                    "mid-price picks"),
    "brand_loyalty": ("more brand-loyal", "less brand-loyal", "most brand-loyal",
                      "least brand-loyal", "mid brand loyalty"),
    "in_house_brand_share": ("more in-house brand", "less in-house brand",
                             "most in-house brand", "least in-house brand",
                             "mid in-house brand"),
}  # fmt: skip


def _words(feature: str, labels: Mapping[str, str]) -> tuple[str, str, str, str, str]:
    if feature in _QUALIFIER_WORDS:
        return _QUALIFIER_WORDS[feature]
    if feature.startswith("family_share_"):
        label = family_label(feature.removeprefix("family_share_"), labels)
        return (f"more {label}", f"less {label}", f"most {label}", f"least {label}",
                f"some {label}")  # fmt: skip
    return (f"higher {feature}", f"lower {feature}", f"highest {feature}", f"lowest {feature}",
            f"mid {feature}")  # fmt: skip


def _most_telling_feature(
    members: list[int],
    centroids: Mapping[str, np.ndarray],
    population: Mapping[str, float],
    used: frozenset[str],
) -> str | None:
    """The feature whose values differ most between members, relative to the population value
    (``(max - min) / |population|``, or ``/ max(|max|, |min|)`` when that is 0; ties: the
    earlier feature)."""
    best_name, best_spread = None, 0.0
    for name, values in centroids.items():
        if name in used:
            continue
        vals = values[members]
        high, low = float(vals.max()), float(vals.min())
        reference = abs(float(population.get(name, 0.0))) or max(abs(high), abs(low))
        spread = (high - low) / reference if reference > 0 else 0.0
        if spread > best_spread:
            best_name, best_spread = name, spread
    return best_name


def _qualify(
    members: list[int],
    centroids: Mapping[str, np.ndarray],
    population: Mapping[str, float],
    used: frozenset[str],
    labels: Mapping[str, str],
) -> dict[int, list[str]]:
    """Qualifiers that tell apart clusters of the same name: split the members into the
    largest, smallest and (for 3 or more distinct values) middle band of the most telling
    feature, and recurse with the remaining features inside a band of several members."""
    if len(members) == 1:
        return {members[0]: []}
    feature = _most_telling_feature(members, centroids, population, used)
    if feature is None:  # identical profiles: nothing descriptive left to say
        return {m: [f"identical profile {chr(ord('A') + i)}"] for i, m in enumerate(members)}
    values = centroids[feature]
    distinct = sorted({float(values[m]) for m in members}, reverse=True)
    more, less, most, least, mid = _words(feature, labels)
    if len(distinct) == 2:
        bands = [[m for m in members if values[m] == v] for v in distinct]
        words = [more, less]
    else:
        top, bottom = distinct[0], distinct[-1]
        bands = [
            [m for m in members if values[m] == top],
            [m for m in members if bottom < values[m] < top],
            [m for m in members if values[m] == bottom],
        ]
        words = [most, mid, least]
    result: dict[int, list[str]] = {}
    for band, word in zip(bands, words, strict=True):
        for member, rest in _qualify(band, centroids, population, used | {feature}, labels).items():
            result[member] = [word, *rest]
    return result


def qualify_duplicates(
    names: list[str],
    centroids: Mapping[str, np.ndarray],
    population: Mapping[str, float],
    labels: Mapping[str, str],
) -> None:
    """Append a qualifier in parentheses to every name given to several clusters (in place)."""
    bases = list(names)
    for base in dict.fromkeys(bases):
        members = [i for i, b in enumerate(bases) if b == base]
        if len(members) > 1:
            for member, words in _qualify(
                members, centroids, population, frozenset(), labels
            ).items():
                names[member] = f"{base} ({', '.join(words)})"

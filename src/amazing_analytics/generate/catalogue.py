"""Product catalogue of the synthetic shop: categories, brands, prices, popularity, defects.

The category codes, brands and price ranges imitate the REES46 "multi-category store" logs (an
electronics-heavy marketplace, prices in USD). The static data lives in package-data CSV files
(``data/categories.csv``, ``data/brand_price_factors.csv``, ``data/complements.csv``) read by
column name; :func:`build_catalogue` draws a concrete catalogue from a seed.

Internal representation: products are stored sorted by ``(category, is_in_house, brand,
price)`` so that each ``segment = 2 * category + is_in_house`` is a contiguous slice, ordered by
brand and then by price. The choice model inverts a shopper's cumulative weights over a segment
with one ``searchsorted``; because of this order, nearby points of the unit interval are
products of the same brand at a similar price, which is what gives shoppers a stable taste and
sessions their "similar products" (see :mod:`~amazing_analytics.generate.browsing`).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from importlib import resources

import numpy as np

#: The in-house brand whose share declines over the last two quarters.
IN_HOUSE_BRAND = "amazingbasics"
#: Category families in which the in-house brand sells (it has products in every category of them).
IN_HOUSE_FAMILIES: tuple[str, ...] = ("entertainment", "tech_accessories")
#: Fraction of the products of an in-house category that are in-house products.
IN_HOUSE_PRODUCT_SHARE = 0.20
#: Popularity multiplier of in-house products (they are promoted on the site).
IN_HOUSE_POPULARITY_BOOST = 2.5

#: Expected share of event rows without category_code before the category tree was extended
#: (REES46: about 32 % of the October and November rows), from uncoded products.
ROW_SHARE_MISSING_CATEGORY_CODE_BEFORE_RECODE = 0.31
#: The same share from :data:`RECODE_DATE` on (REES46: about 10 % from December).
ROW_SHARE_MISSING_CATEGORY_CODE_AFTER_RECODE = 0.09
#: Expected share of event rows without brand (REES46: 12-14 %), from unbranded products.
ROW_SHARE_MISSING_BRAND = 0.13

#: Log-normal sigma of product popularity inside a category (REES46-like concentration).
POPULARITY_SIGMA = 2.0
#: Minimum number of products per category.
MIN_PRODUCTS_PER_CATEGORY = 12
#: Range of REES46-like product ids (inclusive lower bound, exclusive upper bound).
PRODUCT_ID_RANGE = (1_000_000, 60_000_000)


@dataclass(frozen=True)
class CategorySpec:
    """Static description of one category of the shop (one row of ``data/categories.csv``).

    Attributes:
        code: REES46-style category_code.
        family: Business grouping of categories (e.g. ``entertainment``, ``tech_accessories``).
        product_share: Relative share of catalogue products in this category.
        traffic: Relative share of shopping sessions that target this category.
        median_price: Median price in USD of a no-name product.
        price_sigma: Log-normal spread of prices.
        min_price: Lower clip of prices.
        max_price: Upper clip of prices (all true prices stay below 10,000).
        conversion: Multiplier of the persona's add-to-cart rate in this category.
        brands: ``(brand, weight)`` pairs: brand mix of the (non in-house) products.
    """

    code: str
    family: str
    product_share: float
    traffic: float
    median_price: float
    price_sigma: float
    min_price: float
    max_price: float
    conversion: float
    brands: tuple[tuple[str, float], ...]


def _read_package_csv(name: str) -> list[dict[str, str]]:
    """Rows of a package-data CSV file as dicts keyed by the header."""
    text = resources.files("amazing_analytics.generate").joinpath("data", name).read_text("utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def _parse_brands(text: str, code: str) -> tuple[tuple[str, float], ...]:
    """Parse ``"samsung:28 apple:18"`` into ``(("samsung", 28.0), ("apple", 18.0))``."""
    pairs = []
    for item in text.split():
        brand, sep, weight = item.partition(":")
        if not sep or not brand:
            raise ValueError(f"categories.csv: bad brand entry {item!r} for {code}")
        pairs.append((brand, float(weight)))
    if not pairs:
        raise ValueError(f"categories.csv: no brands for {code}")
    return tuple(pairs)


def load_categories() -> tuple[CategorySpec, ...]:
    """Read ``data/categories.csv`` (one row per category, columns by name)."""
    return tuple(
        CategorySpec(
            code=row["category_code"],
            family=row["family"],
            product_share=float(row["product_share"]),
            traffic=float(row["traffic"]),
            median_price=float(row["median_price"]),
            price_sigma=float(row["price_sigma"]),
            min_price=float(row["min_price"]),
            max_price=float(row["max_price"]),
            conversion=float(row["conversion"]),
            brands=_parse_brands(row["brands"], row["category_code"]),
        )
        for row in _read_package_csv("categories.csv")
    )


def load_complements() -> dict[str, tuple[tuple[str, float], ...]]:
    """Read ``data/complements.csv``: anchor category -> ((accessory category, probability), ...)."""
    rules: dict[str, list[tuple[str, float]]] = {}
    for row in _read_package_csv("complements.csv"):
        anchor = row["anchor_category_code"]
        rules.setdefault(anchor, []).append(
            (row["accessory_category_code"], float(row["probability"]))
        )
    return {anchor: tuple(pairs) for anchor, pairs in rules.items()}


#: The categories of the shop, REES46-like codes and price ranges.
CATEGORIES: tuple[CategorySpec, ...] = load_categories()
#: Price multiplier of a brand relative to the category median (default 1.0).
BRAND_PRICE_FACTOR: dict[str, float] = {
    row["brand"]: float(row["price_factor"]) for row in _read_package_csv("brand_price_factors.csv")
}
#: Complementary purchases: anchor category -> ((accessory category, probability), ...).
#: A purchasing session of the anchor category spawns an engagement with each accessory
#: category independently with the given probability (see ``sessions.COMPLEMENT_LAG_PMF``).
COMPLEMENTS: dict[str, tuple[tuple[str, float], ...]] = load_complements()

CATEGORY_CODES: tuple[str, ...] = tuple(c.code for c in CATEGORIES)
CATEGORY_INDEX: dict[str, int] = {code: i for i, code in enumerate(CATEGORY_CODES)}
FAMILIES: tuple[str, ...] = tuple(dict.fromkeys(c.family for c in CATEGORIES))
BRANDS: tuple[str, ...] = tuple(
    sorted({b for c in CATEGORIES for b, _ in c.brands} | {IN_HOUSE_BRAND})
)
BRAND_INDEX: dict[str, int] = {b: i for i, b in enumerate(BRANDS)}

for _anchor, _accessories in COMPLEMENTS.items():
    for _code in (_anchor, *(code for code, _ in _accessories)):
        if _code not in CATEGORY_INDEX:
            raise ValueError(f"complements.csv names an unknown category {_code!r}")


def in_house_category_mask() -> np.ndarray:
    """Boolean mask over :data:`CATEGORIES`: categories where the in-house brand sells."""
    return np.array([c.family in IN_HOUSE_FAMILIES for c in CATEGORIES])


@dataclass(frozen=True)
class Catalogue:
    """A concrete catalogue; all arrays are indexed by the internal product index.

    Products are sorted by ``(category, in_house, brand, price)``; ``segment_start[s]`` is the
    first product of segment ``s = 2 * category + in_house`` (length ``2 * n_categories + 1``).
    The category tree changes on :data:`~amazing_analytics.generate.defects.RECODE_DATE`: some
    uncoded products get a code and a category_id never seen before (``*_after_recode``).
    """

    product_id: np.ndarray  # int64
    category: np.ndarray  # int16, index into CATEGORIES
    in_house: np.ndarray  # bool
    brand: np.ndarray  # int16, true brand (index into BRANDS)
    brand_missing: np.ndarray  # bool: brand empty in the logs
    code_missing_before_recode: np.ndarray  # bool: category_code empty before the recode date
    code_missing_after_recode: np.ndarray  # bool: category_code empty from the recode date
    category_id_before_recode: np.ndarray  # int64, category_id written before the recode date
    category_id_after_recode: np.ndarray  # int64, category_id written from the recode date
    price_cents: np.ndarray  # int64, base price in cents
    popularity: np.ndarray  # float64, share of the category's popularity (sums to 1)
    segment_start: np.ndarray  # int64

    @property
    def size(self) -> int:
        """Number of products."""
        return int(self.product_id.shape[0])


def catalogue_size(events: int) -> int:
    """Number of products for a run of ``events`` events: events/100 clipped to [2000, 100000]."""
    return int(min(100_000, max(2_000, round(events / 100))))


@dataclass(frozen=True)
class _CategoryProducts:
    """The products drawn for one category, sorted as in :class:`Catalogue`."""

    in_house: np.ndarray
    brand: np.ndarray
    price_cents: np.ndarray
    popularity: np.ndarray


def _draw_category_products(
    spec: CategorySpec, count: int, has_in_house: bool, rng: np.random.Generator
) -> _CategoryProducts:
    """Brands, prices and Zipf popularity of the ``count`` products of one category."""
    in_house_count = max(3, round(count * IN_HOUSE_PRODUCT_SHARE)) if has_in_house else 0
    other_count = count - in_house_count
    names = [brand for brand, _ in spec.brands]
    weights = np.array([weight for _, weight in spec.brands], dtype=float)
    other_brand = rng.choice(len(names), size=other_count, p=weights / weights.sum())
    brand_index = np.concatenate(
        [
            np.array([BRAND_INDEX[name] for name in names])[other_brand],
            np.full(in_house_count, BRAND_INDEX[IN_HOUSE_BRAND]),
        ]
    )
    factor = np.array([BRAND_PRICE_FACTOR.get(b, 1.0) for b in BRANDS])[brand_index]
    price = spec.median_price * factor * rng.lognormal(0.0, spec.price_sigma, size=count)
    cents = np.round(np.clip(price, spec.min_price, spec.max_price) * 100).astype(np.int64)
    popularity = rng.lognormal(0.0, POPULARITY_SIGMA, size=count)
    popularity[other_count:] *= IN_HOUSE_POPULARITY_BOOST
    is_in_house = np.arange(count) >= other_count
    order = np.lexsort((cents, brand_index, is_in_house))
    return _CategoryProducts(
        in_house=is_in_house[order],
        brand=brand_index[order].astype(np.int16),
        price_cents=cents[order],
        popularity=popularity[order] / popularity.sum(),
    )


def _select_by_row_share(
    row_share: np.ndarray, eligible: np.ndarray, targets: tuple[float, ...], order: np.ndarray
) -> list[np.ndarray]:
    """Nested product sets whose expected share of event rows reaches each target.

    Products are taken in the random ``order`` (eligible ones only) until their expected row
    share reaches the target; a smaller target gives a subset of a larger one.
    """
    candidates = order[eligible[order]]
    cumulative = np.cumsum(row_share[candidates])
    selections = []
    for target in targets:
        chosen = np.zeros(row_share.shape[0], dtype=bool)
        chosen[candidates[: int(np.searchsorted(cumulative, target)) + 1]] = True
        selections.append(chosen)
    return selections


def _missing_attributes(
    category: np.ndarray,
    in_house: np.ndarray,
    popularity: np.ndarray,
    category_row_share: np.ndarray | None,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Products without category_code (before / from the recode date) and without brand.

    Missing attributes are product attributes chosen by their expected share of the rows
    (category share x popularity); in-house products are always fully catalogued.
    """
    if category_row_share is None:
        category_row_share = np.array([c.traffic for c in CATEGORIES])
    category_row_share = np.asarray(category_row_share, dtype=float)
    row_share = category_row_share[category] / category_row_share.sum() * popularity
    total = category.shape[0]
    code_missing_before, code_missing_after = _select_by_row_share(
        row_share,
        ~in_house,
        (
            ROW_SHARE_MISSING_CATEGORY_CODE_BEFORE_RECODE,
            ROW_SHARE_MISSING_CATEGORY_CODE_AFTER_RECODE,
        ),
        rng.permutation(total),
    )
    (brand_missing,) = _select_by_row_share(
        row_share, ~in_house, (ROW_SHARE_MISSING_BRAND,), rng.permutation(total)
    )
    return code_missing_before, code_missing_after, brand_missing


def _category_ids(
    category: np.ndarray,
    code_missing_before: np.ndarray,
    code_missing_after: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """The category_id of every product before and from the recode date.

    19-digit ids like the real 2053013555631882655. Each category has one id used by its coded
    products, one never seen with a code (its uncoded products), and one that first appears on
    the recode date, used by the products that get their code then. A category_id therefore
    either always or never has a category_code, as in the real logs.
    """
    category_count = len(CATEGORIES)
    ids = rng.choice(9_000_000_000, size=3 * category_count, replace=False).astype(np.int64)
    coded_ids = 2_053_013_552_000_000_000 + ids[:category_count]
    uncoded_ids = 2_232_732_079_000_000_000 + ids[category_count : 2 * category_count]
    recoded_ids = 2_232_732_101_000_000_000 + ids[2 * category_count :]
    id_before = np.where(code_missing_before, uncoded_ids[category], coded_ids[category])
    recoded = code_missing_before & ~code_missing_after
    return id_before, np.where(recoded, recoded_ids[category], id_before)


def build_catalogue(
    n_products: int, rng: np.random.Generator, category_row_share: np.ndarray | None = None
) -> Catalogue:
    """Draw a catalogue of about ``n_products`` products.

    Args:
        n_products: Target catalogue size (the result can differ by a few products because
            every category gets at least :data:`MIN_PRODUCTS_PER_CATEGORY`).
        rng: Random generator (the catalogue is a deterministic function of its state).
        category_row_share: Expected share of the event rows per category (the shoppers'
            affinities); sizes the missing code and brand by rows. Default: the traffic column.

    Returns:
        The catalogue, products sorted by ``(category, in_house, brand, price)``.
    """
    category_count = len(CATEGORIES)
    shares = np.array([c.product_share for c in CATEGORIES])
    per_category = np.maximum(
        MIN_PRODUCTS_PER_CATEGORY, np.round(n_products * shares / shares.sum())
    ).astype(np.int64)
    has_in_house = in_house_category_mask()
    parts = [
        _draw_category_products(spec, int(per_category[index]), bool(has_in_house[index]), rng)
        for index, spec in enumerate(CATEGORIES)  # loop over categories only
    ]
    category = np.repeat(np.arange(category_count, dtype=np.int16), per_category)
    in_house = np.concatenate([part.in_house for part in parts])
    popularity = np.concatenate([part.popularity for part in parts])
    total = category.shape[0]
    segment = 2 * category.astype(np.int64) + in_house
    segment_start = np.searchsorted(segment, np.arange(2 * category_count + 1))

    low, high = PRODUCT_ID_RANGE
    product_id = rng.choice(high - low, size=total, replace=False).astype(np.int64) + low

    code_missing_before, code_missing_after, brand_missing = _missing_attributes(
        category, in_house, popularity, category_row_share, rng
    )
    id_before, id_after = _category_ids(category, code_missing_before, code_missing_after, rng)

    return Catalogue(
        product_id=product_id,
        category=category,
        in_house=in_house,
        brand=np.concatenate([part.brand for part in parts]),
        brand_missing=brand_missing,
        code_missing_before_recode=code_missing_before,
        code_missing_after_recode=code_missing_after,
        category_id_before_recode=id_before,
        category_id_after_recode=id_after,
        price_cents=np.concatenate([part.price_cents for part in parts]),
        popularity=popularity,
        segment_start=segment_start.astype(np.int64),
    )

"""Product catalogue of the synthetic shop: categories, brands, prices and popularity.

The category codes, brands and price ranges imitate the REES46 "multi-category store" logs
(an electronics-heavy Russian marketplace, prices in USD). Everything here is static data plus
one vectorised builder, :func:`build_catalogue`, which draws a concrete catalogue from a seed.

Internal representation: products are stored sorted by ``(category, is_in_house, price)`` so
that each ``segment = 2 * category + is_in_house`` is a contiguous slice ordered by price; the
event simulator relies on it to sample products with a single ``searchsorted`` (and on the price
order for its stratified sampling of purchased products).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: The in-house brand whose share declines over the last two quarters.
IN_HOUSE_BRAND = "amazingbasics"
#: Category families in which the in-house brand sells (it has products in every category of them).
IN_HOUSE_FAMILIES: tuple[str, ...] = ("entertainment", "tech_accessories")
#: Fraction of the products of an in-house category that are in-house products.
IN_HOUSE_PRODUCT_SHARE = 0.20
#: Popularity multiplier of in-house products (they are promoted on the site).
IN_HOUSE_POPULARITY_BOOST = 2.5

#: Fraction of products whose category_code is missing in the logs (a product attribute).
RATE_PRODUCT_MISSING_CATEGORY_CODE = 0.30
#: Fraction of products whose brand is missing in the logs (a product attribute).
RATE_PRODUCT_MISSING_BRAND = 0.14

#: Exponent of the Zipf law of product popularity inside a category.
ZIPF_EXPONENT = 1.05
#: Minimum number of products per category.
MIN_PRODUCTS_PER_CATEGORY = 12
#: Range of REES46-like product ids (inclusive lower bound, exclusive upper bound).
PRODUCT_ID_RANGE = (1_000_000, 60_000_000)


@dataclass(frozen=True)
class CategorySpec:
    """Static description of one category of the shop.

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


def _b(*pairs: tuple[str, float]) -> tuple[tuple[str, float], ...]:
    """Return brand weight pairs as a tuple (helper for the table below)."""
    return tuple(pairs)


#: The categories of the shop (38), REES46-like codes and price ranges.
CATEGORIES: tuple[CategorySpec, ...] = (
    # --- mobile -----------------------------------------------------------------------------
    CategorySpec(
        "electronics.smartphone",
        "mobile",
        6.0,
        24.0,
        230,
        0.75,
        45,
        2000,
        1.35,
        _b(
            ("samsung", 28),
            ("apple", 18),
            ("xiaomi", 22),
            ("huawei", 14),
            ("honor", 6),
            ("oppo", 5),
            ("vivo", 4),
            ("meizu", 3),
        ),
    ),
    CategorySpec(
        "electronics.tablet",
        "mobile",
        1.5,
        2.2,
        240,
        0.6,
        60,
        1500,
        0.9,
        _b(("samsung", 35), ("apple", 30), ("huawei", 15), ("lenovo", 15), ("xiaomi", 5)),
    ),
    CategorySpec(
        "electronics.clocks",
        "mobile",
        3.0,
        3.5,
        120,
        0.9,
        8,
        1200,
        0.9,
        _b(
            ("casio", 25),
            ("apple", 15),
            ("samsung", 15),
            ("xiaomi", 15),
            ("huawei", 10),
            ("garmin", 10),
            ("amazfit", 10),
        ),
    ),
    CategorySpec(
        "electronics.telephone",
        "mobile",
        0.8,
        0.8,
        25,
        0.5,
        8,
        120,
        1.0,
        _b(("nokia", 40), ("panasonic", 25), ("texet", 20), ("philips", 15)),
    ),
    # --- tv / photo -------------------------------------------------------------------------
    CategorySpec(
        "electronics.video.tv",
        "tv_video",
        3.0,
        6.0,
        420,
        0.6,
        90,
        2500,
        0.7,
        _b(
            ("samsung", 30),
            ("lg", 25),
            ("sony", 12),
            ("philips", 10),
            ("xiaomi", 10),
            ("hisense", 7),
            ("tcl", 6),
        ),
    ),
    CategorySpec(
        "electronics.camera.photo",
        "tv_video",
        1.5,
        1.2,
        450,
        0.7,
        60,
        2500,
        0.5,
        _b(("canon", 40), ("nikon", 30), ("sony", 20), ("fujifilm", 10)),
    ),
    # --- entertainment (in-house brand present) ---------------------------------------------
    CategorySpec(
        "electronics.audio.headphone",
        "entertainment",
        5.0,
        7.0,
        35,
        0.6,
        3,
        350,
        1.4,
        _b(
            ("sony", 14),
            ("jbl", 14),
            ("xiaomi", 14),
            ("samsung", 12),
            ("apple", 10),
            ("defender", 10),
            ("sennheiser", 8),
            ("huawei", 8),
            ("marshall", 4),
        ),
    ),
    CategorySpec(
        "electronics.audio.acoustic",
        "entertainment",
        3.0,
        3.0,
        55,
        0.55,
        8,
        600,
        1.1,
        _b(
            ("jbl", 30),
            ("sony", 20),
            ("lg", 10),
            ("samsung", 10),
            ("xiaomi", 10),
            ("marshall", 10),
            ("sven", 10),
        ),
    ),
    CategorySpec(
        "electronics.video.tv_accessory",
        "entertainment",
        2.0,
        1.8,
        20,
        0.55,
        3,
        200,
        1.4,
        _b(
            ("kromax", 25),
            ("holder", 25),
            ("harper", 15),
            ("vogels", 15),
            ("samsung", 10),
            ("lg", 10),
        ),
    ),
    # --- tech accessories (in-house brand present) ------------------------------------------
    CategorySpec(
        "electronics.accessories.cable",
        "tech_accessories",
        3.0,
        3.0,
        7,
        0.5,
        1,
        60,
        1.9,
        _b(
            ("ugreen", 20),
            ("baseus", 20),
            ("belkin", 15),
            ("xiaomi", 15),
            ("samsung", 10),
            ("apple", 10),
            ("hoco", 10),
        ),
    ),
    CategorySpec(
        "electronics.accessories.charger",
        "tech_accessories",
        3.0,
        3.0,
        15,
        0.5,
        3,
        90,
        1.8,
        _b(
            ("samsung", 20),
            ("baseus", 18),
            ("xiaomi", 15),
            ("anker", 15),
            ("apple", 12),
            ("belkin", 10),
            ("hoco", 10),
        ),
    ),
    CategorySpec(
        "electronics.accessories.case",
        "tech_accessories",
        5.0,
        4.0,
        10,
        0.5,
        2,
        80,
        1.8,
        _b(
            ("spigen", 20),
            ("nillkin", 20),
            ("deppa", 20),
            ("samsung", 15),
            ("otterbox", 15),
            ("apple", 10),
        ),
    ),
    CategorySpec(
        "computers.peripherals.mouse",
        "tech_accessories",
        2.5,
        2.4,
        18,
        0.55,
        3,
        180,
        1.6,
        _b(
            ("logitech", 35),
            ("a4tech", 20),
            ("defender", 13),
            ("razer", 12),
            ("microsoft", 10),
            ("xiaomi", 10),
        ),
    ),
    CategorySpec(
        "computers.peripherals.keyboard",
        "tech_accessories",
        2.0,
        1.8,
        30,
        0.55,
        5,
        250,
        1.4,
        _b(("logitech", 35), ("a4tech", 20), ("razer", 15), ("microsoft", 15), ("defender", 15)),
    ),
    # --- computers --------------------------------------------------------------------------
    CategorySpec(
        "computers.notebook",
        "computers",
        4.0,
        7.0,
        620,
        0.5,
        180,
        2500,
        0.75,
        _b(
            ("lenovo", 22),
            ("asus", 20),
            ("hp", 20),
            ("acer", 15),
            ("apple", 10),
            ("dell", 8),
            ("msi", 5),
        ),
    ),
    CategorySpec(
        "computers.desktop",
        "computers",
        1.5,
        1.5,
        560,
        0.6,
        150,
        2500,
        0.6,
        _b(("hp", 25), ("lenovo", 25), ("asus", 20), ("acer", 15), ("dell", 15)),
    ),
    CategorySpec(
        "computers.peripherals.monitor",
        "computers",
        1.5,
        2.0,
        190,
        0.5,
        70,
        1500,
        0.8,
        _b(("samsung", 25), ("lg", 25), ("aoc", 20), ("philips", 15), ("dell", 15)),
    ),
    CategorySpec(
        "computers.peripherals.printer",
        "computers",
        1.2,
        1.3,
        160,
        0.6,
        50,
        1200,
        0.8,
        _b(("hp", 35), ("canon", 30), ("epson", 20), ("brother", 15)),
    ),
    CategorySpec(
        "computers.components.videocards",
        "computers",
        1.5,
        1.5,
        330,
        0.6,
        50,
        2000,
        0.7,
        _b(("asus", 25), ("msi", 25), ("gigabyte", 25), ("palit", 25)),
    ),
    # --- appliances -------------------------------------------------------------------------
    CategorySpec(
        "appliances.kitchen.refrigerators",
        "appliances",
        3.0,
        3.5,
        430,
        0.5,
        120,
        2500,
        0.55,
        _b(
            ("samsung", 20),
            ("lg", 20),
            ("bosch", 15),
            ("indesit", 15),
            ("beko", 15),
            ("atlant", 15),
        ),
    ),
    CategorySpec(
        "appliances.kitchen.washer",
        "appliances",
        2.5,
        3.0,
        330,
        0.45,
        120,
        1500,
        0.6,
        _b(
            ("lg", 25), ("samsung", 20), ("bosch", 15), ("indesit", 15), ("beko", 15), ("candy", 10)
        ),
    ),
    CategorySpec(
        "appliances.kitchen.kettle",
        "appliances",
        2.0,
        1.5,
        25,
        0.6,
        5,
        200,
        1.2,
        _b(
            ("tefal", 20),
            ("polaris", 20),
            ("bosch", 15),
            ("xiaomi", 15),
            ("redmond", 15),
            ("philips", 15),
        ),
    ),
    CategorySpec(
        "appliances.environment.vacuum",
        "appliances",
        2.5,
        3.0,
        140,
        0.7,
        25,
        900,
        0.9,
        _b(
            ("samsung", 15),
            ("xiaomi", 15),
            ("bosch", 15),
            ("philips", 15),
            ("dyson", 10),
            ("lg", 10),
            ("karcher", 10),
            ("tefal", 10),
        ),
    ),
    CategorySpec(
        "appliances.personal.hair_cutter",
        "appliances",
        1.5,
        1.2,
        30,
        0.6,
        5,
        200,
        1.1,
        _b(("philips", 35), ("braun", 25), ("panasonic", 20), ("xiaomi", 20)),
    ),
    CategorySpec(
        "appliances.iron",
        "appliances",
        1.5,
        1.2,
        40,
        0.5,
        10,
        250,
        1.0,
        _b(("tefal", 40), ("philips", 35), ("braun", 15), ("bosch", 10)),
    ),
    # --- furniture --------------------------------------------------------------------------
    CategorySpec(
        "furniture.living_room.sofa",
        "furniture",
        3.0,
        2.0,
        420,
        0.5,
        100,
        2400,
        0.4,
        _b(("shatura", 30), ("lazurit", 25), ("hoff", 25), ("brw", 20)),
    ),
    CategorySpec(
        "furniture.bedroom.bed",
        "furniture",
        2.0,
        1.2,
        300,
        0.5,
        80,
        2000,
        0.4,
        _b(("askona", 35), ("ormatek", 30), ("shatura", 20), ("brw", 15)),
    ),
    # --- fashion ----------------------------------------------------------------------------
    CategorySpec(
        "apparel.shoes",
        "fashion",
        5.0,
        3.0,
        60,
        0.6,
        10,
        400,
        0.9,
        _b(
            ("nike", 25),
            ("adidas", 25),
            ("puma", 15),
            ("reebok", 15),
            ("asics", 10),
            ("newbalance", 10),
        ),
    ),
    CategorySpec(
        "apparel.costume",
        "fashion",
        3.0,
        1.5,
        45,
        0.6,
        8,
        300,
        0.8,
        _b(("adidas", 30), ("nike", 25), ("puma", 25), ("reebok", 20)),
    ),
    CategorySpec(
        "accessories.bag",
        "fashion",
        2.5,
        1.8,
        35,
        0.7,
        5,
        400,
        1.0,
        _b(("tigernu", 25), ("samsonite", 20), ("xiaomi", 20), ("targus", 20), ("hp", 15)),
    ),
    CategorySpec(
        "accessories.wallet",
        "fashion",
        1.5,
        0.8,
        20,
        0.6,
        3,
        150,
        1.1,
        _b(("fabretti", 40), ("tommyhilfiger", 20), ("calvinklein", 20), ("piquadro", 20)),
    ),
    # --- kids -------------------------------------------------------------------------------
    CategorySpec(
        "kids.toys",
        "kids",
        4.0,
        2.5,
        20,
        0.9,
        2,
        300,
        1.2,
        _b(("lego", 35), ("hasbro", 20), ("mattel", 20), ("bambini", 15), ("hape", 10)),
    ),
    CategorySpec(
        "kids.carriage",
        "kids",
        1.5,
        1.0,
        220,
        0.5,
        50,
        1200,
        0.6,
        _b(("cybex", 25), ("chicco", 25), ("happybaby", 25), ("tutis", 25)),
    ),
    # --- sport ------------------------------------------------------------------------------
    CategorySpec(
        "sport.bicycle",
        "sport",
        2.0,
        1.5,
        300,
        0.5,
        80,
        2000,
        0.5,
        _b(("stels", 30), ("forward", 25), ("stern", 20), ("merida", 15), ("cube", 10)),
    ),
    CategorySpec(
        "sport.trainer",
        "sport",
        1.5,
        1.0,
        380,
        0.6,
        50,
        2500,
        0.5,
        _b(("torneo", 30), ("kettler", 25), ("oxygen", 25), ("carbon", 20)),
    ),
    # --- diy --------------------------------------------------------------------------------
    CategorySpec(
        "construction.tools.drill",
        "diy",
        2.0,
        1.5,
        70,
        0.6,
        15,
        600,
        0.9,
        _b(("bosch", 30), ("makita", 25), ("interskol", 20), ("dewalt", 15), ("metabo", 10)),
    ),
    CategorySpec(
        "construction.tools.saw",
        "diy",
        1.5,
        1.0,
        90,
        0.6,
        15,
        700,
        0.8,
        _b(("bosch", 30), ("makita", 30), ("interskol", 20), ("patriot", 20)),
    ),
    # --- auto -------------------------------------------------------------------------------
    CategorySpec(
        "auto.accessories.videoregister",
        "auto",
        1.5,
        1.2,
        60,
        0.6,
        15,
        400,
        1.0,
        _b(("xiaomi", 25), ("70mai", 25), ("neoline", 25), ("playme", 25)),
    ),
)

#: Price multiplier of a brand relative to the category median (default 1.0).
BRAND_PRICE_FACTOR: dict[str, float] = {
    "apple": 2.0,
    "samsung": 1.15,
    "sony": 1.3,
    "lg": 1.05,
    "xiaomi": 0.75,
    "huawei": 0.9,
    "honor": 0.8,
    "oppo": 0.85,
    "vivo": 0.85,
    "meizu": 0.7,
    "jbl": 1.1,
    "sennheiser": 1.6,
    "marshall": 1.6,
    "defender": 0.6,
    "sven": 0.6,
    "dyson": 2.5,
    "bosch": 1.2,
    "makita": 1.25,
    "dewalt": 1.35,
    "interskol": 0.7,
    "patriot": 0.75,
    "razer": 1.6,
    "a4tech": 0.6,
    "logitech": 1.1,
    "anker": 1.1,
    "belkin": 1.2,
    "hoco": 0.6,
    "baseus": 0.8,
    "ugreen": 0.8,
    "otterbox": 1.6,
    "deppa": 0.7,
    "nillkin": 0.8,
    "casio": 0.8,
    "garmin": 2.0,
    "amazfit": 0.8,
    "msi": 1.2,
    "dell": 1.1,
    "acer": 0.9,
    "atlant": 0.8,
    "indesit": 0.85,
    "beko": 0.85,
    "candy": 0.8,
    "polaris": 0.7,
    "redmond": 0.75,
    "karcher": 1.2,
    "texet": 0.6,
    "nike": 1.2,
    "adidas": 1.15,
    "newbalance": 1.1,
    "samsonite": 1.8,
    "tigernu": 0.7,
    "piquadro": 1.9,
    "tommyhilfiger": 1.4,
    "calvinklein": 1.4,
    "fabretti": 0.8,
    "lego": 1.3,
    "cybex": 1.6,
    "happybaby": 0.8,
    "stels": 0.7,
    "merida": 1.4,
    "cube": 1.6,
    "kettler": 1.4,
    "torneo": 0.8,
    "70mai": 0.9,
    "playme": 0.7,
    IN_HOUSE_BRAND: 0.7,
}

#: Complementary purchases: anchor category -> ((accessory category, probability), ...).
#: A purchasing session of the anchor category spawns an engagement with each accessory
#: category independently with the given probability (see ``events.FOLLOWUP_LAG_PMF``).
COMPLEMENTS: dict[str, tuple[tuple[str, float], ...]] = {
    "electronics.smartphone": (
        ("electronics.accessories.case", 0.22),
        ("electronics.audio.headphone", 0.12),
        ("electronics.accessories.charger", 0.10),
        ("electronics.accessories.cable", 0.06),
    ),
    "electronics.tablet": (
        ("electronics.accessories.case", 0.20),
        ("electronics.accessories.charger", 0.06),
        ("computers.peripherals.keyboard", 0.05),
    ),
    "electronics.clocks": (("electronics.accessories.charger", 0.06),),
    "computers.notebook": (
        ("computers.peripherals.mouse", 0.25),
        ("accessories.bag", 0.18),
        ("computers.peripherals.keyboard", 0.06),
    ),
    "computers.desktop": (
        ("computers.peripherals.keyboard", 0.25),
        ("computers.peripherals.mouse", 0.25),
        ("computers.peripherals.monitor", 0.15),
    ),
    "electronics.video.tv": (
        ("electronics.video.tv_accessory", 0.25),
        ("electronics.audio.acoustic", 0.10),
    ),
}

CATEGORY_CODES: tuple[str, ...] = tuple(c.code for c in CATEGORIES)
CATEGORY_INDEX: dict[str, int] = {code: i for i, code in enumerate(CATEGORY_CODES)}
FAMILIES: tuple[str, ...] = tuple(dict.fromkeys(c.family for c in CATEGORIES))
BRANDS: tuple[str, ...] = tuple(
    sorted({b for c in CATEGORIES for b, _ in c.brands} | {IN_HOUSE_BRAND})
)
BRAND_INDEX: dict[str, int] = {b: i for i, b in enumerate(BRANDS)}


def in_house_category_mask() -> np.ndarray:
    """Boolean mask over :data:`CATEGORIES`: categories where the in-house brand sells."""
    return np.array([c.family in IN_HOUSE_FAMILIES for c in CATEGORIES])


@dataclass(frozen=True)
class Catalogue:
    """A concrete catalogue; all arrays are indexed by the internal product index.

    Products are sorted by ``(category, in_house, price)``; ``segment_start[s]`` is the first
    product of segment ``s = 2 * category + in_house`` (length ``2 * n_categories + 1``).
    """

    product_id: np.ndarray  # int64
    category: np.ndarray  # int16, index into CATEGORIES
    in_house: np.ndarray  # bool
    brand: np.ndarray  # int16, true brand (index into BRANDS)
    brand_missing: np.ndarray  # bool: brand empty in the logs
    code_missing: np.ndarray  # bool: category_code empty in the logs
    category_id: np.ndarray  # int64, category_id written in the logs
    price_cents: np.ndarray  # int64, base price in cents
    popularity: np.ndarray  # float64, share of the category's popularity (sums to 1)
    segment_start: np.ndarray  # int64
    coded_category_id: np.ndarray  # int64 per category
    uncoded_category_id: np.ndarray  # int64 per category

    @property
    def size(self) -> int:
        """Number of products."""
        return int(self.product_id.shape[0])


def catalogue_size(events: int) -> int:
    """Number of products for a run of ``events`` events: events/100 clipped to [2000, 100000]."""
    return int(min(100_000, max(2_000, round(events / 100))))


def build_catalogue(n_products: int, rng: np.random.Generator) -> Catalogue:
    """Draw a catalogue of about ``n_products`` products.

    Args:
        n_products: Target catalogue size (the result can differ by a few products because
            every category gets at least :data:`MIN_PRODUCTS_PER_CATEGORY`).
        rng: Random generator (the catalogue is a deterministic function of its state).

    Returns:
        The catalogue, products sorted by ``(category, in_house, price)``.
    """
    n_cat = len(CATEGORIES)
    shares = np.array([c.product_share for c in CATEGORIES])
    per_cat = np.maximum(
        MIN_PRODUCTS_PER_CATEGORY, np.round(n_products * shares / shares.sum())
    ).astype(np.int64)
    ih_cat = in_house_category_mask()

    cats: list[np.ndarray] = []
    in_house: list[np.ndarray] = []
    brands: list[np.ndarray] = []
    prices: list[np.ndarray] = []
    pops: list[np.ndarray] = []
    for ci, spec in enumerate(CATEGORIES):  # loop over categories only
        n = int(per_cat[ci])
        n_ih = max(3, round(n * IN_HOUSE_PRODUCT_SHARE)) if ih_cat[ci] else 0
        n_other = n - n_ih
        names = [b for b, _ in spec.brands]
        w = np.array([x for _, x in spec.brands], dtype=float)
        other_brand = rng.choice(len(names), size=n_other, p=w / w.sum())
        brand_idx = np.concatenate(
            [
                np.array([BRAND_INDEX[names[i]] for i in range(len(names))])[other_brand],
                np.full(n_ih, BRAND_INDEX[IN_HOUSE_BRAND]),
            ]
        )
        factor = np.array([BRAND_PRICE_FACTOR.get(b, 1.0) for b in BRANDS])[brand_idx]
        price = spec.median_price * factor * rng.lognormal(0.0, spec.price_sigma, size=n)
        price = np.clip(price, spec.min_price, spec.max_price)
        rank = rng.permutation(n) + 1
        pop = 1.0 / rank.astype(float) ** ZIPF_EXPONENT
        pop[n_other:] *= IN_HOUSE_POPULARITY_BOOST
        cents = np.round(price * 100).astype(np.int64)
        ih_flag = np.arange(n) >= n_other
        order = np.lexsort((cents, ih_flag))  # segments contiguous, by price inside a segment
        cats.append(np.full(n, ci, dtype=np.int16))
        in_house.append(ih_flag[order])
        brands.append(brand_idx[order].astype(np.int16))
        prices.append(cents[order])
        pops.append(pop[order] / pop.sum())

    category = np.concatenate(cats)
    ih = np.concatenate(in_house)
    total = category.shape[0]
    segment = 2 * category.astype(np.int64) + ih
    segment_start = np.searchsorted(segment, np.arange(2 * n_cat + 1))

    lo, hi = PRODUCT_ID_RANGE
    product_id = rng.choice(hi - lo, size=total, replace=False).astype(np.int64) + lo

    # Missingness is a product attribute; in-house products are always fully catalogued, so the
    # rates of the other products are raised to keep the overall product rates on target.
    n_other = int((~ih).sum())
    p_code = min(1.0, RATE_PRODUCT_MISSING_CATEGORY_CODE * total / n_other)
    p_brand = min(1.0, RATE_PRODUCT_MISSING_BRAND * total / n_other)
    code_missing = (rng.random(total) < p_code) & ~ih
    brand_missing = (rng.random(total) < p_brand) & ~ih

    # 19-digit category ids like the real 2053013555631882655. Each category has one id used by
    # its coded products and another one, never seen with a code, used by its uncoded products
    # (as in the real logs, where a category_id either always or never has a category_code).
    ids = rng.choice(9_000_000_000, size=2 * n_cat, replace=False).astype(np.int64)
    coded_ids = 2_053_013_552_000_000_000 + ids[:n_cat]
    uncoded_ids = 2_232_732_079_000_000_000 + ids[n_cat:]
    category_id = np.where(code_missing, uncoded_ids[category], coded_ids[category])

    return Catalogue(
        product_id=product_id,
        category=category,
        in_house=ih,
        brand=np.concatenate(brands),
        brand_missing=brand_missing,
        code_missing=code_missing,
        category_id=category_id,
        price_cents=np.concatenate(prices),
        popularity=np.concatenate(pops),
        segment_start=segment_start.astype(np.int64),
        coded_category_id=coded_ids,
        uncoded_category_id=uncoded_ids,
    )

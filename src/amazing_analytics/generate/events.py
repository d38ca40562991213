"""Synthetic REES46-shaped e-commerce event logs with known ground truth.

:func:`generate_events` simulates a multi-category online shop (shoppers with personas, a
long-tail catalogue, a view -> cart -> purchase funnel, complementary purchases, seasonality, an
in-house brand losing share) and writes one gzip CSV per month exactly like the Kaggle
"eCommerce behavior data from multi category store" files, plus ground-truth files in
``out/ground_truth/``.

The simulation is vectorised with numpy and runs month by month (peak memory is bounded by the
largest month). Month *m* is written (Arrow CSV rendering + chunk-parallel gzip, both outside the
GIL) in a background thread while month *m+1* is simulated. All randomness comes from
``numpy.random.SeedSequence(seed)`` children, so the output is byte-identical for equal
arguments.

Model summary (all rates are module-level constants below or in the ``catalogue``,
``personas`` and ``seasonality`` modules):

* Sessions start on day *d* with an intensity ``calendar.intensity[d]`` (weekly cycle, trend,
  Black Friday, December peak, January dip) at an hour drawn from the daily profile. The user of
  a session is drawn proportionally to ``users.weight`` (persona visit rate x log-normal activity).
* A session targets one category (persona affinity); its first view is in that category, later
  views stay there with probability :data:`P_MAIN_CATEGORY_VIEW`, else browse another category.
  Products are chosen with weight ``popularity * (price/median)**-beta * brand_affinity`` (times
  the in-house weight for ``amazingbasics``).
* Funnel: add-to-cart with probability ``persona.cart_rate * category.conversion``; the cart
  product is the last viewed product of the target category; purchase given cart with
  ``persona.purchase_rate * calendar.conversion[d]``; second items, repeated cart clicks and
  remove_from_cart otherwise.
* Complementary purchases: a purchasing session of an anchor category (smartphone, notebook,
  TV, ...) spawns accessory engagements (``catalogue.COMPLEMENTS``), either in the same session
  or as a new session of the same user some days later (:data:`FOLLOWUP_LAG_PMF`).
* The number of views per session is allocated so that the total number of lines matches the
  requested ``events`` (within a fraction of a percent).
* Purchased products are drawn with variance-reduced (balanced) sampling: each purchase has
  exactly the model's distribution, but monthly in-house counts and price mixes track their
  expectation, so the in-house share decline is measurable at demo sizes (at 1.5M events the
  sampled last-vs-first-month revenue-share decline has a standard deviation of ~3.5 points).
* Ground truth (personas, catalogue, expected daily demand per category, expected in-house
  share) is written to ``out/ground_truth/``; the expected demand is computed analytically
  from the same parameters (:meth:`_Model.expected_demand`), not from the sampled events.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv

from amazing_analytics.generate import catalogue as cat_mod
from amazing_analytics.generate import personas as per_mod
from amazing_analytics.generate import seasonality as cal_mod
from amazing_analytics.generate.csvout import (
    MonthRows,
    month_file_name,
    month_table,
    write_table,
)

# --------------------------------------------------------------------------------------------
# Defect rates of the real logs (documented in ground_truth/README.md). Product-level rates of
# missing category_code / brand live in the catalogue module and are re-exported here.
# --------------------------------------------------------------------------------------------
#: Share of products without category_code (all their events lack it).
RATE_PRODUCT_MISSING_CATEGORY_CODE = cat_mod.RATE_PRODUCT_MISSING_CATEGORY_CODE
#: Share of products without brand (all their events lack it).
RATE_PRODUCT_MISSING_BRAND = cat_mod.RATE_PRODUCT_MISSING_BRAND
#: Share of events of products *with* a category_code that lose it on that event only.
RATE_EVENT_LOST_CATEGORY_CODE = 0.01
#: Share of events with price 0.00.
RATE_PRICE_ZERO = 0.001
#: Share of events with an empty price.
RATE_PRICE_NULL = 0.0002
#: Share of events with a mis-typed price above 10,000 (true price x 100, x 1000, ...).
RATE_PRICE_TYPO = 0.00005
#: Share of lines that are exact duplicates of the line just before them.
RATE_DUPLICATE = 0.003
#: Share of sessions with a second burst of views (same user_session) hours or days later.
RATE_SESSION_SECOND_BURST = 0.002
#: Share of sessions in which one event carries another user's user_id.
RATE_SESSION_SHARED_USER = 0.001
#: Share of events with an empty user_session.
RATE_EMPTY_SESSION = 0.0005

# --------------------------------------------------------------------------------------------
# Session model.
# --------------------------------------------------------------------------------------------
#: Average number of lines per (base) session; sizes the number of sessions.
EVENTS_PER_SESSION = 3.4
#: Probability that a view after the first one stays in the session's target category.
P_MAIN_CATEGORY_VIEW = 0.8
#: Gamma shape of the views-per-session distribution (smaller = more dispersed).
VIEW_DISPERSION = 0.8
#: Relative number of views of sessions that add to cart.
CART_SESSION_VIEW_WEIGHT = 2.0
#: Probability that a carting session also carts a second product of the target category.
P_SECOND_ITEM = 0.18
#: Probability that the cart click is repeated (a second cart event for the same product).
P_REPEAT_CART = 0.3
#: Probability that a carting session without purchase removes the product from the cart.
P_REMOVE_FROM_CART = 0.35
#: Probability that an accessory engagement (cross-sell or follow-up session) ends in a purchase.
FOLLOWUP_PURCHASE_RATE = 0.3
#: Mean number of views of a same-session accessory engagement (geometric).
CROSS_SELL_MEAN_VIEWS = 2.0
#: Lag in days of an accessory engagement after the anchor purchase: P(0) = same session.
FOLLOWUP_LAG_PMF = np.array([0.5] + [0.5 * 0.4 * 0.6 ** (k - 1) for k in range(1, 31)])
FOLLOWUP_LAG_PMF = FOLLOWUP_LAG_PMF / FOLLOWUP_LAG_PMF.sum()
#: Median seconds before an event, by event type (view, cart, remove_from_cart, purchase).
GAP_MEDIAN_SECONDS = np.array([30.0, 15.0, 45.0, 75.0])
#: Log-normal sigma of the gaps, by event type.
GAP_SIGMA = np.array([1.0, 0.8, 0.8, 0.8])
#: Largest gap between two consecutive events of a session (seconds).
MAX_GAP_SECONDS = 1800
#: Target relative decline of the in-house brand's revenue share (last vs first month).
IN_HOUSE_SHARE_DECLINE = 0.15

VIEW, CART, REMOVE, PURCHASE = 0, 1, 2, 3
_MIN_EVENTS = 1000


@dataclass(frozen=True)
class GenerateSummary:
    """What :func:`generate_events` wrote.

    Attributes:
        out_dir: Output directory.
        files: The monthly ``.csv.gz`` event files, sorted.
        ground_truth_dir: ``out_dir / "ground_truth"``.
        events_written: Data lines written over all files (including injected duplicates).
        users: Distinct users appearing in the logs.
        products: Products in the catalogue.
        seconds: Wall-clock duration of the run.
    """

    out_dir: Path
    files: list[Path]
    ground_truth_dir: Path
    events_written: int
    users: int
    products: int
    seconds: float


ProgressFn = Callable[[str, int, int], None]


# ============================================================================================
# Model: everything that is fixed for a run (catalogue, users, choice model, calendar).
# ============================================================================================
class _Model:
    """Static quantities of a run, shared by the simulation and the analytic ground truth."""

    def __init__(self, events: int, start: date, end: date, seeds: list[np.random.SeedSequence]):
        self.events = events
        self.start = start
        self.end = end
        self.cal = cal_mod.build_calendar(start, end)
        cal = self.cal
        n_days = cal.n_days

        # Sessions per month: lines are spread over the months proportionally to the intensity.
        self.month_lines = np.array(
            [events * cal.intensity[a:b].sum() / cal.intensity.sum() for _, _, a, b in cal.months]
        )
        self.month_sessions = np.maximum(1, np.round(self.month_lines / EVENTS_PER_SESSION))
        self.month_sessions = self.month_sessions.astype(np.int64)
        self.exp_sessions = np.empty(n_days)  # expected base sessions starting on each day
        for (_, _, a, b), s in zip(cal.months, self.month_sessions, strict=True):
            lam = cal.intensity[a:b]
            self.exp_sessions[a:b] = s * lam / lam.sum()

        self.catalogue = cat_mod.build_catalogue(
            cat_mod.catalogue_size(events), np.random.default_rng(seeds[0])
        )
        months = n_days / 30.4375
        n_users = per_mod.population_size(float(self.month_sessions.sum()), months)
        self.users = per_mod.build_users(n_users, np.random.default_rng(seeds[1]))
        self.user_cum = np.cumsum(self.users.weight)
        n_p = len(per_mod.PERSONAS)
        self.phi = np.bincount(self.users.persona, weights=self.users.weight, minlength=n_p)
        self.phi = self.phi / self.phi.sum()  # persona share of sessions

        # Category choice per persona and funnel probabilities.
        self.affinity = per_mod.category_affinity()  # (P, C)
        n_c = self.affinity.shape[1]
        self.n_categories = n_c
        self.affinity_keys = (np.arange(n_p)[:, None] + _row_cumsum(self.affinity)).ravel()
        conv = np.array([c.conversion for c in cat_mod.CATEGORIES])
        cart_rate = np.array([p.cart_rate for p in per_mod.PERSONAS])
        self.p_cart = np.minimum(0.95, cart_rate[:, None] * conv[None, :])
        self.purchase_rate = np.array([p.purchase_rate for p in per_mod.PERSONAS])

        # Product choice weights per persona; flat cumulative keys per (persona, segment).
        catg = self.catalogue
        n_prod = catg.size
        self.n_products = n_prod
        self.n_segments = 2 * n_c
        median = np.array([c.median_price for c in cat_mod.CATEGORIES])[catg.category]
        rel_price = catg.price_cents / 100.0 / median
        beta = np.array([p.price_sensitivity for p in per_mod.PERSONAS])
        brand_aff = per_mod.brand_affinity()[:, catg.brand]  # (P, N)
        weights = catg.popularity[None, :] * rel_price[None, :] ** -beta[:, None] * brand_aff
        segment = 2 * catg.category.astype(np.int64) + catg.in_house
        self.product_segment = segment
        keys = np.empty((n_p, n_prod))
        self.seg_weight = np.zeros((n_p, self.n_segments))
        self.seg_price_weight = np.zeros((n_p, self.n_segments))
        price = catg.price_cents / 100.0
        for p in range(n_p):  # loop over personas only
            w = weights[p]
            self.seg_weight[p] = np.bincount(segment, weights=w, minlength=self.n_segments)
            self.seg_price_weight[p] = np.bincount(
                segment, weights=w * price, minlength=self.n_segments
            )
            cs = np.cumsum(w)
            before = np.concatenate([[0.0], cs])[catg.segment_start[:-1]]
            within = (cs - before[segment]) / self.seg_weight[p][segment]
            last = catg.segment_start[1:] - 1
            nonempty = catg.segment_start[1:] > catg.segment_start[:-1]
            within[last[nonempty]] = 1.0
            keys[p] = p * self.n_segments + segment + within
        self.choice_keys = keys.ravel()
        self.ab_den = self.seg_weight[:, 1::2]  # (P, C) in-house weight
        self.other_den = self.seg_weight[:, 0::2]
        self.ab_num = self.seg_price_weight[:, 1::2]
        self.other_num = self.seg_price_weight[:, 0::2]

        # Price per product and price level (cents).
        self.level_cents = np.round(
            catg.price_cents[None, :] * np.array(cal_mod.PRICE_LEVELS)[:, None]
        ).astype(np.int64)
        self.hour_cum = np.cumsum(cal_mod.HOURLY_PROFILE_UTC / cal_mod.HOURLY_PROFILE_UTC.sum())

        # Complementary rules as arrays.
        rules = [
            (cat_mod.CATEGORY_INDEX[a], cat_mod.CATEGORY_INDEX[c], q)
            for a, accs in cat_mod.COMPLEMENTS.items()
            for c, q in accs
        ]
        self.rules = rules
        self._units_cache: np.ndarray | None = None

        # In-house weight ramp, calibrated on the analytic expectation.
        self.in_house_categories = cat_mod.in_house_category_mask()
        self.ramp_start = cal_mod.in_house_ramp_start(start, end)
        self.in_house_end_weight = self._calibrate_in_house()
        self.g = cal_mod.in_house_weight(cal, self.ramp_start, self.in_house_end_weight)
        self.expected_units, self.expected_revenue, self.expected_ab_revenue = self.expected_demand(
            self.g
        )

    # ---------------------------------------------------------------- analytic expectation ---
    def expected_demand(self, g: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Expected purchases per (day, category) under the model, given in-house weights ``g``.

        Returns ``(units, revenue, in_house_revenue)``, each of shape (days, categories).
        Purchases are attributed to the day their session starts; prices are the true prices
        (no injected price defects, no duplicate lines).
        """
        cal = self.cal
        units = self._expected_units()
        gd = g[:, None, None]
        pf = cal.price_factor[:, None, None]
        ab = gd * self.ab_num[None] / (gd * self.ab_den[None] + self.other_den[None])
        price = ab + self.other_num[None] / (gd * self.ab_den[None] + self.other_den[None])
        revenue = (units * price * pf).sum(axis=1)
        ab_revenue = (units * ab * pf).sum(axis=1)
        return units.sum(axis=1), revenue, ab_revenue

    def _expected_units(self) -> np.ndarray:
        """Expected purchase events per (day, persona, category); independent of the ramp."""
        if self._units_cache is not None:
            return self._units_cache
        cal = self.cal
        n_days = cal.n_days
        pb = np.minimum(1.0, self.purchase_rate[None, :] * cal.conversion[:, None])  # (D, P)
        h = (
            self.exp_sessions[:, None, None]
            * self.phi[None, :, None]
            * self.affinity[None]
            * self.p_cart[None]
            * pb[:, :, None]
        )  # purchasing base sessions (D, P, C)
        units = h * (1.0 + P_SECOND_ITEM)
        for a, c, q in self.rules:  # follow-ups k days after the anchor purchase
            for k, pk in enumerate(FOLLOWUP_LAG_PMF):
                if k >= n_days:
                    break
                units[k:, :, c] += h[: n_days - k, :, a] * (q * pk * FOLLOWUP_PURCHASE_RATE)
        self._units_cache = units
        return units

    def monthly_in_house_share(self, revenue: np.ndarray, ab_revenue: np.ndarray) -> np.ndarray:
        """Expected in-house revenue share in the in-house categories, per calendar month."""
        m = self.in_house_categories
        return np.array(
            [ab_revenue[a:b, m].sum() / revenue[a:b, m].sum() for _, _, a, b in self.cal.months]
        )

    def _calibrate_in_house(self) -> float:
        """End weight of the in-house ramp giving the target share decline (bisection)."""
        if len(self.cal.months) < 2:
            return 1.0 - IN_HOUSE_SHARE_DECLINE
        target = 1.0 - IN_HOUSE_SHARE_DECLINE
        lo, hi = 0.05, 1.0
        for _ in range(40):
            mid = 0.5 * (lo + hi)
            g = cal_mod.in_house_weight(self.cal, self.ramp_start, mid)
            _, rev, ab = self.expected_demand(g)
            share = self.monthly_in_house_share(rev, ab)
            if share[-1] / share[0] < target:
                lo = mid
            else:
                hi = mid
        return 0.5 * (lo + hi)

    # ---------------------------------------------------------------------------- sampling ---
    def sample_category(self, persona: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Draw a category per row from the persona's affinity."""
        n_c = self.n_categories
        u = 1.0 - rng.random(persona.shape[0])
        pos = np.searchsorted(self.affinity_keys, persona + u)
        pos = np.maximum(pos, persona.astype(np.int64) * n_c)
        return (pos - persona.astype(np.int64) * n_c).astype(np.int16)

    def sample_products(
        self,
        category: np.ndarray,
        persona: np.ndarray,
        day: np.ndarray,
        rng: np.random.Generator,
        *,
        balanced: bool = False,
    ) -> np.ndarray:
        """Draw a product per row from the choice model of (category, persona, day).

        The draw is two-stage: in-house or competitor (probability proportional to the
        segment weights, the in-house one times the day's ramp weight), then a product of that
        segment by inverting its cumulative weights (products are ordered by price).

        With ``balanced=True`` (used for purchased products) both stages are variance-reduced
        while every row keeps exactly its marginal distribution: the first stage uses
        systematic sampling over the rows ordered by (category, day), so the number of
        in-house rows per category tracks its expectation to within one; the second stage uses
        stratified uniforms inside each segment (products are ordered by price, so every
        persona's inverse distribution is monotone in price), so the price mix of the purchases
        tracks its expectation. This keeps sampled revenue shares close to the
        analytic ground truth at demo sizes.
        """
        n = category.shape[0]
        c = category.astype(np.int64)
        p = persona.astype(np.int64)
        gb = self.g[day] * self.ab_den[p, c]
        p_ab = gb / (gb + self.other_den[p, c])
        if balanced:
            order = np.lexsort((day, c))
            cum = np.cumsum(p_ab[order])
            u0 = rng.random()
            hit = np.floor(cum + u0) - np.floor(cum - p_ab[order] + u0) > 0.5
            is_ab = np.empty(n, dtype=bool)
            is_ab[order] = hit
        else:
            is_ab = rng.random(n) < p_ab
        seg = 2 * c + is_ab
        u = 1.0 - rng.random(n)
        if balanced and n:
            group = seg
            order = np.lexsort((rng.random(n), group))
            g_sorted = group[order]
            g_first = np.searchsorted(g_sorted, g_sorted, side="left")
            g_size = np.searchsorted(g_sorted, g_sorted, side="right") - g_first
            rank = np.arange(n) - g_first
            u[order] = 1.0 - (rank + rng.random(n)) / g_size
        pos = np.searchsorted(self.choice_keys, p * self.n_segments + seg + u)
        pos = np.maximum(pos, p * self.n_products + self.catalogue.segment_start[seg])
        return (pos - p * self.n_products).astype(np.int32)

    def sample_users(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Draw users proportionally to their session intensity."""
        u = rng.random(n) * self.user_cum[-1]
        idx = np.searchsorted(self.user_cum, u, side="right")
        return np.minimum(idx, self.users.size - 1).astype(np.int32)

    def sample_start(self, day: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Session start times (Unix seconds) on the given days, following the hourly cycle."""
        hour = np.searchsorted(self.hour_cum, rng.random(day.shape[0]), side="right")
        hour = np.minimum(hour, 23)
        return self.cal.day_epoch[day] + hour * 3600 + rng.integers(0, 3600, size=day.shape[0])


def _row_cumsum(a: np.ndarray) -> np.ndarray:
    """Cumulative sums along rows, each row ending exactly at 1.0."""
    cs = np.cumsum(a, axis=1)
    cs = cs / cs[:, -1:]
    cs[:, -1] = 1.0
    return cs


# ============================================================================================
# Month simulation.
# ============================================================================================
@dataclass
class _Events:
    """Per-event columns of a month before sorting (internal indexes, not yet rendered)."""

    time: np.ndarray  # int64
    event_type: np.ndarray  # int8
    product: np.ndarray  # int32 internal product index
    user: np.ndarray  # int32 internal user index
    session_hi: np.ndarray  # uint64
    session_lo: np.ndarray  # uint64
    session_valid: np.ndarray  # bool
    category_code: np.ndarray  # int16, -1 = empty
    price_cents: np.ndarray  # int64, -1 = empty

    def take(self, idx: np.ndarray) -> _Events:
        """Rows ``idx`` (fancy index or boolean mask)."""
        return _Events(*(getattr(self, f)[idx] for f in _EVENT_FIELDS))

    @staticmethod
    def concat(parts: list[_Events]) -> _Events:
        """Concatenate event tables."""
        return _Events(*(np.concatenate([getattr(p, f) for p in parts]) for f in _EVENT_FIELDS))


_EVENT_FIELDS = (
    "time",
    "event_type",
    "product",
    "user",
    "session_hi",
    "session_lo",
    "session_valid",
    "category_code",
    "price_cents",
)


@dataclass
class _Pending:
    """Follow-up accessory sessions scheduled for later days (carried across months)."""

    day: np.ndarray  # int64 day index
    user: np.ndarray  # int32
    category: np.ndarray  # int16

    @staticmethod
    def empty() -> _Pending:
        """No pending follow-ups."""
        return _Pending(np.zeros(0, np.int64), np.zeros(0, np.int32), np.zeros(0, np.int16))


class _Blocks:
    """Accumulates event blocks (session, order key, type, product, extra gap) of a month."""

    def __init__(self) -> None:
        self.parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []

    def add(
        self,
        sess: np.ndarray,
        key: np.ndarray,
        etype: int,
        product: np.ndarray,
        jump: np.ndarray | None = None,
    ) -> None:
        """Add events of one type; ``jump`` = extra seconds before the event (bursts)."""
        n = sess.shape[0]
        if n == 0:
            return
        self.parts.append(
            (
                sess.astype(np.int64),
                key.astype(np.float64),
                np.full(n, etype, dtype=np.int8),
                product.astype(np.int32),
                np.zeros(n, np.int64) if jump is None else jump.astype(np.int64),
            )
        )

    def build(self) -> tuple[np.ndarray, ...]:
        """Concatenate the blocks and sort them by (session, key)."""
        cols = [np.concatenate([p[i] for p in self.parts]) for i in range(5)]
        order = np.lexsort((cols[1], cols[0]))
        return tuple(c[order] for c in cols)


def _simulate_month(
    model: _Model, mi: int, rng: np.random.Generator, pending: _Pending
) -> tuple[_Events, _Pending]:
    """Simulate the sessions starting in month ``mi`` (plus due follow-ups).

    Returns the month's events (some may lie after the month end; the caller carries them over)
    and the follow-ups still pending after this month.
    """
    cal = model.cal
    _, _, d0, d1 = cal.months[mi]
    n_users = model.users.size

    # ---- base sessions ----------------------------------------------------------------------
    lam = cal.intensity[d0:d1]
    counts = rng.multinomial(int(model.month_sessions[mi]), lam / lam.sum())
    day_b = np.repeat(np.arange(d0, d1), counts)
    n_b = day_b.shape[0]
    start_b = model.sample_start(day_b, rng)
    user_b = model.sample_users(n_b, rng)
    persona_b = model.users.persona[user_b]
    main_b = model.sample_category(persona_b, rng)
    cart_b = rng.random(n_b) < model.p_cart[persona_b, main_b]
    p_buy = np.minimum(1.0, model.purchase_rate[persona_b] * cal.conversion[day_b])
    buy_b = cart_b & (rng.random(n_b) < p_buy)
    item2_b = cart_b & (rng.random(n_b) < P_SECOND_ITEM)
    repeat_b = cart_b & (rng.random(n_b) < P_REPEAT_CART)
    remove_b = cart_b & ~buy_b & (rng.random(n_b) < P_REMOVE_FROM_CART)

    # ---- complementary engagements of purchasing anchor sessions ------------------------------
    eng_sess: list[np.ndarray] = []
    eng_cat: list[np.ndarray] = []
    for a, c, q in model.rules:  # loop over complement rules only
        sel = np.flatnonzero(buy_b & (main_b == a))
        hit = sel[rng.random(sel.shape[0]) < q]
        eng_sess.append(hit)
        eng_cat.append(np.full(hit.shape[0], c, dtype=np.int16))
    e_sess = np.concatenate(eng_sess)
    e_cat = np.concatenate(eng_cat)
    lag = rng.choice(FOLLOWUP_LAG_PMF.shape[0], size=e_sess.shape[0], p=FOLLOWUP_LAG_PMF)
    same = lag == 0
    x_sess, x_cat = e_sess[same], e_cat[same]  # cross-sell inside the anchor session
    later_day = day_b[e_sess[~same]] + lag[~same]
    keep = later_day < cal.n_days
    pend = _Pending(
        np.concatenate([pending.day, later_day[keep]]),
        np.concatenate([pending.user, user_b[e_sess[~same]][keep]]),
        np.concatenate([pending.category, e_cat[~same][keep]]),
    )
    due = pend.day < d1
    still = _Pending(pend.day[~due], pend.user[~due], pend.category[~due])

    # ---- follow-up sessions due this month -----------------------------------------------------
    day_f = pend.day[due]
    n_f = day_f.shape[0]
    start_f = model.sample_start(day_f, rng)
    user_f = pend.user[due]
    buy_f = rng.random(n_f) < FOLLOWUP_PURCHASE_RATE

    day = np.concatenate([day_b, day_f])
    start = np.concatenate([start_b, start_f])
    user = np.concatenate([user_b, user_f])
    persona = model.users.persona[user]
    main = np.concatenate([main_b, pend.category[due]])
    cart = np.concatenate([cart_b, buy_f])
    buy = np.concatenate([buy_b, buy_f])
    nf_false = np.zeros(n_f, dtype=bool)
    item2 = np.concatenate([item2_b, nf_false])
    repeat = np.concatenate([repeat_b, nf_false])
    remove = np.concatenate([remove_b, nf_false])
    n_s = n_b + n_f

    # ---- cross-sell blocks, bursts -------------------------------------------------------------
    order = np.argsort(x_sess, kind="stable")
    x_sess, x_cat = x_sess[order], x_cat[order]
    x_first = np.searchsorted(x_sess, x_sess, side="left")
    x_rank = np.arange(x_sess.shape[0]) - x_first
    x_views = rng.geometric(1.0 / CROSS_SELL_MEAN_VIEWS, size=x_sess.shape[0])
    x_views = np.minimum(x_views, 200)
    x_buy = rng.random(x_sess.shape[0]) < FOLLOWUP_PURCHASE_RATE

    burst = np.flatnonzero(rng.random(n_s) < RATE_SESSION_SECOND_BURST)
    burst_views = np.minimum(rng.geometric(0.4, size=burst.shape[0]), 50)
    burst_jump = rng.integers(2 * 3600, 4 * 86_400, size=burst.shape[0])

    fixed = (
        int(cart.sum())
        + int(repeat.sum())
        + 2 * int(item2.sum())
        + int(buy.sum())
        + int((buy & item2).sum())
        + int(remove.sum())
        + int(x_views.sum())
        + 2 * int(x_buy.sum())
        + int(burst_views.sum())
    )

    # ---- views per session: exact total so that the month hits its line target ---------------
    target_views = round(model.month_lines[mi] * (1.0 - RATE_DUPLICATE)) - fixed
    extra_total = max(0, target_views - n_s)
    shape = rng.gamma(VIEW_DISPERSION, size=n_s) * np.where(cart, CART_SESSION_VIEW_WEIGHT, 1.0)
    extra = rng.multinomial(extra_total, shape / shape.sum()) if n_s else np.zeros(0, np.int64)
    n_views = 1 + extra
    v_sess = np.repeat(np.arange(n_s), n_views)
    v_first = np.cumsum(n_views) - n_views
    j = np.arange(v_sess.shape[0]) - v_first[v_sess]
    is_main = (j == 0) | (rng.random(v_sess.shape[0]) < P_MAIN_CATEGORY_VIEW)
    v_cat = main[v_sess]
    side = np.flatnonzero(~is_main)
    v_cat[side] = model.sample_category(persona[v_sess[side]], rng)
    v_prod = model.sample_products(v_cat, persona[v_sess], day[v_sess], rng)
    last_main = np.maximum.reduceat(np.where(is_main, j, -1), v_first)
    sessions = np.arange(n_s)
    i2 = sessions[item2]
    item2_prod = model.sample_products(main[i2], persona[i2], day[i2], rng)
    xv_eng = np.repeat(np.arange(x_sess.shape[0]), x_views)
    xv_j = np.arange(xv_eng.shape[0]) - (np.cumsum(x_views) - x_views)[xv_eng]
    xv_sess = x_sess[xv_eng]
    xv_prod = model.sample_products(x_cat[xv_eng], persona[xv_sess], day[xv_sess], rng)
    x_last_pos = np.cumsum(x_views) - 1

    # Purchased products are re-drawn with balanced in-house/competitor sampling (same
    # distribution, less noise in the monthly in-house share; see ``sample_products``).
    bs = sessions[buy]
    b2 = buy[i2]
    xb = np.flatnonzero(x_buy)
    slot_cat = np.concatenate([main[bs], main[i2[b2]], x_cat[xb]])
    slot_sess = np.concatenate([bs, i2[b2], x_sess[xb]])
    bought = model.sample_products(slot_cat, persona[slot_sess], day[slot_sess], rng, balanced=True)
    n1, n2 = bs.shape[0], int(b2.sum())
    v_prod[v_first[bs] + last_main[bs]] = bought[:n1]
    item2_prod[b2] = bought[n1 : n1 + n2]
    xv_prod[x_last_pos[xb]] = bought[n1 + n2 :]
    item1 = v_prod[v_first + last_main]

    blocks = _Blocks()
    blocks.add(v_sess, j.astype(float), VIEW, v_prod)
    cs = sessions[cart]
    blocks.add(cs, last_main[cs] + 0.5, CART, item1[cs])
    rs = sessions[repeat]
    blocks.add(rs, last_main[rs] + 0.55, CART, item1[rs])
    blocks.add(i2, last_main[i2] + 0.6, VIEW, item2_prod)
    blocks.add(i2, last_main[i2] + 0.7, CART, item2_prod)
    blocks.add(bs, n_views[bs] + 1.0, PURCHASE, item1[bs])
    blocks.add(i2[b2], n_views[i2[b2]] + 1.1, PURCHASE, item2_prod[b2])
    rm = sessions[remove]
    blocks.add(rm, n_views[rm] + 1.0, REMOVE, item1[rm])

    # cross-sell: views of the accessory category after the purchase, maybe cart + purchase
    x_base = n_views[x_sess] + 2.0 + x_rank
    blocks.add(xv_sess, x_base[xv_eng] + xv_j * 1e-3, VIEW, xv_prod)
    x_last = xv_prod[x_last_pos]
    blocks.add(x_sess[x_buy], x_base[x_buy] + 0.9, CART, x_last[x_buy])
    blocks.add(x_sess[x_buy], x_base[x_buy] + 0.95, PURCHASE, x_last[x_buy])

    # second bursts of inconsistent sessions: views hours/days later with the same user_session
    bv_eng = np.repeat(np.arange(burst.shape[0]), burst_views)
    bv_j = np.arange(bv_eng.shape[0]) - (np.cumsum(burst_views) - burst_views)[bv_eng]
    bv_sess = burst[bv_eng]
    bv_prod = model.sample_products(main[bv_sess], persona[bv_sess], day[bv_sess], rng)
    blocks.add(
        bv_sess,
        n_views[bv_sess] + 100.0 + bv_j,
        VIEW,
        bv_prod,
        jump=np.where(bv_j == 0, burst_jump[bv_eng], 0),
    )

    e_sess, _, e_type, e_prod, e_jump = blocks.build()
    n_e = e_sess.shape[0]

    # ---- timestamps ----------------------------------------------------------------------------
    med = GAP_MEDIAN_SECONDS[e_type]
    gap = np.rint(med * np.exp(GAP_SIGMA[e_type] * rng.standard_normal(n_e)))
    gap = np.clip(gap, 1, MAX_GAP_SECONDS).astype(np.int64) + e_jump
    first = np.searchsorted(e_sess, sessions)
    gap[first] = 0
    csum = np.cumsum(gap)
    e_time = start[e_sess] + csum - csum[first][e_sess]

    # ---- users (with shared-session defect) ----------------------------------------------------
    e_user = user[e_sess]
    n_in_session = np.diff(np.append(first, n_e))
    eligible = np.flatnonzero(n_in_session >= 2)
    if eligible.shape[0]:
        p_share = min(1.0, RATE_SESSION_SHARED_USER * n_s / eligible.shape[0])
        shared = eligible[rng.random(eligible.shape[0]) < p_share]
        pick = (
            first[shared]
            + 1
            + (rng.random(shared.shape[0]) * (n_in_session[shared] - 1)).astype(np.int64)
        )
        other = user[shared] + 1 + rng.integers(0, max(1, n_users - 1), size=shared.shape[0])
        e_user[pick] = (other % n_users).astype(np.int32)

    # ---- session ids (UUID v4 shaped) ----------------------------------------------------------
    raw = rng.integers(0, np.iinfo(np.uint64).max, size=(n_s, 2), dtype=np.uint64, endpoint=True)
    hi = (raw[:, 0] & np.uint64(0xFFFFFFFFFFFF0FFF)) | np.uint64(0x4000)
    lo = (raw[:, 1] & np.uint64(0x3FFFFFFFFFFFFFFF)) | np.uint64(0x8000000000000000)
    session_valid = rng.random(n_e) >= RATE_EMPTY_SESSION

    # ---- category code (product attribute + event-level loss) and price defects --------------
    catg = model.catalogue
    lost = rng.random(n_e) < RATE_EVENT_LOST_CATEGORY_CODE
    code = np.where(catg.code_missing[e_prod] | lost, -1, catg.category[e_prod]).astype(np.int16)
    cents = model.level_cents[cal.price_level[day[e_sess]], e_prod]
    u = rng.random(n_e)
    zero = u < RATE_PRICE_ZERO
    null = (u >= RATE_PRICE_ZERO) & (u < RATE_PRICE_ZERO + RATE_PRICE_NULL)
    typo = (u >= RATE_PRICE_ZERO + RATE_PRICE_NULL) & (
        u < RATE_PRICE_ZERO + RATE_PRICE_NULL + RATE_PRICE_TYPO
    )
    cents = np.where(zero, 0, np.where(null, -1, cents))
    if typo.any():
        t_cents = cents[typo] * 100
        while (small := t_cents <= 1_000_000).any():  # loop over orders of magnitude only
            t_cents[small] *= 10
        cents[typo] = t_cents

    ev = _Events(e_time, e_type, e_prod, e_user, hi[e_sess], lo[e_sess], session_valid, code, cents)
    return ev, still


def _month_rows(model: _Model, ev: _Events, rng: np.random.Generator) -> MonthRows:
    """Sort a month's events by time, inject duplicate lines and de-normalise ids."""
    order = np.argsort(ev.time, kind="stable")
    dup = rng.random(order.shape[0]) < RATE_DUPLICATE / (1.0 - RATE_DUPLICATE)
    order = np.repeat(order, 1 + dup.astype(np.int64))
    e = ev.take(order)
    catg = model.catalogue
    return MonthRows(
        time=e.time,
        event_type=e.event_type,
        product_id=catg.product_id[e.product],
        category_id=catg.category_id[e.product],
        category_code=e.category_code,
        brand=np.where(catg.brand_missing[e.product], -1, catg.brand[e.product]).astype(np.int16),
        price_cents=e.price_cents,
        user_id=model.users.user_id[e.user],
        session_hi=e.session_hi,
        session_lo=e.session_lo,
        session_valid=e.session_valid,
    )


# ============================================================================================
# Ground truth.
# ============================================================================================
def _write_csv(table: pa.Table, path: Path) -> None:
    """Write a plain CSV with an unquoted header (values never contain commas or quotes)."""
    sink = pa.BufferOutputStream()
    pa_csv.write_csv(table, sink, pa_csv.WriteOptions(include_header=False, quoting_style="none"))
    header = ",".join(table.column_names) + "\n"
    path.write_bytes(header.encode() + sink.getvalue().to_pybytes())


def _write_ground_truth(model: _Model, gt: Path, seen: np.ndarray) -> None:
    """Write the ground-truth files and their README into ``gt``."""
    gt.mkdir(parents=True, exist_ok=True)
    cal = model.cal
    catg = model.catalogue
    users = model.users
    personas = per_mod.PERSONAS

    # user_personas.csv: users that appear in the logs.
    idx = np.flatnonzero(seen)
    idx = idx[np.argsort(users.user_id[idx])]
    per = users.persona[idx]
    total_sessions = float(model.month_sessions.sum())
    sessions_per_30d = users.weight[idx] / model.user_cum[-1] * total_sessions / (cal.n_days / 30.0)
    visit = np.array([p.visit_rate for p in personas])[per]
    _write_csv(
        pa.table(
            {
                "user_id": users.user_id[idx],
                "persona": pa.array(list(per_mod.PERSONA_NAMES)).take(
                    pa.array(per.astype(np.int32))
                ),
                "price_sensitivity": np.array([p.price_sensitivity for p in personas])[per],
                "visit_rate": np.round(sessions_per_30d, 4),
                "activity": np.round(users.weight[idx] / visit, 4),
                "cart_rate": np.array([p.cart_rate for p in personas])[per],
                "purchase_rate": np.array([p.purchase_rate for p in personas])[per],
            }
        ),
        gt / "user_personas.csv",
    )

    # expected_daily_demand.csv
    n_days, n_c = model.expected_units.shape
    dates = pa.array(np.repeat(np.array(cal.days, dtype="datetime64[D]"), n_c))
    codes = pa.array(list(cat_mod.CATEGORY_CODES) * n_days)
    _write_csv(
        pa.table(
            {
                "date": dates,
                "category_code": codes,
                "expected_units": np.round(model.expected_units.ravel(), 6),
                "expected_revenue": np.round(model.expected_revenue.ravel(), 4),
            }
        ),
        gt / "expected_daily_demand.csv",
    )

    # catalogue.csv (sorted by product_id)
    order = np.argsort(catg.product_id)
    fam_of_cat = [c.family for c in cat_mod.CATEGORIES]
    cat_idx = pa.array(catg.category[order].astype(np.int32))
    _write_csv(
        pa.table(
            {
                "product_id": catg.product_id[order],
                "category_id": catg.category_id[order],
                "category_code": pa.array(list(cat_mod.CATEGORY_CODES)).take(cat_idx),
                "category_family": pa.array(fam_of_cat).take(cat_idx),
                "brand": pa.array(list(cat_mod.BRANDS)).take(
                    pa.array(catg.brand[order].astype(np.int32))
                ),
                "base_price": pa.array(catg.price_cents[order] / 100.0),
                "popularity": np.round(catg.popularity[order], 8),
                "is_in_house": catg.in_house[order],
                "category_code_in_logs": ~catg.code_missing[order],
                "brand_in_logs": ~catg.brand_missing[order],
            }
        ),
        gt / "catalogue.csv",
    )

    # expected_in_house_share.csv (monthly)
    share = model.monthly_in_house_share(model.expected_revenue, model.expected_ab_revenue)
    _write_csv(
        pa.table(
            {
                "month": [f"{y}-{m:02d}" for y, m, _, _ in cal.months],
                "in_house_weight": [
                    round(float(model.g[a:b].mean()), 6) for _, _, a, b in cal.months
                ],
                "expected_revenue_share": np.round(share, 6),
            }
        ),
        gt / "expected_in_house_share.csv",
    )

    (gt / "README.md").write_text(_readme(model, share), encoding="utf-8")


def _readme(model: _Model, share: np.ndarray) -> str:
    """Markdown description of the ground-truth files and the model parameters."""
    personas = "\n".join(
        f"| {p.name} | {p.share:.2f} | {p.visit_rate:g} | {p.price_sensitivity:g} | "
        f"{p.cart_rate:g} | {p.purchase_rate:g} |"
        for p in per_mod.PERSONAS
    )
    fams = ", ".join(f"`{f}`" for f in cat_mod.IN_HOUSE_FAMILIES)
    decline = 1.0 - share[-1] / share[0]
    code_rate = RATE_PRODUCT_MISSING_CATEGORY_CODE
    lost_rate = RATE_EVENT_LOST_CATEGORY_CODE
    return f"""# Ground truth of the synthetic event logs

Generated by `amazing generate` (module `amazing_analytics.generate.events`) for
{model.events:,} events, {model.start} .. {model.end}. These files are the *truth* the event logs
were simulated from; they are not part of the logs (keep them out of the `*.csv.gz` glob).

* `user_personas.csv`: one row per user appearing in the logs: `user_id`, `persona`, the
  persona's `price_sensitivity` (exponent beta of the choice weight `(price/median)^-beta`;
  negative = prefers expensive products), `visit_rate` (the user's expected sessions per 30
  days), `activity` (individual heavy-tailed multiplier), `cart_rate` (P(cart) per session,
  before the category multiplier) and `purchase_rate` (P(purchase | cart)).
* `expected_daily_demand.csv`: `date`, `category_code`, `expected_units`, `expected_revenue`:
  the exact expected number of purchase events and their revenue (USD) per category and day
  under the simulation model, computed analytically from the session intensities, funnel
  probabilities, choice model and complementary-purchase rules (not from the sampled events).
  `category_code` is the product's true category, also for products whose code is missing in
  the logs. Purchases are dated by the start of their session (a few sessions cross midnight).
  Injected duplicate lines and price defects are not included.
* `catalogue.csv`: one row per product: `product_id`, `category_id` (as written in the logs),
  true `category_code`, `category_family` (business grouping; the in-house brand sells in
  every category of {fams}), true `brand`, `base_price` (before promotions), `popularity`
  (share of the category's popularity, Zipf-like), `is_in_house`, `category_code_in_logs` and
  `brand_in_logs` (False when the attribute is empty in every event of the product).
* `expected_in_house_share.csv`: per month, the mean choice weight of the in-house brand and
  its expected share of revenue in the categories of the families {fams}.

## In-house brand `{cat_mod.IN_HOUSE_BRAND}`

Its choice weight relative to competitors is 1.0 until {model.ramp_start} and then falls linearly
to {model.in_house_end_weight:.4f} on {model.end}; the end weight is calibrated so that its expected
revenue share in its categories falls by {decline:.1%} from the first to the last month
({share[0]:.2%} -> {share[-1]:.2%}).

## Personas

| persona | share of users | visit rate | price sensitivity | cart rate | purchase rate |
|---------|----------------|------------|-------------------|-----------|---------------|
{personas}

## Injected defects (rates)

| defect | rate |
|--------|------|
| products without category_code (in all events) | {code_rate:.2%} of products |
| events losing the code of a coded product | {lost_rate:.2%} of their events |
| products without brand | {RATE_PRODUCT_MISSING_BRAND:.2%} of products |
| price 0.00 | {RATE_PRICE_ZERO:.3%} of events |
| empty price | {RATE_PRICE_NULL:.3%} of events |
| price above 10,000 (mis-typed) | {RATE_PRICE_TYPO:.4%} of events |
| exact duplicate lines (right after the original) | {RATE_DUPLICATE:.2%} of lines |
| second burst of a session hours/days later | {RATE_SESSION_SECOND_BURST:.2%} of sessions |
| one event of a session with another user_id | {RATE_SESSION_SHARED_USER:.2%} of sessions |
| empty user_session | {RATE_EMPTY_SESSION:.3%} of events |

Products without a category_code use a category_id that never has a code (one such id per
category), as in the real logs.

## Sampling note

Purchased products are drawn with balanced (systematic / stratified) sampling: every purchase
keeps exactly the model's distribution, but the monthly number of in-house purchases per
category and the price mix track their expectation, so the in-house share decline is visible at
demo sizes. Everything else (sessions, categories, funnel steps, views) is sampled independently.
"""


# ============================================================================================
# Entry point.
# ============================================================================================
def _as_date(value: date, name: str) -> date:
    """Validate a date argument (datetimes are truncated to their date)."""
    if isinstance(value, datetime):
        return value.date()
    if not isinstance(value, date):
        raise ValueError(f"{name} must be a datetime.date, got {value!r}")
    return value


def generate_events(
    events: int,
    seed: int,
    out: Path,
    *,
    start: date = date(2019, 10, 1),
    end: date = date(2020, 4, 30),
    progress: ProgressFn | None = None,
) -> GenerateSummary:
    """Generate REES46-shaped monthly event files with ground truth.

    Args:
        events: Approximate total number of data lines (the result is within a fraction of a
            percent; at least 1000).
        seed: Random seed; equal arguments give byte-identical files.
        out: Output directory (created if needed). Event files ``YYYY-Mon.csv.gz`` go directly
            into it, ground truth into ``out/ground_truth/``.
        start: First day (inclusive).
        end: Last day (inclusive); ``start <= end``.
        progress: Optional callback ``progress(stage, done, total)``; stages are ``"model"``
            (0/1, 1/1), ``"events"`` (lines written so far / requested events, once per month)
            and ``"ground_truth"`` (0/1, 1/1).

    Returns:
        A :class:`GenerateSummary`.

    Raises:
        ValueError: If ``events < 1000``, ``start > end`` or the arguments have wrong types.
    """
    t0 = time.perf_counter()
    if isinstance(events, bool) or not isinstance(events, int | np.integer):
        raise ValueError(f"events must be an integer, got {events!r}")
    if events < _MIN_EVENTS:
        raise ValueError(f"events must be at least {_MIN_EVENTS}, got {events}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise ValueError(f"seed must be an integer, got {seed!r}")
    start = _as_date(start, "start")
    end = _as_date(end, "end")
    if start > end:
        raise ValueError(f"start ({start}) must not be after end ({end})")
    events = int(events)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    report = progress or (lambda stage, done, total: None)

    report("model", 0, 1)
    root = np.random.SeedSequence(int(seed) % 2**128)
    seeds = root.spawn(3)
    model = _Model(events, start, end, seeds[:2])
    month_seeds = seeds[2].spawn(len(model.cal.months))
    report("model", 1, 1)

    span_end = int(model.cal.day_epoch[-1]) + 86_400
    seen = np.zeros(model.users.size, dtype=bool)
    pending = _Pending.empty()
    carry: _Events | None = None
    files: list[Path] = []
    written = 0
    with ThreadPoolExecutor(max_workers=1) as pool, ThreadPoolExecutor(max_workers=2) as zpool:
        job: Future[int] | None = None
        for mi, (year, month, _, d1) in enumerate(model.cal.months):
            rng = np.random.default_rng(month_seeds[mi])
            ev, pending = _simulate_month(model, mi, rng, pending)
            if carry is not None:
                ev = _Events.concat([carry, ev])
            month_end = int(model.cal.day_epoch[d1 - 1]) + 86_400
            inside = ev.time < month_end
            later = ~inside & (ev.time < span_end)
            carry = ev.take(later) if later.any() else None
            ev = ev.take(inside)
            seen[ev.user] = True
            rows = _month_rows(model, ev, rng)
            del ev
            path = out / month_file_name(year, month)
            files.append(path)
            table = month_table(rows, cat_mod.CATEGORY_CODES, cat_mod.BRANDS)
            del rows
            if job is not None:
                written += job.result()
                report("events", written, events)
            job = pool.submit(write_table, path, table, zpool)
            del table
        if job is not None:
            written += job.result()
            report("events", written, events)

    report("ground_truth", 0, 1)
    gt = out / "ground_truth"
    _write_ground_truth(model, gt, seen)
    report("ground_truth", 1, 1)
    return GenerateSummary(
        out_dir=out,
        files=sorted(files),
        ground_truth_dir=gt,
        events_written=written,
        users=int(seen.sum()),
        products=model.catalogue.size,
        seconds=time.perf_counter() - t0,
    )


__all__ = ["GenerateSummary", "generate_events"]

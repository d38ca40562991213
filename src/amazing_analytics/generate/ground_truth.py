"""Ground-truth files written beside the event logs (``out/ground_truth/``), never read by the
warehouse: personas per user, catalogue, expected daily demand, expected in-house share."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv

from amazing_analytics.generate import catalogue as catalogue_data
from amazing_analytics.generate import defects, demand, pricing, sessions
from amazing_analytics.generate.choice import CART_RATE_SCALE
from amazing_analytics.generate.personas import PERSONA_NAMES, PERSONAS, persona_array

if TYPE_CHECKING:
    from amazing_analytics.generate.model import ShopModel


def _write_csv(table: pa.Table, path: Path) -> None:
    """Write a plain CSV with an unquoted header (values never contain commas or quotes)."""
    sink = pa.BufferOutputStream()
    pa_csv.write_csv(table, sink, pa_csv.WriteOptions(include_header=False, quoting_style="none"))
    header = ",".join(table.column_names) + "\n"
    path.write_bytes(header.encode() + sink.getvalue().to_pybytes())


def _names(names: tuple[str, ...], index: np.ndarray) -> pa.Array:
    """Strings ``names[index]``."""
    return pa.array(list(names)).take(pa.array(index.astype(np.int32)))


def write_user_personas(model: ShopModel, seen: np.ndarray, path: Path) -> None:
    """``user_personas.csv``: one row per user appearing in the logs."""
    users = model.users
    index = np.flatnonzero(seen)
    index = index[np.argsort(users.user_id[index])]
    persona = users.persona[index]
    total_sessions = float(model.month_sessions.sum()) * (1.0 + model.followups_per_session)
    per_30_days = (
        users.weight[index]
        / model.user_cumulative_weight[-1]
        * total_sessions
        / (model.calendar.n_days / 30.0)
    )
    visit = persona_array("visit_rate")[persona]
    table = {
        "user_id": users.user_id[index],
        "persona": _names(PERSONA_NAMES, persona),
        "price_sensitivity": persona_array("price_sensitivity")[persona],
        "visit_rate": np.round(per_30_days, 4),
        "activity": np.round(users.weight[index] / visit, 4),
        "cart_rate": np.round(persona_array("cart_rate")[persona] * CART_RATE_SCALE, 6),
        "purchase_rate": np.round(model.choice.purchase_rate[persona], 6),
        "home_category_code": _names(catalogue_data.CATEGORY_CODES, users.home_category[index]),
        "home_category_rate": model.home_category_rate[persona],
        "taste_spread": model.taste_spread[persona],
    }
    _write_csv(pa.table(table), path)


def write_expected_demand(model: ShopModel, path: Path) -> None:
    """``expected_daily_demand.csv``: expected units and revenue per date and category."""
    day_count, category_count = model.expected_units.shape
    dates = np.repeat(np.array(model.calendar.days, dtype="datetime64[D]"), category_count)
    table = {
        "date": pa.array(dates),
        "category_code": pa.array(list(catalogue_data.CATEGORY_CODES) * day_count),
        "expected_units": np.round(model.expected_units.ravel(), 6),
        "expected_revenue": np.round(model.expected_revenue.ravel(), 4),
    }
    _write_csv(pa.table(table), path)


def write_catalogue(model: ShopModel, path: Path) -> None:
    """``catalogue.csv``: one row per product, sorted by product_id."""
    products = model.catalogue
    order = np.argsort(products.product_id)
    category = products.category[order]
    families = tuple(c.family for c in catalogue_data.CATEGORIES)
    table = {
        "product_id": products.product_id[order],
        "category_id": products.category_id_before_recode[order],
        "category_code": _names(catalogue_data.CATEGORY_CODES, category),
        "category_family": _names(families, category),
        "brand": _names(catalogue_data.BRANDS, products.brand[order]),
        "base_price": pa.array(products.price_cents[order] / 100.0),
        "popularity": np.round(products.popularity[order], 8),
        "is_in_house": products.in_house[order],
        "category_code_in_logs": ~products.code_missing_before_recode[order],
        "brand_in_logs": ~products.brand_missing[order],
        "category_id_after_recode": products.category_id_after_recode[order],
        "category_code_in_logs_after_recode": ~products.code_missing_after_recode[order],
    }
    _write_csv(pa.table(table), path)


def write_in_house_share(model: ShopModel, share: np.ndarray, path: Path) -> None:
    """``expected_in_house_share.csv``: monthly in-house weight and expected revenue share."""
    months = model.calendar.months
    table = {
        "month": [f"{year}-{month:02d}" for year, month, _, _ in months],
        "in_house_weight": [
            round(float(model.in_house_weight[first:end].mean()), 6) for _, _, first, end in months
        ],
        "expected_revenue_share": np.round(share, 6),
    }
    _write_csv(pa.table(table), path)


def write_price_elasticity(model: ShopModel, path: Path) -> None:
    """``category_price_elasticity.csv``: per second-level category, the purchase elasticity,
    whether its price moves, the spread of its log price and the true elasticity of its units
    (weighted least squares of log(expected units / expected units at constant price) on the
    log price step, over the days)."""
    keys = sorted(pricing.CATEGORY_PRICING)
    column = np.array([keys.index(pricing.level_2(c)) for c in catalogue_data.CATEGORY_CODES])
    flat = demand.expected_units(model, np.ones_like(model.price_response)).sum(axis=1)
    rows: dict[str, list] = {k: [] for k in ("category_level_2", "purchase_elasticity",
                                             "price_moves", "log_price_sd",
                                             "true_elasticity")}  # fmt: skip
    for index, key in enumerate(keys):  # loop over the 28 keys only
        members = column == index
        log_price = np.log(np.array(pricing.PRICE_STEPS)[model.price_step[:, members][:, 0]])
        with_response = model.expected_units[:, members].sum(axis=1)
        without = flat[:, members].sum(axis=1)
        weight = without / without.sum()
        centred = log_price - (weight * log_price).sum()
        spread = float((weight * centred**2).sum())
        slope = (
            float((weight * centred * np.log(with_response / without)).sum() / spread)
            if spread > 0
            else None
        )
        elasticity, moves = pricing.CATEGORY_PRICING[key]
        rows["category_level_2"].append(key)
        rows["purchase_elasticity"].append(elasticity)
        rows["price_moves"].append(moves)
        rows["log_price_sd"].append(round(float(log_price.std()), 6))
        rows["true_elasticity"].append(None if slope is None else round(slope, 6))
    _write_csv(pa.table(rows), path)


def write_ground_truth(model: ShopModel, directory: Path, seen: np.ndarray) -> None:
    """Write the ground-truth files and their README into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    write_user_personas(model, seen, directory / "user_personas.csv")
    write_expected_demand(model, directory / "expected_daily_demand.csv")
    write_catalogue(model, directory / "catalogue.csv")
    share = demand.monthly_in_house_share(
        model, model.expected_revenue, model.expected_in_house_revenue
    )
    write_in_house_share(model, share, directory / "expected_in_house_share.csv")
    write_price_elasticity(model, directory / "category_price_elasticity.csv")
    (directory / "README.md").write_text(readme(model, share), encoding="utf-8")


def _persona_table(model: ShopModel) -> str:
    """Markdown rows of the personas."""
    return "\n".join(
        f"| {p.name} | {p.share:.2f} | {p.visit_rate:g} | {p.price_sensitivity:g} | "
        f"{model.choice.purchase_rate[i]:.3g} | {p.home_category_rate:g} | {p.taste_spread:g} |"
        for i, p in enumerate(PERSONAS)
    )


def _defect_table() -> str:
    """Markdown rows of the injected defects."""
    rows = [
        (
            "rows without category_code before " + str(defects.RECODE_DATE),
            f"{catalogue_data.ROW_SHARE_MISSING_CATEGORY_CODE_BEFORE_RECODE:.0%} of rows (expected)",
        ),
        (
            "rows without category_code from " + str(defects.RECODE_DATE),
            f"{catalogue_data.ROW_SHARE_MISSING_CATEGORY_CODE_AFTER_RECODE:.0%} of rows (expected)",
        ),
        (
            "events losing the code of a coded product",
            f"{defects.RATE_EVENT_LOST_CATEGORY_CODE:.2%} of their events",
        ),
        ("rows without brand", f"{catalogue_data.ROW_SHARE_MISSING_BRAND:.0%} of rows (expected)"),
        ("price 0.00", f"{defects.RATE_PRICE_ZERO:.3%} of events"),
        ("empty price", f"{defects.RATE_PRICE_NULL:.3%} of events"),
        ("price above 10,000 (mis-typed)", f"{defects.RATE_PRICE_TYPO:.4%} of events"),
        (
            "exact duplicate lines (right after the original)",
            f"{defects.RATE_DUPLICATE:.2%} of lines",
        ),
        (
            "cart lines written twice at the same timestamp",
            f"{defects.RATE_CART_DUPLICATE:.0%} of cart events",
        ),
        (
            "second burst of a session hours/days later",
            f"{defects.RATE_SESSION_SECOND_BURST:.2%} of sessions",
        ),
        (
            "one event of a session with another user_id",
            f"{defects.RATE_SESSION_SHARED_USER:.2%} of sessions",
        ),
        ("empty user_session", f"{defects.RATE_EMPTY_SESSION:.3%} of events"),
    ]
    return "\n".join(f"| {what} | {rate} |" for what, rate in rows)


def readme(model: ShopModel, share: np.ndarray) -> str:
    """Markdown description of the ground-truth files and the model parameters."""
    return f"""# Ground truth of the synthetic event logs

Generated by `amazing generate` (package `amazing_analytics.generate`) for {model.events:,}
events, {model.start} .. {model.end}. These files are the *truth* the event logs were simulated
from; they are not part of the logs (keep them out of the `*.csv.gz` glob). See docs/demo_data.md.

{_file_descriptions()}

{_in_house_section(model, share)}

## Personas

| persona | share of users | visit rate | price sensitivity | purchase rate | home category rate | taste spread |
|---------|----------------|------------|-------------------|---------------|--------------------|--------------|
{_persona_table(model)}

## Injected defects (rates)

| defect | rate |
|--------|------|
{_defect_table()}

## Sessions

Abandoned carts are bought in a later session with probability
{sessions.RETURN_PURCHASE_RATE:g}; purchases of an anchor category bring accessory engagements
(`complements.csv`), most of them in the same session. Purchased products take their in-house /
competitor side from balanced (systematic) sampling, so the monthly number of in-house purchases
per category tracks its expectation and the share decline is visible at demo sizes.
"""


def _file_descriptions() -> str:
    """The README's list of the ground-truth files and their columns."""
    families = ", ".join(f"`{f}`" for f in catalogue_data.IN_HOUSE_FAMILIES)
    return f"""* `user_personas.csv`: one row per user appearing in the logs: `user_id`, `persona`, the
  persona's `price_sensitivity` (exponent beta of the choice weight `(price/median)^-beta`;
  negative = prefers expensive products), `visit_rate` (the user's expected sessions per 30
  days), `activity` (individual heavy-tailed multiplier), `cart_rate` (the persona's P(cart)
  per session before the category multiplier), `purchase_rate` (P(purchase | cart)),
  `home_category_code` (the user's favourite category), `home_category_rate` (P(a session
  targets it)) and `taste_spread` (how widely the user browses around their taste; small =
  brand and price loyal).
* `expected_daily_demand.csv`: `date`, `category_code`, `expected_units`, `expected_revenue`:
  the exact expected number of purchase events and their revenue (USD) per category and day
  under the simulation model, computed analytically from the session intensities, funnel
  probabilities, choice model, complementary-purchase and abandoned-cart-return rules (not from
  the sampled events). `category_code` is the product's true category, also for products whose
  code is missing in the logs. Purchases are dated by the start of their session. Injected
  duplicate lines and price defects are not included.
* `catalogue.csv`: one row per product: `product_id`, `category_id` (as written in the logs
  before {defects.RECODE_DATE}), true `category_code`, `category_family` (business grouping; the
  in-house brand sells in every category of {families}), true `brand`, `base_price` (before
  promotions), `popularity` (share of the category's popularity, Zipf-like), `is_in_house`,
  `category_code_in_logs` and `brand_in_logs` (False when the attribute is empty in the logs;
  for the code: before {defects.RECODE_DATE}), `category_id_after_recode` and
  `category_code_in_logs_after_recode` (from {defects.RECODE_DATE}, when the category tree was
  extended: some products get a code and a new category_id).
* `category_price_elasticity.csv`: per second-level category (`category_level_2`, the first two
  levels of the code), `purchase_elasticity` (the exponent of the base sessions' purchase
  response `m^elasticity` to the category's price step `m`), `price_moves` (False: the price
  never moves, the elasticity cannot be identified from the logs), `log_price_sd` (spread of
  the log price step over the days) and `true_elasticity` (the slope of the log expected units
  on the log price step: the elasticity of all the category's purchases, later purchases of
  abandoned carts and accessories included, which the warehouse's `price_elasticity` should
  recover; empty when the price does not move).
* `expected_in_house_share.csv`: per month, the mean choice weight of the in-house brand and
  its expected share of revenue in the categories of the families {families}."""


def _in_house_section(model: ShopModel, share: np.ndarray) -> str:
    """The README's section on the in-house brand's planted decline."""
    decline = 1.0 - share[-1] / share[0]
    return f"""## In-house brand `{catalogue_data.IN_HOUSE_BRAND}`

Its choice weight relative to competitors is 1.0 until {model.ramp_start} and then falls linearly
to {model.in_house_end_weight:.4f} on {model.end}; the end weight is calibrated so that its expected
revenue share in its categories falls by {decline:.1%} from the first to the last month
({share[0]:.2%} -> {share[-1]:.2%})."""

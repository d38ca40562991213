"""A/B control groups for the campaigns, their power before sending and their readout after.

* :func:`holdout_bucket` / :func:`assign_groups`: a deterministic holdout. The MD5 of
  ``"<campaign>:<user_id>"`` maps each (customer, campaign) pair to a number in [0, 1); pairs
  below the holdout share form the control group, which receives nothing. MD5 (not DuckDB's or
  Python's ``hash``) so that the same customer is in the same group on every machine and version.
* :func:`minimum_detectable_effect` / :func:`build_test_plan`: the smallest absolute difference
  in conversion a two-sided two-proportion test detects at the given alpha and power.
* :func:`build_campaign_results`: conversion and revenue of treatment against control in the
  window after each recorded send, per segment, with the uplift, its interval and the p-value.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Sequence
from statistics import NormalDist

import numpy as np
import pyarrow as pa

from amazing_analytics.ml.guards import require_columns

_LOG = logging.getLogger(__name__)
_NORMAL = NormalDist()
ALL_SEGMENTS = "All segments"
TREATMENT, CONTROL = "treatment", "control"


def _check_share(share: float, name: str = "holdout share") -> float:
    share = float(share)
    if not 0.0 < share < 1.0:
        raise ValueError(f"{name} must be strictly between 0 and 1, got {share}")
    return share


def holdout_bucket(user_id: int, campaign: str) -> float:
    """The pair's position in [0, 1): the first 8 bytes of MD5("<campaign>:<user_id>") / 2**64."""
    digest = hashlib.md5(f"{campaign}:{int(user_id)}".encode(), usedforsecurity=False).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def holdout_buckets(user_ids: Sequence[int], campaigns: Sequence[str]) -> np.ndarray:
    """:func:`holdout_bucket` for each pair (same length sequences)."""
    if len(user_ids) != len(campaigns):
        raise ValueError("user_ids and campaigns must have the same length")
    return np.array(
        [holdout_bucket(u, c) for u, c in zip(user_ids, campaigns, strict=True)], dtype=np.float64
    )


def assign_groups(audiences: pa.Table, share: float) -> pa.Table:
    """One row per (campaign_type, user_id) of ``audiences`` with its group.

    Args:
        audiences: campaign_audiences (campaign_type, campaign_name, segment_name, user_id, ...).
        share: The control share (0 < share < 1).

    Returns:
        campaign_type, campaign_name, segment_name, user_id, holdout_bucket, group_name
        ('control' when the bucket is below ``share``, else 'treatment'), holdout_share;
        sorted by campaign_type, user_id.
    """
    share = _check_share(share)
    needed = ["campaign_type", "campaign_name", "segment_name", "user_id"]
    require_columns(audiences, needed, "the campaign audiences table")
    table = audiences.select(needed).sort_by(
        [("campaign_type", "ascending"), ("user_id", "ascending")]
    )
    if table.num_rows == 0:
        _LOG.warning("WARN campaign_assignments: campaign_audiences is empty, nothing to assign")
    buckets = holdout_buckets(
        table.column("user_id").to_pylist(), table.column("campaign_type").to_pylist()
    )
    groups = np.where(buckets < share, CONTROL, TREATMENT)
    return pa.table(
        {
            "campaign_type": table.column("campaign_type"),
            "campaign_name": table.column("campaign_name"),
            "segment_name": table.column("segment_name"),
            "user_id": table.column("user_id").cast(pa.int64()),
            "holdout_bucket": pa.array(buckets, pa.float64()),
            "group_name": pa.array(groups.tolist(), pa.string()),
            "holdout_share": pa.array(np.full(table.num_rows, share), pa.float64()),
        }
    )


def minimum_detectable_effect(
    baseline: float, treatment_users: int, control_users: int, alpha: float, power: float
) -> float:
    """Smallest absolute conversion difference a two-sided two-proportion z-test detects.

    ``(z_{1-alpha/2} + z_{power}) * sqrt(p (1 - p) (1/n_t + 1/n_c))`` with ``p`` the baseline
    conversion; NaN when a group is empty or the baseline is 0 or 1.
    """
    _check_share(alpha, "alpha")
    _check_share(power, "power")
    if treatment_users <= 0 or control_users <= 0 or not 0.0 < baseline < 1.0:
        return math.nan
    z = _NORMAL.inv_cdf(1.0 - alpha / 2.0) + _NORMAL.inv_cdf(power)
    return z * math.sqrt(
        baseline * (1.0 - baseline) * (1.0 / treatment_users + 1.0 / control_users)
    )


def window_probability(probability: float, horizon_days: int, window_days: int) -> float:
    """A purchase probability over ``horizon_days`` rescaled to ``window_days`` (constant hazard)."""
    if horizon_days <= 0 or window_days <= 0:
        raise ValueError("horizon_days and window_days must be positive")
    return 1.0 - (1.0 - probability) ** (window_days / horizon_days)


_PLAN_SCHEMA = pa.schema(
    [
        ("campaign_type", pa.string()), ("campaign_name", pa.string()),
        ("segment_name", pa.string()), ("audience_users", pa.int64()),
        ("treatment_users", pa.int64()), ("control_users", pa.int64()),
        ("baseline_conversion", pa.float64()), ("mde_absolute", pa.float64()),
        ("mde_relative", pa.float64()), ("alpha", pa.float64()), ("power", pa.float64()),
        ("window_days", pa.int64()), ("status", pa.string()), ("reason", pa.string()),
    ]
)  # fmt: skip


def build_test_plan(
    assignments: pa.Table,
    propensity: pa.Table,
    *,
    alpha: float,
    power: float,
    propensity_horizon_days: int,
    window_days: int,
    min_group_users: int,
) -> pa.Table:
    """Per campaign_type x segment (and all segments): group sizes, baseline and MDE.

    The baseline conversion in the readout window is the mean purchase probability of the
    audience (customer_propensity, over ``propensity_horizon_days``) rescaled to
    ``window_days``. Status ``ok``; ``too_small`` when a group has fewer than ``min_group_users``;
    ``no_baseline`` without propensity scores (the MDE is then empty).
    """
    keys = ["campaign_type", "campaign_name", "segment_name", "user_id", "group_name"]
    rows = assignments.select(keys).to_pylist()
    groups = _audience_groups(rows, _purchase_probabilities(propensity))
    out: dict[str, list] = {c: [] for c in _PLAN_SCHEMA.names}
    if not groups:
        _LOG.warning("WARN campaign_test_plan: no assignments, no test to plan")
    for (campaign, name, segment), cell in sorted(groups.items()):
        n_t, n_c = len(cell[TREATMENT]), len(cell[CONTROL])
        baseline = (
            window_probability(float(np.mean(cell["p"])), propensity_horizon_days, window_days)
            if cell["p"]
            else math.nan
        )
        mde = minimum_detectable_effect(baseline, n_t, n_c, alpha, power) if cell["p"] else math.nan
        if not cell["p"]:
            status, reason = "no_baseline", "no purchase propensity for this audience: MDE unknown"
        elif min(n_t, n_c) < min_group_users:
            status = "too_small"
            reason = (
                f"{n_c} control and {n_t} treatment customers (< {min_group_users}): "
                "the test cannot tell anything"
            )
        else:
            status = "ok"
            reason = (
                f"detects a change of {mde * 100:.2f} points on a {baseline * 100:.2f}% "
                f"conversion in {window_days} days ({mde / baseline * 100:.0f}% relative) "
                f"with {power:.0%} power at alpha {alpha}"
            )
        if status != "ok":
            _LOG.warning("WARN campaign_test_plan %s / %s: %s", campaign, segment, reason)
        for column, value in (
            ("campaign_type", campaign), ("campaign_name", name), ("segment_name", segment),
            ("audience_users", n_t + n_c), ("treatment_users", n_t), ("control_users", n_c),
            ("baseline_conversion", None if math.isnan(baseline) else baseline),
            ("mde_absolute", None if math.isnan(mde) else mde),
            ("mde_relative", None if math.isnan(mde) or baseline == 0 else mde / baseline),
            ("alpha", alpha), ("power", power), ("window_days", window_days),
            ("status", status), ("reason", reason),
        ):  # fmt: skip
            out[column].append(value)
    return pa.table(out, schema=_PLAN_SCHEMA)


def _purchase_probabilities(propensity: pa.Table) -> dict[int, float]:
    """Each scored customer's purchase probability (customer_propensity)."""
    scores: dict[int, float] = {}
    if propensity.num_rows:
        for user, p in zip(
            propensity.column("user_id").to_pylist(),
            propensity.column("purchase_probability").to_pylist(),
            strict=True,
        ):
            if p is not None:
                scores[int(user)] = float(p)
    return scores


def _audience_groups(
    rows: list[dict], scores: dict[int, float]
) -> dict[tuple[str, str, str], dict[str, list]]:
    """Per (campaign_type, campaign_name, segment), its own and all segments: the treatment and
    control customers and the purchase probabilities of those scored (``p``)."""
    groups: dict[tuple[str, str, str], dict[str, list]] = {}
    for row in rows:
        for segment in (row["segment_name"], ALL_SEGMENTS):
            key = (row["campaign_type"], row["campaign_name"], segment)
            cell = groups.setdefault(key, {TREATMENT: [], CONTROL: [], "p": []})
            cell[row["group_name"]].append(row["user_id"])
            if row["user_id"] in scores:
                cell["p"].append(scores[row["user_id"]])
    return groups


def _two_proportions(x_t: int, n_t: int, x_c: int, n_c: int, alpha: float) -> dict[str, float]:
    """Difference (Wald interval), ratio (Katz log interval) and pooled z-test p-value."""
    z = _NORMAL.inv_cdf(1.0 - alpha / 2.0)
    p_t, p_c = x_t / n_t, x_c / n_c
    diff = p_t - p_c
    se = math.sqrt(p_t * (1 - p_t) / n_t + p_c * (1 - p_c) / n_c)
    pooled = (x_t + x_c) / (n_t + n_c)
    se0 = math.sqrt(pooled * (1 - pooled) * (1 / n_t + 1 / n_c))
    p_value = 2.0 * (1.0 - _NORMAL.cdf(abs(diff) / se0)) if se0 > 0 else math.nan
    ratio = lo_ratio = hi_ratio = math.nan
    if x_t > 0 and x_c > 0:
        ratio = p_t / p_c
        se_log = math.sqrt(1 / x_t - 1 / n_t + 1 / x_c - 1 / n_c)
        lo_ratio, hi_ratio = ratio * math.exp(-z * se_log), ratio * math.exp(z * se_log)
    return {
        "treatment_conversion": p_t, "control_conversion": p_c, "uplift_absolute": diff,
        "uplift_ci_low": diff - z * se, "uplift_ci_high": diff + z * se,
        "conversion_ratio": ratio, "ratio_ci_low": lo_ratio, "ratio_ci_high": hi_ratio,
        "p_value": p_value,
    }  # fmt: skip


def _revenue(rev_t: np.ndarray, rev_c: np.ndarray, alpha: float) -> dict[str, float]:
    """Revenue per customer of each group and the Welch interval of the difference."""
    z = _NORMAL.inv_cdf(1.0 - alpha / 2.0)
    mean_t, mean_c = float(rev_t.mean()), float(rev_c.mean())
    var_t = float(rev_t.var(ddof=1)) if rev_t.size > 1 else 0.0
    var_c = float(rev_c.var(ddof=1)) if rev_c.size > 1 else 0.0
    se = math.sqrt(var_t / rev_t.size + var_c / rev_c.size)
    diff = mean_t - mean_c
    return {
        "treatment_revenue_per_user": mean_t, "control_revenue_per_user": mean_c,
        "revenue_uplift_per_user": diff, "revenue_uplift_ci_low": diff - z * se,
        "revenue_uplift_ci_high": diff + z * se,
    }  # fmt: skip


_RESULT_COLUMNS = (
    "campaign_id", "send_date", "segment_name", "window_days", "treatment_users",
    "control_users", "treatment_converters", "control_converters", "treatment_conversion",
    "control_conversion", "uplift_absolute", "uplift_ci_low", "uplift_ci_high",
    "conversion_ratio", "ratio_ci_low", "ratio_ci_high", "p_value",
    "treatment_revenue_per_user", "control_revenue_per_user", "revenue_uplift_per_user",
    "revenue_uplift_ci_low", "revenue_uplift_ci_high", "is_significant", "status", "reason",
)  # fmt: skip


def _result_schema() -> pa.Schema:
    types: dict[str, pa.DataType] = {
        "campaign_id": pa.string(), "send_date": pa.date32(), "segment_name": pa.string(),
        "status": pa.string(), "reason": pa.string(), "is_significant": pa.bool_(),
    }  # fmt: skip
    for name in ("window_days", "treatment_users", "control_users"):
        types[name] = pa.int64()
    for name in ("treatment_converters", "control_converters"):
        types[name] = pa.int64()
    return pa.schema([(c, types.get(c, pa.float64())) for c in _RESULT_COLUMNS])


def build_campaign_results(
    outcomes: pa.Table, *, window_days: int, alpha: float, min_group_users: int
) -> pa.Table:
    """The uplift readout per campaign send x segment (and all segments).

    Args:
        outcomes: One row per sent customer: campaign_id, send_date, user_id, group_name
            ('treatment'|'control'), segment_name, is_converted (bought in the window),
            revenue (spent in the window).
        window_days: The readout window (recorded in the output).
        alpha: Two-sided significance level of the intervals and the test.
        min_group_users: Fewer customers than this in either group: status ``too_small``;
            nobody converted in either group: ``no_conversions`` (both with a WARN).

    Returns:
        One row per campaign_id x send_date x segment_name (see ``_RESULT_COLUMNS``); with no
        sends, an empty table of that shape and a WARN.
    """
    _check_share(alpha, "alpha")
    needed = ["campaign_id", "send_date", "user_id", "group_name", "segment_name",
              "is_converted", "revenue"]  # fmt: skip
    require_columns(outcomes, needed, "the campaign outcomes table")
    schema = _result_schema()
    if outcomes.num_rows == 0:
        _LOG.warning(
            "WARN campaign_results: no campaign sends recorded (var campaign_sends_path), "
            "no readout"
        )
        return schema.empty_table()
    bad = set(outcomes.column("group_name").to_pylist()) - {TREATMENT, CONTROL}
    if bad:
        raise ValueError(f"campaign sends have unknown groups {sorted(map(str, bad))}")
    # in a fixed order: DuckDB hands the rows over in the order its threads scan them, and the
    # revenue sums follow the rows' order (their last bits moved with a shuffled input)
    outcomes = outcomes.sort_by([("campaign_id", "ascending"), ("send_date", "ascending"),
                                 ("user_id", "ascending")])  # fmt: skip
    cells = _send_cells(outcomes.select(needed))
    out: dict[str, list] = {c: [] for c in _RESULT_COLUMNS}
    for key, cell in sorted(cells.items(), key=lambda kv: (
            kv[0][0], kv[0][1], kv[0][2] != ALL_SEGMENTS, kv[0][2])):  # fmt: skip
        row = _result_row(key, cell, window_days, alpha, min_group_users)
        for column in _RESULT_COLUMNS:
            out[column].append(row.get(column))
    return pa.table(out, schema=schema)


def _send_cells(outcomes: pa.Table) -> dict[tuple, dict[str, list[float]]]:
    """Per (campaign_id, send_date, segment), its own and all segments: each group's
    conversions (1 or 0) and revenue, one entry per customer."""
    data = outcomes.to_pydict()
    cells: dict[tuple, dict[str, list[float]]] = {}
    for i in range(outcomes.num_rows):
        for segment in (data["segment_name"][i], ALL_SEGMENTS):
            key = (data["campaign_id"][i], data["send_date"][i], segment)
            cell = cells.setdefault(key, {f"{g}_{m}": [] for g in (TREATMENT, CONTROL)
                                          for m in ("conv", "rev")})  # fmt: skip
            group = data["group_name"][i]
            cell[f"{group}_conv"].append(1.0 if data["is_converted"][i] else 0.0)
            cell[f"{group}_rev"].append(float(data["revenue"][i] or 0.0))
    return cells


def _result_row(
    key: tuple, cell: dict[str, list[float]], window_days: int, alpha: float, min_group_users: int
) -> dict[str, object]:
    """One send x segment's readout: the counts, and the uplift with its intervals when both
    groups are large enough and someone converted (else the status says why not, with a WARN)."""
    campaign, send_date, segment = key
    conv_t, conv_c = np.array(cell["treatment_conv"]), np.array(cell["control_conv"])
    n_t, n_c = conv_t.size, conv_c.size
    x_t, x_c = int(conv_t.sum()), int(conv_c.sum())
    row: dict[str, object] = {
        "campaign_id": campaign, "send_date": send_date, "segment_name": segment,
        "window_days": window_days, "treatment_users": n_t, "control_users": n_c,
        "treatment_converters": x_t, "control_converters": x_c,
    }  # fmt: skip
    if min(n_t, n_c) >= min_group_users and x_t + x_c == 0:
        row["status"] = "no_conversions"
        row["reason"] = f"nobody in either group bought in the {window_days} days: no readout"
        _LOG.warning("WARN campaign_results %s / %s: %s", campaign, segment, row["reason"])
        return row
    if min(n_t, n_c) < min_group_users:
        row["status"] = "too_small"
        row["reason"] = (
            f"{n_c} control and {n_t} treatment customers (< {min_group_users}): no readout"
        )
        _LOG.warning("WARN campaign_results %s / %s: %s", campaign, segment, row["reason"])
        return row
    stats = _two_proportions(x_t, n_t, x_c, n_c, alpha)
    stats.update(_revenue(np.array(cell["treatment_rev"]), np.array(cell["control_rev"]), alpha))
    row.update({k: (None if math.isnan(v) else v) for k, v in stats.items()})
    significant = not math.isnan(stats["p_value"]) and stats["p_value"] < alpha
    row["is_significant"] = significant
    row["status"] = "ok"
    ratio = stats["conversion_ratio"]
    ratio_text = (
        f" ({ratio:.2f}x, {stats['ratio_ci_low']:.2f}-{stats['ratio_ci_high']:.2f})"
        if not math.isnan(ratio)
        else ""
    )
    row["reason"] = (
        f"conversion {stats['treatment_conversion'] * 100:.2f}% treated vs "
        f"{stats['control_conversion'] * 100:.2f}% control in {window_days} days"
        f"{ratio_text}, p = {stats['p_value']:.3g}: "
        + ("the campaign changed conversion" if significant
           else "no difference the test can tell from chance")
    )  # fmt: skip
    return row

"""A coherent hierarchy: categories add up to their family, families to the whole shop.

Nodes: ``all`` -> ``family:<l1>`` -> ``category:<l1>.<l2>`` (the brand series is outside the
hierarchy). A family whose categories do not add up to it on the data (within 1e-6 relative)
is treated as a bottom node; without an ``all`` that equals the sum of its families there is no
hierarchy. Reconciliation (Wickramasuriya, Athanasopoulos & Hyndman 2019) maps base forecasts
``y`` of every node to ``S P y`` with ``P = (S' W^-1 S)^-1 S' W^-1``: OLS uses ``W = I``; MinT
(shrink) uses the base models' error covariance, shrunk towards its diagonal with the
Schäfer-Strimmer intensity; without errors, the structural scaling ``W = diag(S 1)``. Negative
reconciled bottom values are set to 0 and the hierarchy summed up again, so the result always
adds up exactly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

COHERENCE_TOLERANCE = 1e-6


@dataclass(frozen=True)
class Hierarchy:
    """``nodes`` (aggregates first, then the bottom nodes) and the summing matrix ``S``."""

    nodes: tuple[str, ...]
    bottom: tuple[str, ...]
    S: np.ndarray  # (n_nodes, n_bottom)


def _family(series_id: str) -> str | None:
    if series_id.startswith("category:"):
        return "family:" + series_id.split(":", 1)[1].split(".", 1)[0]
    return None


def _adds_up(parent: np.ndarray, children: np.ndarray) -> bool:
    total = np.nansum(children, axis=0)
    scale = max(1.0, float(np.nanmax(np.abs(parent))) if parent.size else 1.0)
    return bool(np.nanmax(np.abs(np.nan_to_num(parent) - total)) <= COHERENCE_TOLERANCE * scale)


def build_hierarchy(history: Mapping[str, np.ndarray]) -> Hierarchy | None:
    """The hierarchy of the series in ``history`` (series id -> values on common days, NaN
    before a series starts), or None when the families do not add up to ``all``."""
    families = sorted(s for s in history if s.startswith("family:"))
    if "all" not in history or not families:
        return None
    if not _adds_up(history["all"], np.vstack([history[f] for f in families])):
        return None
    bottom: list[str] = []
    parents: dict[str, list[str]] = {}
    for fam in families:
        cats = sorted(s for s in history if _family(s) == fam)
        if cats and _adds_up(history[fam], np.vstack([history[c] for c in cats])):
            parents[fam] = cats
            bottom.extend(cats)
        else:
            bottom.append(fam)
    aggregates = ["all", *parents]
    S = np.zeros((len(aggregates) + len(bottom), len(bottom)))
    S[0, :] = 1.0
    for i, fam in enumerate(parents, start=1):
        for c in parents[fam]:
            S[i, bottom.index(c)] = 1.0
    S[len(aggregates) :, :] = np.eye(len(bottom))
    return Hierarchy(tuple(aggregates + bottom), tuple(bottom), S)


def shrunk_covariance(residuals: np.ndarray) -> np.ndarray:
    """Schäfer-Strimmer shrinkage of the (uncentred) covariance of ``residuals`` (T x n)
    towards its diagonal."""
    x = np.asarray(residuals, dtype=np.float64)
    t = x.shape[0]
    cov = x.T @ x / t
    sd = np.sqrt(np.diag(cov))
    sd = np.where(sd > 0, sd, 1.0)
    z = x / sd
    corr = z.T @ z / t
    # sum over t of (z_ti z_tj - corr_ij)^2 = (z^2)'(z^2) - t corr^2 (no T x n x n array)
    squares = z * z
    var_corr = t / max(t - 1, 1) ** 3 * np.maximum(squares.T @ squares - t * corr**2, 0.0)
    off = ~np.eye(cov.shape[0], dtype=bool)
    denom = float((corr[off] ** 2).sum())
    lam = 1.0 if denom == 0 else float(np.clip(var_corr[off].sum() / denom, 0.0, 1.0))
    shrunk = lam * np.diag(np.diag(cov)) + (1.0 - lam) * cov
    return shrunk + np.eye(cov.shape[0]) * 1e-9 * max(float(np.trace(cov)), 1.0)


def reconcile(base: np.ndarray, S: np.ndarray, W: np.ndarray | None = None) -> np.ndarray:
    """Reconciled forecasts (n_nodes x horizon) of ``base`` (same shape); ``W`` None = OLS."""
    # W is symmetric positive definite (identity, a positive diagonal, or a shrunk covariance
    # with a ridge), so W^-1 S is a solve, not a pseudo-inverse (an SVD)
    Winv_S = S if W is None else np.linalg.solve(W, S)
    P = np.linalg.solve(S.T @ Winv_S, Winv_S.T)
    bottom = np.maximum(P @ base, 0.0)
    return S @ bottom


def reconcile_mint(
    base: np.ndarray, hierarchy: Hierarchy, residuals: np.ndarray | None
) -> np.ndarray:
    """MinT (shrink) with ``residuals`` (T x n_nodes) of the base forecasts; the structural
    scaling when there are fewer than two rows of residuals."""
    S = hierarchy.S
    if residuals is None or residuals.shape[0] < 2:
        return reconcile(base, S, np.diag(S.sum(axis=1)))
    return reconcile(base, S, shrunk_covariance(residuals))


def _rows_of(backtest: pa.Table, measure: str, picks: Mapping[str, str]) -> pa.Table:
    mask = pc.equal(backtest.column("measure"), measure)
    table = backtest.filter(mask)
    chosen = [f"{m}\x1f{s}" for s, m in picks.items()]
    key = pc.binary_join_element_wise(table.column("model"), table.column("series_id"), "\x1f")
    return table.filter(pc.is_in(key, pa.array(chosen)))


def reconcile_backtest(backtest: pa.Table, selected: Mapping[tuple[str, str], str]) -> pa.Table:
    """Backtest rows of the models ``selected`` (renamed 'selected') and their MinT-reconciled
    forecasts at every origin (model 'reconciled', no intervals), for the hierarchy's series."""
    from amazing_analytics.ml.forecasting.backtest import BACKTEST_SCHEMA  # (import cycle)

    parts = []
    for measure in sorted({m for m, _ in selected}):
        picks = {s: model for (m, s), model in selected.items() if m == measure}
        rows = _rows_of(backtest, measure, picks)
        parts.append(_rename(rows, "selected"))
        reconciled = _reconcile_rows(rows)
        if reconciled is not None:
            parts.append(reconciled)
    return pa.concat_tables(parts) if parts else BACKTEST_SCHEMA.empty_table()


def _rename(rows: pa.Table, name: str) -> pa.Table:
    return rows.set_column(0, "model", pa.array([name] * rows.num_rows, pa.string()))


def _grid(rows: pa.Table, column: str, nodes: Sequence[str]) -> dict[int, np.ndarray]:
    """origin day number -> (n_nodes x horizon) of ``column``."""
    series = rows.column("series_id").to_pylist()
    origins = pc.cast(rows.column("origin_date"), pa.int32()).to_numpy(zero_copy_only=False)
    hs = rows.column("horizon").to_numpy() - 1
    values = rows.column(column).to_numpy(zero_copy_only=False).astype(np.float64)
    index = {s: i for i, s in enumerate(nodes)}
    horizon = int(hs.max()) + 1
    out: dict[int, np.ndarray] = {}
    for o, s, h, v in zip(origins.tolist(), series, hs.tolist(), values, strict=True):
        if s in index:
            out.setdefault(o, np.full((len(nodes), horizon), np.nan))[index[s], h] = v
    return out


def _reconcile_rows(rows: pa.Table) -> pa.Table | None:
    if rows.num_rows == 0:
        return None
    actual = _grid(rows, "actual", sorted(set(rows.column("series_id").to_pylist())))
    ids = sorted(set(rows.column("series_id").to_pylist()))
    history = {s: np.concatenate([actual[o][i] for o in sorted(actual)]) for i, s in enumerate(ids)}
    hierarchy = build_hierarchy(history)
    if hierarchy is None:
        return None
    base, truth = _grid(rows, "yhat", hierarchy.nodes), _grid(rows, "actual", hierarchy.nodes)
    out = []
    for o in sorted(base):
        known = [truth[p] - base[p] for p in sorted(base) if p < o]
        res = np.concatenate(known, axis=1).T if known else None
        if res is not None:
            res = res[np.isfinite(res).all(axis=1)]
        ok = np.isfinite(base[o]).all()
        out.append(reconcile_mint(base[o], hierarchy, res) if ok else np.full_like(base[o], np.nan))
    return _reconciled_table(rows, hierarchy, sorted(base), out)


def _reconciled_table(
    rows: pa.Table, hierarchy: Hierarchy, origins: list[int], values: list[np.ndarray]
) -> pa.Table:
    keep = rows.filter(pc.is_in(rows.column("series_id"), pa.array(list(hierarchy.nodes))))
    index = {s: i for i, s in enumerate(hierarchy.nodes)}
    pos = {o: k for k, o in enumerate(origins)}
    o_col = pc.cast(keep.column("origin_date"), pa.int32()).to_numpy(zero_copy_only=False)
    hs = keep.column("horizon").to_numpy() - 1
    sids = keep.column("series_id").to_pylist()
    yhat = [
        float(values[pos[o]][index[s], h])
        for o, s, h in zip(o_col.tolist(), sids, hs.tolist(), strict=True)
    ]
    table = _rename(keep, "reconciled")
    table = table.set_column(
        table.schema.get_field_index("yhat"), "yhat", pa.array(yhat, pa.float64(), from_pandas=True)
    )
    for name in ("yhat_lower", "yhat_upper", "yhat_lower_95", "yhat_upper_95"):
        table = table.set_column(
            table.schema.get_field_index(name), name, pa.nulls(table.num_rows, pa.float64())
        )
    return table


def reconcile_forecast(
    history: Mapping[str, np.ndarray],
    base: Mapping[str, np.ndarray],
    selected_rows: pa.Table,
) -> dict[str, np.ndarray]:
    """MinT-reconciled final forecasts (series id -> horizon values) of the hierarchy's nodes;
    ``base`` holds each series' selected forecast, ``selected_rows`` their backtest rows (the
    source of the error covariance). Empty without a hierarchy or a base forecast per node."""
    hierarchy = build_hierarchy(history)
    if hierarchy is None or any(
        n not in base or not np.isfinite(base[n]).all() for n in hierarchy.nodes
    ):
        return {}
    stacked = np.vstack([base[n] for n in hierarchy.nodes])
    residuals = None
    if selected_rows.num_rows:
        truth = _grid(selected_rows, "actual", hierarchy.nodes)
        yhat = _grid(selected_rows, "yhat", hierarchy.nodes)
        res = np.concatenate([truth[o] - yhat[o] for o in sorted(truth)], axis=1).T
        residuals = res[np.isfinite(res).all(axis=1)]
    out = reconcile_mint(stacked, hierarchy, residuals)
    return {n: out[i] for i, n in enumerate(hierarchy.nodes)}

"""The numeric steps of the feature matrix, whatever the features: each column's transform
(``log1p``, ``log``, ``sqrt``, ``identity``), the evidence factors that shrink a visitor's taste
towards the population, and the standardisation (scikit-learn's ``StandardScaler`` with the
population mean and std), weighted. Which feature gets which is in
:mod:`~amazing_analytics.ml.segmentation.features`."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.preprocessing import StandardScaler


def to_model_space(raw: np.ndarray, transforms: Sequence[str]) -> np.ndarray:
    """Apply each column's transform (``log1p``, ``log``, ``sqrt``, ``identity``); NaN stays NaN.

    Raises:
        ValueError: an unknown transform name.
    """
    out = raw.copy()
    for j, transform in enumerate(transforms):
        if transform == "log1p":
            np.log1p(out[:, j], out=out[:, j])
        elif transform == "log":
            np.log(out[:, j], out=out[:, j])
        elif transform == "sqrt":
            np.sqrt(out[:, j], out=out[:, j])
        elif transform != "identity":
            raise ValueError(f"unknown feature transform {transform!r}")
    return out


def evidence_factors(views: np.ndarray, pseudo_views: np.ndarray) -> np.ndarray:
    """(n, f) shrinkage factor ``v / (v + a)`` per row (views v) and feature (pseudo-count a;
    a = 0: 1, not shrunk). A visitor without views gets 0 in every shrunk feature."""
    views = np.maximum(np.nan_to_num(np.asarray(views, dtype=np.float64), nan=0.0), 0.0)
    pseudo = np.asarray(pseudo_views, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        factors = views[:, None] / (views[:, None] + pseudo[None, :])
    return np.where(pseudo[None, :] > 0, np.nan_to_num(factors, nan=0.0), 1.0)


def fit_scaler(logged: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """StandardScaler's population mean and std (ddof=0) per column over the known values.

    A column without a known value gets mean 0, a constant column std 0 (its scaled value is 0).
    """
    known_any = ~np.all(np.isnan(logged), axis=0)
    means = np.zeros(logged.shape[1])
    stds = np.zeros(logged.shape[1])
    if known_any.any():
        scaler = StandardScaler().fit(logged[:, known_any])  # NaN: left out of the fit
        means[known_any] = scaler.mean_
        stds[known_any] = np.sqrt(scaler.var_)
    return means, stds


def scale(
    logged: np.ndarray,
    means: np.ndarray,
    stds: np.ndarray,
    weights: np.ndarray,
    factors: np.ndarray | None = None,
) -> np.ndarray:
    """Weighted z-score, times the evidence ``factors`` when given (see
    :func:`evidence_factors`); a zero-std column and the unknown (NaN) values become exactly 0."""
    varying = stds > 0
    scaler = StandardScaler()
    scaler.mean_ = means
    scaler.var_ = np.square(stds)
    scaler.scale_ = np.where(varying, stds, 1.0)
    scaler.n_features_in_ = logged.shape[1]
    scaled = scaler.transform(logged) if logged.shape[0] else np.zeros_like(logged)
    scaled[:, ~varying] = 0.0
    scaled[np.isnan(scaled)] = 0.0
    if factors is not None:
        scaled *= factors
    scaled *= weights
    scaled += 0.0  # no negative zeros: equal profiles have equal bytes
    return scaled

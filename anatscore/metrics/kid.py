r"""Kernel Inception Distance (Bińkowski et al. 2018): unbiased MMD² with a polynomial kernel.

.. math::

    k(x, y) = (\gamma\, x^\top y + c)^d, \quad \gamma = 1/\dim,\ c = 1,\ d = 3

    \widehat{\mathrm{MMD}}^2_u = \frac{\sum_{i \ne j} k(x_i, x_j)}{m(m-1)}
        + \frac{\sum_{i \ne j} k(y_i, y_j)}{n(n-1)} - \frac{2 \sum_{i,j} k(x_i, y_j)}{m n}

KID is the mean of this estimate over ``subsets`` random subsets of ``subset_size`` items drawn
without replacement from each set, with the standard deviation over subsets reported beside it,
exactly as torchmetrics' ``KernelInceptionDistance`` (defaults 100 subsets of 1000). When a set
has fewer than ``subset_size`` items the subset size shrinks to the smaller set (torchmetrics
raises instead); the result says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from .bootstrap import Interval, bootstrap_counts, percentile_interval
from .store import FeatureSet, FeatureStore


def polynomial_kernel(x: np.ndarray, y: np.ndarray, degree: int = 3, gamma: Optional[float] = None, coef: float = 1.0) -> np.ndarray:
    """``(gamma x·y + coef) ** degree`` in float64; ``gamma`` defaults to 1/dim."""
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    g = 1.0 / x.shape[1] if gamma is None else gamma
    return (x @ y.T * g + coef) ** degree


def mmd2_unbiased(k_xx: np.ndarray, k_xy: np.ndarray, k_yy: np.ndarray) -> float:
    """Unbiased MMD² from the three kernel blocks (sets may differ in size)."""
    m, n = k_xx.shape[0], k_yy.shape[0]
    xx = (k_xx.sum() - np.trace(k_xx)) / (m * (m - 1))
    yy = (k_yy.sum() - np.trace(k_yy)) / (n * (n - 1))
    return float(xx + yy - 2.0 * k_xy.sum() / (m * n))


@dataclass(frozen=True)
class KIDResult:
    """KID mean and standard deviation over subsets, and the subset size actually used."""

    mean: float
    std: float
    subset_size: int
    subsets: int


def kid(
    real: np.ndarray,
    fake: np.ndarray,
    subsets: int = 100,
    subset_size: int = 1000,
    degree: int = 3,
    gamma: Optional[float] = None,
    coef: float = 1.0,
    seed: int = 0,
) -> KIDResult:
    """KID between feature arrays ``real`` (m, d) and ``fake`` (n, d); one-shot twin of :class:`KID`."""
    real = np.asarray(real, np.float64)
    fake = np.asarray(fake, np.float64)
    size = min(subset_size, len(real), len(fake))
    if size < 2:
        raise ValueError(f"KID needs at least 2 items in each set, have {len(real)} real and {len(fake)} generated")
    rng = np.random.default_rng(seed)
    scores = np.empty(subsets, np.float64)
    for s in range(subsets):
        xr = real[rng.permutation(len(real))[:size]]
        xf = fake[rng.permutation(len(fake))[:size]]
        scores[s] = mmd2_unbiased(
            polynomial_kernel(xr, xr, degree, gamma, coef),
            polynomial_kernel(xr, xf, degree, gamma, coef),
            polynomial_kernel(xf, xf, degree, gamma, coef),
        )
    return KIDResult(float(scores.mean()), float(scores.std()), size, subsets)


def kid_bootstrap(
    real: np.ndarray,
    fake: np.ndarray,
    value: float,
    replicates: int = 100,
    max_items: int = 2000,
    seed: int = 0,
    degree: int = 3,
    gamma: Optional[float] = None,
    coef: float = 1.0,
) -> Interval:
    """Percentile interval of the full-set unbiased MMD² over bootstrap resamples of ``fake``.

    Kernel blocks are computed once (on at most ``max_items`` random items of each set) and each
    replicate re-weights them by its counts ``c``: the generated-generated term becomes
    ``(cᵀ K c - Σ c_j K_jj) / (n (n - 1))``.
    """
    rng = np.random.default_rng(seed)
    real = np.asarray(real, np.float64)
    fake = np.asarray(fake, np.float64)
    if len(real) > max_items:
        real = real[rng.choice(len(real), max_items, replace=False)]
    if len(fake) > max_items:
        fake = fake[rng.choice(len(fake), max_items, replace=False)]
    m, n = len(real), len(fake)
    if m < 2 or n < 2 or replicates < 2:
        return Interval(value)
    k_xx = polynomial_kernel(real, real, degree, gamma, coef)
    xx = (k_xx.sum() - np.trace(k_xx)) / (m * (m - 1))
    k_xy_cols = polynomial_kernel(real, fake, degree, gamma, coef).sum(axis=0)  # (n,)
    k_yy = polynomial_kernel(fake, fake, degree, gamma, coef)
    counts = bootstrap_counts(n, replicates, seed + 1).astype(np.float64)
    yy = (np.einsum("bi,ij,bj->b", counts, k_yy, counts) - counts @ np.diag(k_yy)) / (n * (n - 1))
    reps = xx + yy - 2.0 * (counts @ k_xy_cols) / (m * n)
    return percentile_interval(value, reps)


class KID(FeatureSet):
    """Streaming KID: ``update(features)`` / ``merge(other)`` / ``compute(reference_features)``.

    Features live in a :class:`~anatscore.metrics.store.FeatureStore` on disk when one is given.
    """

    def __init__(self, store: Optional["FeatureStore"] = None, subsets: int = 100, subset_size: int = 1000, seed: int = 0) -> None:
        super().__init__(store)
        self.subsets, self.subset_size, self.seed = subsets, subset_size, seed

    def compute(self, reference: np.ndarray) -> KIDResult:
        return kid(reference, self.features(), self.subsets, self.subset_size, seed=self.seed)

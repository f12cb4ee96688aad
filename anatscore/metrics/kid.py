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

from .bootstrap import Interval, percentile_interval, resample_plan
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


def distinct_source_mean(k: np.ndarray, counts: np.ndarray) -> np.ndarray:
    r"""Within-set kernel mean of resamples over pairs of *distinct source items*, (B,).

    A resample with counts ``c`` (B, n) holds item j ``c_j`` times. Its off-diagonal kernel mean
    as an unbiased estimator would compute it also pairs copies of the same item (``c_j² - c_j``
    ordered pairs worth k(x_j, x_j)), inflating the mean; those pairs are excluded here:

    .. math:: \frac{c^\top K c - \sum_j c_j^2 K_{jj}}{(\sum_j c_j)^2 - \sum_j c_j^2}

    which with all ``c_j = 1`` is the usual ``Σ_{i≠j} K_ij / (n (n - 1))`` and whose bootstrap
    expectation is (to first order) that same value. NaN where fewer than two distinct items.
    """
    c = np.asarray(counts, np.float64)
    num = np.einsum("bi,ij,bj->b", c, k, c) - (c * c) @ np.diag(k)
    den = c.sum(axis=1) ** 2 - (c * c).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def kid_replicates(
    real: np.ndarray,
    fake: np.ndarray,
    counts: np.ndarray,
    degree: int = 3,
    gamma: Optional[float] = None,
    coef: float = 1.0,
) -> np.ndarray:
    """Unbiased MMD² of the resamples of ``fake`` given by ``counts`` (B, n), ``real`` fixed; (B,).

    Within-generated term: :func:`distinct_source_mean` (pairs of copies of one item excluded);
    cross term ``cᵀ colsum(K_xy) / (m n)`` is linear in the counts and needs no correction.
    """
    real = np.asarray(real, np.float64)
    fake = np.asarray(fake, np.float64)
    m = len(real)
    c = np.asarray(counts, np.float64)
    k_xx = polynomial_kernel(real, real, degree, gamma, coef)
    xx = (k_xx.sum() - np.trace(k_xx)) / (m * (m - 1))
    k_xy_cols = polynomial_kernel(real, fake, degree, gamma, coef).sum(axis=0)  # (n,)
    yy = distinct_source_mean(polynomial_kernel(fake, fake, degree, gamma, coef), c)
    return xx + yy - 2.0 * (c @ k_xy_cols) / (m * c.sum(axis=1))


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
    replicate re-weights them by its counts (:func:`kid_replicates`). Resampling with replacement
    rather than subsampling without: subsamples of size b < n have a variance that scales with b
    differently depending on whether the two distributions are equal (degenerate U-statistic) or
    not, so no single rescaling to n is right; excluding same-source pairs removes the only bias
    the duplicates bring (see :func:`distinct_source_mean`).
    """
    if len(real) < 2 or len(fake) < 2 or replicates < 2:
        return Interval(value)
    real, fake, counts = resample_plan(real, fake, replicates, max_items, seed)
    return percentile_interval(value, kid_replicates(real, fake, counts, degree, gamma, coef))


class KID(FeatureSet):
    """Streaming KID: ``update(features)`` / ``merge(other)`` / ``compute(reference_features)``.

    Features live in a :class:`~anatscore.metrics.store.FeatureStore` on disk when one is given.
    """

    def __init__(self, store: Optional["FeatureStore"] = None, subsets: int = 100, subset_size: int = 1000, seed: int = 0) -> None:
        super().__init__(store)
        self.subsets, self.subset_size, self.seed = subsets, subset_size, seed

    def compute(self, reference: np.ndarray) -> KIDResult:
        return kid(reference, self.features(), self.subsets, self.subset_size, seed=self.seed)

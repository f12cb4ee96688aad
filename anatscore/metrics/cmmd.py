r"""CMMD (Jayasumana et al., "Rethinking FID: Towards a Better Evaluation Metric for Image
Generation", CVPR 2024): MMD² with a Gaussian RBF kernel on CLIP image embeddings.

.. math::

    k(x, y) = \exp\!\left(-\frac{\lVert x - y \rVert^2}{2\sigma^2}\right), \quad \sigma = 10

    \mathrm{CMMD} = 1000 \cdot \bigl(\overline{K_{xx}} + \overline{K_{yy}} - 2\,\overline{K_{xy}}\bigr)

where :math:`\overline{K}` is the mean over *all* pairs, diagonal included (the estimator of the
authors' published code), on L2-normalised embeddings. ``sigma`` and ``scale`` are the published
constants; change them and the numbers stop being comparable with papers.
"""

from __future__ import annotations

import numpy as np

from .bootstrap import Interval, percentile_interval, resample_plan
from .kid import distinct_source_mean
from .store import FeatureSet

SIGMA = 10.0
SCALE = 1000.0


def rbf_kernel_sum(x: np.ndarray, y: np.ndarray, sigma: float = SIGMA, chunk: int = 2048) -> np.ndarray:
    """Column sums of the RBF kernel matrix K(x, y): shape (len(y),), computed in row chunks."""
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    gamma = 1.0 / (2.0 * sigma**2)
    y_sq = (y * y).sum(1)
    out = np.zeros(len(y), np.float64)
    for start in range(0, len(x), chunk):
        xs = x[start : start + chunk]
        d2 = (xs * xs).sum(1)[:, None] + y_sq[None, :] - 2.0 * (xs @ y.T)
        out += np.exp(-gamma * d2).sum(axis=0)
    return out


def cmmd(x: np.ndarray, y: np.ndarray, sigma: float = SIGMA, scale: float = SCALE) -> float:
    """CMMD between embedding arrays ``x`` (reference, m x d) and ``y`` (generated, n x d)."""
    m, n = len(x), len(y)
    if m < 1 or n < 1:
        raise ValueError("CMMD needs at least one embedding in each set")
    k_xx = rbf_kernel_sum(x, x, sigma).sum() / (m * m)
    k_yy = rbf_kernel_sum(y, y, sigma).sum() / (n * n)
    k_xy = rbf_kernel_sum(x, y, sigma).sum() / (m * n)
    return float(scale * (k_xx + k_yy - 2.0 * k_xy))


def rbf_kernel(x: np.ndarray, y: np.ndarray, sigma: float = SIGMA) -> np.ndarray:
    """The full RBF kernel matrix K(x, y) in float64 (squared distances clipped at 0)."""
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    d2 = (x * x).sum(1)[:, None] + (y * y).sum(1)[None, :] - 2.0 * (x @ y.T)
    return np.exp(-np.clip(d2, 0.0, None) / (2.0 * sigma**2))


def cmmd_replicates(x: np.ndarray, y: np.ndarray, counts: np.ndarray, sigma: float = SIGMA, scale: float = SCALE) -> np.ndarray:
    r"""CMMD of the resamples of ``y`` given by ``counts`` (B, n), ``x`` fixed; (B,).

    The point estimate's generated-generated mean over all n² pairs is
    ``1/n + (1 - 1/n) · U`` (RBF diagonal = 1, U the mean over pairs of distinct items). A
    resample's plug-in ``cᵀKc / n²`` would count every pair of copies of one item as a diagonal
    term, ~n extra ones, biasing CMMD upward by ~(1 - U)/n; each replicate instead keeps the
    ``1/n`` diagonal share and takes U over pairs of distinct source items
    (:func:`~anatscore.metrics.kid.distinct_source_mean`). The cross term is linear in the counts.
    """
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    c = np.asarray(counts, np.float64)
    m, n = len(x), len(y)
    k_xx = rbf_kernel_sum(x, x, sigma).sum() / (m * m)
    k_xy = rbf_kernel_sum(x, y, sigma) / m  # (n,)
    u_yy = distinct_source_mean(rbf_kernel(y, y, sigma), c)
    k_yy = 1.0 / n + (1.0 - 1.0 / n) * u_yy
    return scale * (k_xx + k_yy - 2.0 * (c @ k_xy) / c.sum(axis=1))


def cmmd_bootstrap(
    x: np.ndarray,
    y: np.ndarray,
    value: float,
    replicates: int = 100,
    max_items: int = 2000,
    seed: int = 0,
    sigma: float = SIGMA,
    scale: float = SCALE,
) -> Interval:
    """Percentile interval of CMMD over bootstrap resamples of ``y`` (:func:`cmmd_replicates`)."""
    if len(y) < 2 or replicates < 2:
        return Interval(value)
    x, y, counts = resample_plan(x, y, replicates, max_items, seed)
    return percentile_interval(value, cmmd_replicates(x, y, counts, sigma, scale))


class CMMD(FeatureSet):
    """Streaming CMMD: ``update(embeddings)`` / ``merge(other)`` / ``compute(reference_embeddings)``."""

    def compute(self, reference: np.ndarray) -> float:
        return cmmd(reference, self.features())

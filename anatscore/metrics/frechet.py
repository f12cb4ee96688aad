r"""Fréchet distance between Gaussians fitted to two feature sets (FID on Inception features).

.. math::

    d^2 = \lVert \mu_1 - \mu_2 \rVert_2^2
          + \operatorname{tr}\bigl(\Sigma_1 + \Sigma_2 - 2 (\Sigma_1 \Sigma_2)^{1/2}\bigr)

with :math:`\Sigma` the unbiased (``n - 1``) sample covariance, as pytorch-fid, torchmetrics and
clean-fid use. The trace of the matrix square root is computed as
:math:`\sum_i \sqrt{\lambda_i}` over the eigenvalues of the symmetric PSD matrix
:math:`\Sigma_1^{1/2} \Sigma_2 \Sigma_1^{1/2}` (same spectrum as :math:`\Sigma_1 \Sigma_2`), which
needs only ``eigh`` and never produces the complex round-off that ``scipy.linalg.sqrtm`` does on
near-singular products.

:class:`FrechetStats` is the streaming form: it keeps the count, the sum and the sum of outer
products in float64, so memory does not depend on the number of images and shards computed on
different machines :meth:`~FrechetStats.merge` exactly (to float64 rounding).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np


def _psd_sqrt(mat: np.ndarray) -> np.ndarray:
    """Symmetric square root of a symmetric PSD matrix (negative round-off eigenvalues -> 0)."""
    vals, vecs = np.linalg.eigh((mat + mat.T) / 2.0)
    return (vecs * np.sqrt(np.clip(vals, 0.0, None))) @ vecs.T


def trace_sqrt_product(sigma1: np.ndarray, sigma2: np.ndarray, sqrt_sigma1: Optional[np.ndarray] = None) -> float:
    r""":math:`\operatorname{tr}((\Sigma_1 \Sigma_2)^{1/2})` for symmetric PSD inputs."""
    s1 = _psd_sqrt(sigma1) if sqrt_sigma1 is None else sqrt_sigma1
    inner = s1 @ sigma2 @ s1
    vals = np.linalg.eigvalsh((inner + inner.T) / 2.0)
    return float(np.sqrt(np.clip(vals, 0.0, None)).sum())


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2) (float64 throughout).

    >>> import numpy as np
    >>> round(frechet_distance(np.zeros(2), np.eye(2), np.ones(2), np.eye(2)), 6)
    2.0
    """
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    sigma1, sigma2 = np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64)
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape:
        raise ValueError(f"shape mismatch: mu {mu1.shape} vs {mu2.shape}, sigma {sigma1.shape} vs {sigma2.shape}")
    diff = mu1 - mu2
    tr = trace_sqrt_product(sigma1, sigma2)
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * tr)


def frechet_distance_features(x: np.ndarray, y: np.ndarray) -> float:
    """One-shot twin: Fréchet distance between feature arrays ``x`` (n, d) and ``y`` (m, d)."""
    return FrechetStats.from_features(x).compute(FrechetStats.from_features(y))


@dataclass
class FrechetStats:
    """Sufficient statistics of one feature set: count, sum, sum of outer products (float64).

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> a, b = FrechetStats(3), FrechetStats(3)
    >>> a.update(rng.normal(size=(50, 3))); b.update(rng.normal(size=(40, 3)))
    >>> a.merge(b).n
    90
    """

    dim: int
    n: int = 0
    total: np.ndarray = field(default=None)  # type: ignore[assignment]
    outer: np.ndarray = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.total is None:
            self.total = np.zeros(self.dim, np.float64)
        if self.outer is None:
            self.outer = np.zeros((self.dim, self.dim), np.float64)

    @classmethod
    def from_features(cls, x: np.ndarray) -> "FrechetStats":
        x = np.asarray(x)
        s = cls(x.shape[1])
        s.update(x)
        return s

    def update(self, x: np.ndarray) -> None:
        """Add a batch of features (n, dim) of any float dtype (accumulated in float64)."""
        x = np.asarray(x, np.float64)
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"expected features of shape (n, {self.dim}), got {x.shape}")
        self.n += x.shape[0]
        self.total += x.sum(axis=0)
        self.outer += x.T @ x

    def merge(self, other: "FrechetStats") -> "FrechetStats":
        """Add another shard's statistics into this one (in place) and return self."""
        if other.dim != self.dim:
            raise ValueError(f"cannot merge statistics of dim {other.dim} into dim {self.dim}")
        self.n += other.n
        self.total += other.total
        self.outer += other.outer
        return self

    @property
    def mean(self) -> np.ndarray:
        if self.n < 1:
            raise ValueError("no features accumulated")
        return self.total / self.n

    @property
    def cov(self) -> np.ndarray:
        """Unbiased sample covariance ``(S - n mu mu^T) / (n - 1)`` (as ``np.cov``)."""
        if self.n < 2:
            raise ValueError(f"covariance needs at least 2 features, have {self.n}")
        mu = self.mean
        c = (self.outer - self.n * np.outer(mu, mu)) / (self.n - 1)
        return (c + c.T) / 2.0

    def compute(self, other: "FrechetStats", scale: Optional[np.ndarray] = None) -> float:
        """Fréchet distance to ``other``; ``scale`` (dim,) divides every feature first.

        ``scale`` is how hand-made feature sets (``radiomic``) are standardised: by the
        reference's per-feature standard deviation, so no single unit dominates.
        """
        mu1, c1, mu2, c2 = self.mean, self.cov, other.mean, other.cov
        if scale is not None:
            inv = 1.0 / np.asarray(scale, np.float64)
            mu1, mu2 = mu1 * inv, mu2 * inv
            c1, c2 = c1 * np.outer(inv, inv), c2 * np.outer(inv, inv)
        return frechet_distance(mu1, c1, mu2, c2)

    def to_arrays(self, prefix: str = "") -> dict[str, np.ndarray]:
        """Plain arrays for an ``.npz`` file (see :meth:`from_arrays`)."""
        return {f"{prefix}n": np.asarray(self.n, np.int64), f"{prefix}sum": self.total, f"{prefix}outer": self.outer}

    @classmethod
    def from_arrays(cls, arrays: "dict[str, np.ndarray] | np.lib.npyio.NpzFile", prefix: str = "") -> "FrechetStats":
        total = np.asarray(arrays[f"{prefix}sum"], np.float64)
        return cls(total.shape[0], int(arrays[f"{prefix}n"]), total.copy(), np.asarray(arrays[f"{prefix}outer"], np.float64).copy())


def weighted_frechet_to(
    ref_mean: np.ndarray, ref_cov: np.ndarray, x: np.ndarray, weights: np.ndarray, scale: Optional[np.ndarray] = None
) -> np.ndarray:
    """Fréchet distances from a fixed reference Gaussian to bootstrap re-weightings of ``x``.

    ``weights`` is (B, n) of non-negative integer counts (each row sums to n): row b is one
    bootstrap resample of ``x`` (n, d). Returns (B,) distances. When n < d the trace term is
    computed in the n-dimensional sample space (eigenvalues of ``W^½ Xc Σr Xcᵀ W^½ / (n-1)``
    share their non-zero part with ``Σr^½ Σx Σr^½``), which is what makes bootstrapping a
    2048-d FID affordable on a CPU.
    """
    x = np.asarray(x, np.float64)
    ref_mean = np.asarray(ref_mean, np.float64)
    ref_cov = np.asarray(ref_cov, np.float64)
    if scale is not None:
        inv = 1.0 / np.asarray(scale, np.float64)
        x, ref_mean, ref_cov = x * inv, ref_mean * inv, ref_cov * np.outer(inv, inv)
    n, d = x.shape
    out = np.empty(weights.shape[0], np.float64)
    tr_ref = float(np.trace(ref_cov))
    if n <= d:
        gram = x @ ref_cov @ x.T  # (n, n)
        for b, c in enumerate(np.asarray(weights, np.float64)):
            mu = c @ x / n
            g_mu = gram @ c / n  # x_i Σr mu
            mu_s_mu = c @ g_mu / n
            centred = gram - g_mu[:, None] - g_mu[None, :] + mu_s_mu
            keep = c > 0
            sw = np.sqrt(c[keep])
            m = centred[np.ix_(keep, keep)] * np.outer(sw, sw) / (n - 1)
            vals = np.linalg.eigvalsh((m + m.T) / 2.0)
            tr_sqrt = np.sqrt(np.clip(vals, 0.0, None)).sum()
            sq = (x[keep] - mu) * sw[:, None]
            tr_x = float((sq * sq).sum()) / (n - 1)
            diff = mu - ref_mean
            out[b] = diff @ diff + tr_x + tr_ref - 2.0 * tr_sqrt
    else:
        sqrt_ref = _psd_sqrt(ref_cov)
        for b, c in enumerate(np.asarray(weights, np.float64)):
            mu = c @ x / n
            xc = x - mu
            cov = (xc.T * c) @ xc / (n - 1)
            diff = mu - ref_mean
            out[b] = diff @ diff + np.trace(cov) + tr_ref - 2.0 * trace_sqrt_product(ref_cov, cov, sqrt_ref)
    return out

r"""Precision, recall, density and coverage (Naeem et al., ICML 2020) on k-NN manifolds.

With :math:`r_k(x)` the distance from a sample to its k-th nearest neighbour in its own set
(itself excluded), real set :math:`X` (m) and generated set :math:`Y` (n):

- precision :math:`= \frac1n \sum_j [\exists i: \lVert y_j - x_i\rVert < r_k(x_i)]`
- recall :math:`= \frac1m \sum_i [\exists j: \lVert x_i - y_j\rVert < r_k(y_j)]`
- density :math:`= \frac{1}{kn} \sum_j \sum_i [\lVert y_j - x_i\rVert < r_k(x_i)]`
- coverage :math:`= \frac1m \sum_i [\min_j \lVert x_i - y_j\rVert < r_k(x_i)]`

Strict inequalities and self-exclusion as in the authors' ``prdc`` package; k = 5 by default.
Distances are computed in float64 in row chunks so memory stays bounded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .bootstrap import Interval, bootstrap_counts, percentile_interval
from .store import FeatureSet, FeatureStore
from .knn import distance_chunks, kth_neighbour_radii

NAMES = ("precision", "recall", "density", "coverage")


@dataclass(frozen=True)
class PRDCResult:
    precision: float
    recall: float
    density: float
    coverage: float

    def as_dict(self) -> dict[str, float]:
        return {k: getattr(self, k) for k in NAMES}


@dataclass
class _Relations:
    """Per-pair indicator summaries from which PRDC and its bootstrap replicates follow."""

    in_real_ball: np.ndarray  # (m, n) bool: d(x_i, y_j) < r_k(x_i)
    in_fake_ball: np.ndarray  # (m, n) bool: d(x_i, y_j) < r_k(y_j)
    k: int


def _relations(real: np.ndarray, fake: np.ndarray, k: int) -> _Relations:
    r_real = kth_neighbour_radii(real, k)
    r_fake = kth_neighbour_radii(fake, k)
    m, n = len(real), len(fake)
    in_real = np.empty((m, n), bool)
    in_fake = np.empty((m, n), bool)
    for start, d in distance_chunks(real, fake):
        rows = slice(start, start + len(d))
        in_real[rows] = d < r_real[rows, None]
        in_fake[rows] = d < r_fake[None, :]
    return _Relations(in_real, in_fake, k)


def _from_weights(rel: _Relations, counts: np.ndarray) -> np.ndarray:
    """(B, 4) PRDC for generated-set count vectors ``counts`` (B, n), radii held fixed."""
    # float32 holds these integer counts exactly (< 2**24) at half the memory of float64
    counts = np.asarray(counts, np.float32)
    n = counts.shape[1]
    covered_by = rel.in_real_ball.astype(np.float32)  # (m, n)
    per_fake_hits = covered_by.sum(axis=0, dtype=np.float64)  # (n,) real balls containing y_j
    c64 = counts.astype(np.float64)
    precision = c64 @ (per_fake_hits > 0) / n
    density = c64 @ per_fake_hits / (rel.k * n)
    recall = ((rel.in_fake_ball.astype(np.float32) @ counts.T) > 0).mean(axis=0)
    coverage = ((covered_by @ counts.T) > 0).mean(axis=0)
    return np.stack([precision, recall, density, coverage], axis=1)


def prdc(real: np.ndarray, fake: np.ndarray, k: int = 5) -> PRDCResult:
    """PRDC between feature arrays ``real`` (m, d) and ``fake`` (n, d); both need more than k rows."""
    rel = _relations(np.asarray(real), np.asarray(fake), k)
    vals = _from_weights(rel, np.ones((1, len(fake))))[0]
    return PRDCResult(*(float(v) for v in vals))


def prdc_with_intervals(
    real: np.ndarray, fake: np.ndarray, k: int = 5, replicates: int = 100, seed: int = 0
) -> dict[str, Interval]:
    """PRDC with percentile intervals over bootstrap resamples of ``fake``.

    The k-NN radii are those of the observed sets (a resample with duplicates would shrink the
    generated radii to zero); each replicate re-weights which generated samples are present.
    """
    rel = _relations(np.asarray(real), np.asarray(fake), k)
    point = _from_weights(rel, np.ones((1, len(fake))))[0]
    if replicates < 2:
        return {name: Interval(float(point[i])) for i, name in enumerate(NAMES)}
    reps = _from_weights(rel, bootstrap_counts(len(fake), replicates, seed))
    return {name: percentile_interval(float(point[i]), reps[:, i]) for i, name in enumerate(NAMES)}


class PRDC(FeatureSet):
    """Streaming PRDC: ``update(features)`` / ``merge(other)`` / ``compute(reference_features)``."""

    def __init__(self, store: "FeatureStore | None" = None, k: int = 5) -> None:
        super().__init__(store)
        self.k = k

    def compute(self, reference: np.ndarray) -> PRDCResult:
        return prdc(reference, self.features(), self.k)

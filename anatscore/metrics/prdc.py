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


def _from_weights(rel: _Relations, fake_counts: np.ndarray, real_counts: np.ndarray) -> np.ndarray:
    """(B, 4) PRDC with generated-item counts ``fake_counts`` (B, n) and reference-item counts
    ``real_counts`` (B, m), radii held at the observed sets'.

    Precision and density average over generated items (weighted by ``fake_counts``); recall and
    coverage average over reference items (weighted by ``real_counts``), their per-item
    indicators computed against the whole observed other set. All four are linear in the counts,
    so bootstrap replicates are unbiased for the point estimate (see :mod:`.bootstrap`).
    """
    fc = np.asarray(fake_counts, np.float64)
    rc = np.asarray(real_counts, np.float64)
    per_fake_hits = rel.in_real_ball.sum(axis=0, dtype=np.float64)  # (n,) real balls containing y_j
    precision = fc @ (per_fake_hits > 0) / fc.sum(axis=1)
    density = fc @ per_fake_hits / (rel.k * fc.sum(axis=1))
    recall = rc @ rel.in_fake_ball.any(axis=1) / rc.sum(axis=1)
    coverage = rc @ rel.in_real_ball.any(axis=1) / rc.sum(axis=1)
    return np.stack([precision, recall, density, coverage], axis=1)


def prdc(real: np.ndarray, fake: np.ndarray, k: int = 5) -> PRDCResult:
    """PRDC between feature arrays ``real`` (m, d) and ``fake`` (n, d); both need more than k rows."""
    rel = _relations(np.asarray(real), np.asarray(fake), k)
    vals = _from_weights(rel, np.ones((1, len(fake))), np.ones((1, len(real))))[0]
    return PRDCResult(*(float(v) for v in vals))


def prdc_replicates(real: np.ndarray, fake: np.ndarray, fake_counts: np.ndarray, real_counts: np.ndarray, k: int = 5) -> np.ndarray:
    """(B, 4) bootstrap replicates of (precision, recall, density, coverage) for given counts."""
    return _from_weights(_relations(np.asarray(real), np.asarray(fake), k), fake_counts, real_counts)


def prdc_with_intervals(
    real: np.ndarray, fake: np.ndarray, k: int = 5, replicates: int = 100, seed: int = 0
) -> dict[str, Interval]:
    """PRDC with percentile intervals over bootstrap resamples.

    The k-NN radii are those of the observed sets (a resample with duplicates would shrink them to
    zero). Precision/density resample the generated items; recall/coverage resample the reference
    items: both are "is there at least one generated sample near this real one" averages, and a
    generated resample with ~37 % of its items missing would bias them downward.
    """
    rel = _relations(np.asarray(real), np.asarray(fake), k)
    m, n = len(real), len(fake)
    point = _from_weights(rel, np.ones((1, n)), np.ones((1, m)))[0]
    if replicates < 2:
        return {name: Interval(float(point[i])) for i, name in enumerate(NAMES)}
    reps = _from_weights(rel, bootstrap_counts(n, replicates, seed), bootstrap_counts(m, replicates, seed + 7))
    return {name: percentile_interval(float(point[i]), reps[:, i]) for i, name in enumerate(NAMES)}


class PRDC(FeatureSet):
    """Streaming PRDC: ``update(features)`` / ``merge(other)`` / ``compute(reference_features)``."""

    def __init__(self, store: "FeatureStore | None" = None, k: int = 5) -> None:
        super().__init__(store)
        self.k = k

    def compute(self, reference: np.ndarray) -> PRDCResult:
        return prdc(reference, self.features(), self.k)

"""Bootstrap resampling shared by every set-level metric.

A replicate resamples one set with replacement, expressed as an integer count vector so that
metrics can re-weight precomputed kernels or distances instead of recomputing features. Which set
is resampled, and how duplicates are treated, is each metric's choice, because a resample with
replacement holds duplicated items and a naive plug-in of the metric on it is biased:

- KID / CMMD (:mod:`.kid`, :mod:`.cmmd`): the generated set is resampled; the within-set kernel
  mean leaves out every pair of *identical source indices* (a duplicated item paired with its own
  copy has k(x, x), which the point estimate never contains off its diagonal), normalised by the
  number of pairs of distinct sources. Replicates are then unbiased for the point estimate.
- Precision / density average over generated items and are linear in their counts: the generated
  set is resampled, no bias. Recall / coverage average over *reference* items and depend on the
  generated set only through "is there at least one generated sample ...": resampling the
  generated set removes ~37 % of distinct samples and biases both downward, so they resample the
  reference items instead (manifold radii held at the observed ones), which is linear and unbiased.
  Each PRDC interval thus reflects the sampling of the set it averages over; the other set's
  sampling (and that of the k-NN radii) is not in it, so it is narrower than a two-sample one.
- Fréchet distance (:mod:`.frechet`): its finite-sample bias (~1/n) reappears in every replicate
  on top of the bias the point estimate already carries (the bootstrap's own bias estimate), and
  no re-weighting removes it. Its interval is the *bias-shifted* percentile interval
  :func:`centred_percentile_interval`: the replicate spread placed around the observed value.

The interval is otherwise the percentile interval ``[q(alpha/2), q(1 - alpha/2)]`` of replicates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np


def bootstrap_counts(n: int, replicates: int, seed: int = 0) -> np.ndarray:
    """(replicates, n) multinomial counts: row b says how often each item appears in replicate b."""
    rng = np.random.default_rng(seed)
    return rng.multinomial(n, np.full(n, 1.0 / n), size=replicates).astype(np.int64)


@dataclass(frozen=True)
class Interval:
    """A point estimate with its bootstrap interval (None where it could not be computed)."""

    value: Optional[float]
    ci_low: Optional[float] = None
    ci_high: Optional[float] = None


def resample_plan(
    fixed: np.ndarray, resampled: np.ndarray, replicates: int, max_items: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Shared set-up of the MMD-type bootstraps (KID, CMMD).

    Both sets are cut to at most ``max_items`` random rows (without replacement, seeded by
    ``seed``), and ``bootstrap_counts`` for the ``resampled`` set are drawn with ``seed + 1``.
    Returns ``(fixed, resampled, counts)`` as float64 arrays.
    """
    rng = np.random.default_rng(seed)
    fixed = np.asarray(fixed, np.float64)
    resampled = np.asarray(resampled, np.float64)
    if len(fixed) > max_items:
        fixed = fixed[rng.choice(len(fixed), max_items, replace=False)]
    if len(resampled) > max_items:
        resampled = resampled[rng.choice(len(resampled), max_items, replace=False)]
    return fixed, resampled, bootstrap_counts(len(resampled), replicates, seed + 1)


def percentile_interval(value: Optional[float], replicates: np.ndarray, alpha: float = 0.05) -> Interval:
    """``value`` with the percentile interval of ``replicates`` (non-finite replicates dropped)."""
    reps = np.asarray(replicates, np.float64)
    reps = reps[np.isfinite(reps)]
    if value is None or reps.size < 2:
        return Interval(value)
    lo, hi = np.quantile(reps, [alpha / 2.0, 1.0 - alpha / 2.0])
    return Interval(float(value), float(lo), float(hi))


def centred_percentile_interval(
    value: Optional[float], replicates: np.ndarray, alpha: float = 0.05, floor: Optional[float] = None
) -> Interval:
    """Bias-shifted percentile interval ``value + (q(p) - median(replicates))`` for p = alpha/2, 1 - alpha/2.

    For statistics whose replicates carry a systematic shift (the bootstrap bias estimate
    ``median(θ*) - θ̂``, e.g. FID's finite-sample bias counted a second time), the replicates only
    tell the spread; the interval keeps that spread and centres it on the observed value, so it is
    an interval for the statistic at this sample size (not for its large-sample limit).
    ``floor`` clips the lower end (0 for a distance).
    """
    reps = np.asarray(replicates, np.float64)
    reps = reps[np.isfinite(reps)]
    if value is None or reps.size < 2:
        return Interval(value)
    lo, mid, hi = np.quantile(reps, [alpha / 2.0, 0.5, 1.0 - alpha / 2.0])
    low = float(value + lo - mid)
    if floor is not None:
        low = max(low, floor)
    return Interval(float(value), low, float(value + hi - mid))

"""Bootstrap resampling shared by every set-level metric.

A replicate resamples the *generated* set with replacement (the reference set is held fixed: it
is the yardstick, and resampling it as well would need its features for every metric, including
those computed from cached statistics). Replicates are expressed as integer count vectors so that
metrics can re-weight precomputed kernels or distances instead of recomputing features. The
interval is the percentile interval ``[q(alpha/2), q(1 - alpha/2)]`` of the replicates.
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


def percentile_interval(value: Optional[float], replicates: np.ndarray, alpha: float = 0.05) -> Interval:
    """``value`` with the percentile interval of ``replicates`` (non-finite replicates dropped)."""
    reps = np.asarray(replicates, np.float64)
    reps = reps[np.isfinite(reps)]
    if value is None or reps.size < 2:
        return Interval(value)
    lo, hi = np.quantile(reps, [alpha / 2.0, 1.0 - alpha / 2.0])
    return Interval(float(value), float(lo), float(hi))

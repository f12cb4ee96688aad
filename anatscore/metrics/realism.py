"""Per-stratum evaluation of generated features against reference features (used by RunMetrics).

Pure functions on arrays: :func:`evaluate_features` gives the ``metrics`` block of one stratum for
one extractor (every ``metric@extractor`` entry with value, bootstrap interval and warning), and
:func:`per_image_scores` the per-image realism scores.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from .bootstrap import Interval, bootstrap_counts, percentile_interval
from .cmmd import cmmd, cmmd_bootstrap
from .frechet import FrechetStats, weighted_frechet_to
from .kid import kid, kid_bootstrap
from .knn import distance_chunks, kth_distance_to, kth_neighbour_radii
from .prdc import NAMES as PRDC_NAMES
from .prdc import prdc_with_intervals

#: Sample sizes below which a metric is flagged as unstable (generated side, reference side).
#: FID's bias falls like 1/n and is large below a few thousand images (Chong & Forsyth 2020;
#: Jayasumana et al. 2024); KID and CMMD are unbiased; PRDC's k-NN manifolds need hundreds.
MIN_STABLE: dict[str, int] = {"fid": 2000, "kid": 100, "cmmd": 100, "precision": 500, "recall": 500, "density": 500, "coverage": 500}


@dataclass(frozen=True)
class RealismOptions:
    """Tunable settings (``EvalConfig.options["realism"]``); defaults follow the literature."""

    k: int = 5
    bootstrap: int = 100
    kid_subsets: int = 100
    kid_subset_size: int = 1000
    seed: int = 0

    @classmethod
    def from_config(cls, options: dict[str, Any], seed: int = 0) -> "RealismOptions":
        known = {k: options[k] for k in ("k", "bootstrap", "kid_subsets", "kid_subset_size") if k in options}
        return cls(seed=seed, **known)


def _entry(iv: Interval, warning: str = "") -> dict[str, Any]:
    return {"value": iv.value, "ci_low": iv.ci_low, "ci_high": iv.ci_high, "warning": warning}


def _small_warning(metric: str, extractor: str, n: int, n_ref: int) -> str:
    need = MIN_STABLE.get(metric, 0)
    if n >= need and n_ref >= need:
        return ""
    if metric == "fid":
        return (
            f"n={n} generated / {n_ref} reference < {need}: FID is biased upward at this size and not comparable "
            f"across set sizes; compare kid@{extractor} (and cmmd@clip), which are unbiased"
        )
    return f"n={n} generated / {n_ref} reference < {need}: estimate is noisy at this size"


def standardizer(reference: np.ndarray, generated: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature ``(shift, scale)``: mean and standard deviation (ddof 1) of both sets pooled.

    Used for hand-made features (``radiomic``) in mixed units: features become
    ``(x - shift) / scale``. Pooling the two sets (rather than the reference alone) bounds each
    feature's contribution: a feature that is constant in a small reference set (e.g. the 1st
    intensity percentile of films with black borders) would otherwise turn any difference into an
    astronomically large distance. Centring matters for KID, whose polynomial kernel is not
    translation invariant. Features constant in both sets get scale 1 (they contribute nothing).
    """
    both = np.concatenate([np.asarray(reference, np.float64), np.asarray(generated, np.float64)])
    sd = both.std(axis=0, ddof=1) if len(both) > 1 else np.ones(both.shape[1])
    return both.mean(axis=0), np.where(sd > 1e-12, sd, 1.0)


def evaluate_features(
    gen: np.ndarray,
    ref: np.ndarray,
    extractor: str,
    metrics: Sequence[str],
    options: RealismOptions = RealismOptions(),
    standardize: bool = False,
) -> dict[str, dict[str, Any]]:
    """``{"<metric>@<extractor>": {value, ci_low, ci_high, warning}}`` for one stratum."""
    gen = np.asarray(gen, np.float64)
    ref = np.asarray(ref, np.float64)
    n, m = len(gen), len(ref)
    if standardize:
        shift, scale = standardizer(ref, gen)
        gen, ref = (gen - shift) / scale, (ref - shift) / scale
    out: dict[str, dict[str, Any]] = {}
    seed = options.seed
    if "fid" in metrics:
        key = f"fid@{extractor}"
        if n < 2 or m < 2:
            out[key] = _entry(Interval(None), f"not computed: needs at least 2 images per set (have {n} generated, {m} reference)")
        else:
            rs = FrechetStats.from_features(ref)
            value = rs.compute(FrechetStats.from_features(gen))
            reps = weighted_frechet_to(rs.mean, rs.cov, gen, bootstrap_counts(n, options.bootstrap, seed)) if options.bootstrap > 1 else np.array([])
            out[key] = _entry(percentile_interval(value, reps), _small_warning("fid", extractor, n, m))
    if "kid" in metrics:
        key = f"kid@{extractor}"
        if n < 2 or m < 2:
            out[key] = _entry(Interval(None), f"not computed: needs at least 2 images per set (have {n} generated, {m} reference)")
        else:
            res = kid(ref, gen, options.kid_subsets, options.kid_subset_size, seed=seed)
            iv = kid_bootstrap(ref, gen, res.mean, options.bootstrap, seed=seed)
            warn = _small_warning("kid", extractor, n, m)
            if res.subset_size < options.kid_subset_size:
                warn = "; ".join(filter(None, [warn, f"subset size reduced to {res.subset_size} (smaller set)"]))
            out[key] = _entry(iv, warn)
    if "cmmd" in metrics:
        key = f"cmmd@{extractor}"
        if n < 1 or m < 1:
            out[key] = _entry(Interval(None), "not computed: empty set")
        else:
            value = cmmd(ref, gen)
            out[key] = _entry(cmmd_bootstrap(ref, gen, value, options.bootstrap, seed=seed), _small_warning("cmmd", extractor, n, m))
    wanted_prdc = [p for p in PRDC_NAMES if p in metrics]
    if wanted_prdc:
        if n <= options.k or m <= options.k:
            for p in wanted_prdc:
                out[f"{p}@{extractor}"] = _entry(
                    Interval(None), f"not computed: k-NN with k={options.k} needs more than {options.k} images per set (have {n}, {m})"
                )
        else:
            ivs = prdc_with_intervals(ref, gen, options.k, options.bootstrap, seed)
            for p in wanted_prdc:
                out[f"{p}@{extractor}"] = _entry(ivs[p], _small_warning(p, extractor, n, m))
    return out


def per_image_scores(gen: np.ndarray, ref: np.ndarray, k: int = 5, standardize: bool = False) -> dict[str, np.ndarray]:
    """Per generated image: ``knn_distance`` to its k-th nearest reference image, and ``realism``.

    ``realism`` is Kynkäänniemi et al.'s (2019) realism score ``max_i r_k(x_i) / d(y, x_i)`` over
    reference images x_i with k-NN radius r_k: >= 1 means inside at least one real k-NN ball,
    small means far from every real image. NaN where the reference is too small.
    """
    gen = np.asarray(gen, np.float64)
    ref = np.asarray(ref, np.float64)
    if standardize and len(ref) + len(gen) > 1:
        shift, scale = standardizer(ref, gen)
        gen, ref = (gen - shift) / scale, (ref - shift) / scale
    n = len(gen)
    if len(ref) == 0 or n == 0:
        return {"knn_distance": np.full(n, np.nan), "realism": np.full(n, np.nan)}
    knn = kth_distance_to(gen, ref, k)
    if len(ref) <= k:
        return {"knn_distance": knn, "realism": np.full(n, np.nan)}
    radii = kth_neighbour_radii(ref, k)
    realism = np.empty(n, np.float64)
    for start, d in distance_chunks(gen, ref):
        realism[start : start + len(d)] = (radii[None, :] / np.maximum(d, 1e-12)).max(axis=1)
    return {"knn_distance": knn, "realism": realism}


def feature_shifts(gen: np.ndarray, ref: np.ndarray, names: Sequence[str], top: int = 5) -> list[dict[str, Any]]:
    """The ``top`` features whose generated mean is furthest from the reference's, in pooled SDs."""
    if len(gen) == 0 or len(ref) == 0:
        return []
    z = (np.asarray(gen, np.float64).mean(0) - np.asarray(ref, np.float64).mean(0)) / standardizer(ref, gen)[1]
    order = np.argsort(-np.abs(z))[:top]
    return [{"feature": names[i], "z": round(float(z[i]), 3)} for i in order]



"""Left/right symmetry of a frontal (AP) pelvis film, weight-free.

A plausible AP pelvis is close to mirror-symmetric about the midline: two iliac wings, two
obturator foramina, two hips. Method on a working grid of ``WORK`` px (square resize):

1. structure map ``b = G_1(g) - G_{n/16}(g)`` (band-pass: bone edges and cortices, without the
   exposure gradient), on the percentile-normalised image;
2. the symmetry axis is the column ``c`` in the central 40 % maximising the Pearson correlation
   between the band ``[c - w, c)`` and the mirrored band ``(c, c + w]`` (``w = 0.4 n``);
3. ``symmetry`` = that correlation (1 = perfectly mirror-symmetric) and ``balance`` = the ratio of
   bright-bone area (``g`` above its 70th percentile) right vs left of the axis within the bands.

A missing iliac wing or femur drives the correlation down and the balance away from 1.
Validated on 4 real infant films only (see README); the thresholds are in ``regions/pelvis.json``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from .chest import normalise_window, to_work

WORK = 256


@dataclass
class PelvisSymmetry:
    axis_frac: float  # symmetry axis column / width
    symmetry: float  # Pearson r of the left band with the mirrored right band
    balance: float  # bright-bone area right of the axis / left of it (whole band)
    band_balance: tuple[float, ...] = ()  # min(r, 1/r) of that ratio per horizontal band (upper, lower)


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    a = a.ravel() - a.mean()
    b = b.ravel() - b.mean()
    den = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / den) if den > 0 else 0.0


def analyse_pelvis(grey: np.ndarray, n: int = WORK) -> PelvisSymmetry:
    """Mirror symmetry of a frontal pelvis film (grey [0, 1], bright = bone)."""
    g = normalise_window(to_work(grey, n))
    b = ndi.gaussian_filter(g, 1.0) - ndi.gaussian_filter(g, n / 16)
    w = int(0.4 * n)
    rows = slice(int(0.05 * n), int(0.95 * n))
    best_c, best_r = n // 2, -1.0
    for c in range(int(0.3 * n), int(0.7 * n) + 1, 2):  # 2-px steps: the axis is smooth in c
        ww = min(w, c, n - 1 - c)
        left = b[rows, c - ww: c]
        right = b[rows, c + 1: c + 1 + ww][:, ::-1]
        r = _corr(left, right)
        if r > best_r:
            best_c, best_r = c, r
    ww = min(w, best_c, n - 1 - best_c)
    thr = np.quantile(g, 0.7)
    bright = g[rows] > thr
    left_area = float(bright[:, best_c - ww: best_c].sum())
    right_area = float(bright[:, best_c + 1: best_c + 1 + ww].sum())
    bands = []
    for r0, r1 in ((0.05, 0.5), (0.5, 0.95)):  # iliac wings / hips and femora
        band = g[int(r0 * n): int(r1 * n)] > thr
        la = float(band[:, best_c - ww: best_c].sum())
        ra = float(band[:, best_c + 1: best_c + 1 + ww].sum())
        q = ra / max(la, 1.0)
        bands.append(min(q, 1.0 / q) if q > 0 else 0.0)
    return PelvisSymmetry(best_c / n, best_r, right_area / max(left_area, 1.0), tuple(bands))

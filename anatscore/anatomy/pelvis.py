"""Left/right symmetry of a frontal (AP) pelvis film, weight-free.

A plausible AP pelvis is close to mirror-symmetric about the midline: two iliac wings, two
obturator foramina, two hips. Method on a working grid of ``WORK`` px (square resize):

1. structure map ``b = G_1(g) - G_{n/16}(g)`` (band-pass: bone edges and cortices, without the
   exposure gradient), on the percentile-normalised image;
2. the tilt: the film may be rotated in plane (patient or detector); of the tilts ``TILTS``
   (-10..10 degrees), the one whose best whole-height mirror column (below) correlates best,
   searched on a half-size copy; everything after is measured on the film rotated upright;
   the symmetry axis: in each of three horizontal bands (rows 5..95 %), the column ``c`` in the
   central 40 % maximising the Pearson correlation between ``[c - w, c)`` and the mirrored
   ``(c, c + w]`` (``w = 0.4 n``); the axis is the median of the three, so that one band whose
   bone is missing on one side (an erased femur pulls its band's best mirror off the midline by
   up to 0.2 n) does not move it;
3. ``symmetry`` = the correlation of the whole band pair at that axis (1 = mirror-symmetric);
4. ``cell_balance`` (judged): the mirrored bands are cut into 2 rows (iliac wings / hips and
   femora) x 3 columns (medial, middle, lateral thirds of the band); per cell, the ratio ``q`` of
   edge energy right / left, ``sum |grad G_1(g)|``, reported as ``min(q, 1/q)``. A bone missing
   on one side takes its cortical edges with it, so its cell keeps well under two thirds of the
   mirror cell's energy; a whole-band area balance dilutes the loss with the rest of the band;
5. ``balance`` / ``band_balance`` (reported): bright-bone area (``g`` above its 70th percentile)
   right vs left of the axis, whole band and per row band.

Validated on 4 real infant films only (see README); the thresholds are in ``regions/pelvis.json``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from .chest import normalise_window, to_work

WORK = 256
AXIS_BANDS = 3  # horizontal bands whose best mirror columns give the axis (median)
CELL_ROWS = ("upper (iliac wings)", "lower (hips, femora)")
CELL_COLS = ("medial", "middle", "lateral")
EDGE_SIGMA = 1.0  # working px: Gaussian derivative scale of the edge energy
TILTS = (-10.0, -7.5, -5.0, -2.5, 0.0, 2.5, 5.0, 7.5, 10.0)  # degrees: in-plane tilts of the axis tried


@dataclass
class PelvisSymmetry:
    axis_frac: float  # symmetry axis column / width
    symmetry: float  # Pearson r of the left band with the mirrored right band
    balance: float  # bright-bone area right of the axis / left of it (whole band)
    band_balance: tuple[float, ...] = ()  # min(r, 1/r) of that ratio per horizontal band (upper, lower)
    cell_balance: tuple[float, ...] = ()  # min(q, 1/q) of edge energy per cell: (upper, lower) x (medial, middle, lateral)
    tilt: float = 0.0  # degrees: the film is rotated by this before the axis and cells (best mirror)

    @property
    def worst_cell(self) -> tuple[str, str]:
        """(row band, column) names of the least balanced cell."""
        i = int(np.argmin(self.cell_balance))
        return CELL_ROWS[i // len(CELL_COLS)], CELL_COLS[i % len(CELL_COLS)]


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    a = a.ravel() - a.mean()
    b = b.ravel() - b.mean()
    den = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / den) if den > 0 else 0.0


def _best_axis(b: np.ndarray, rows: slice, n: int) -> tuple[int, float]:
    """Column in the central 40 % whose left band best correlates with its mirrored right band."""
    w = int(0.4 * n)
    best_c, best_r = n // 2, -1.0
    for c in range(int(0.3 * n), int(0.7 * n) + 1, 2):  # 2-px steps: the axis is smooth in c
        ww = min(w, c, n - 1 - c)
        r = _corr(b[rows, c - ww: c], b[rows, c + 1: c + 1 + ww][:, ::-1])
        if r > best_r:
            best_c, best_r = c, r
    return best_c, best_r


def _ratio(a: float, b: float) -> float:
    """``min(q, 1/q)`` of ``q = a / b`` (1 = equal; 0 when either is empty)."""
    if a <= 0 or b <= 0:
        return 0.0
    return float(min(a / b, b / a))


def _axis(b: np.ndarray, r0: int, r1: int, n: int) -> tuple[int, float]:
    """The axis column (median of the best mirror columns of ``AXIS_BANDS`` horizontal bands of
    rows ``r0:r1``) and the whole band pair's mirror correlation about it."""
    cuts = np.linspace(r0, r1, AXIS_BANDS + 1).astype(int)
    c = int(np.median([_best_axis(b, slice(cuts[i], cuts[i + 1]), n)[0] for i in range(AXIS_BANDS)]))
    ww = min(int(0.4 * n), c, n - 1 - c)
    return c, _corr(b[r0:r1, c - ww: c], b[r0:r1, c + 1: c + 1 + ww][:, ::-1])


def analyse_pelvis(grey: np.ndarray, n: int = WORK) -> PelvisSymmetry:
    """Mirror symmetry of a frontal pelvis film (grey [0, 1], bright = bone)."""
    g0 = normalise_window(to_work(grey, n))
    b0 = ndi.gaussian_filter(g0, 1.0) - ndi.gaussian_filter(g0, n / 16)
    r0, r1 = int(0.05 * n), int(0.95 * n)
    rows = slice(r0, r1)
    # the axis may be tilted in the film (patient or detector rotated): the tilt whose best
    # whole-height mirror column correlates best, searched on a half-size copy (a quarter of the
    # work); the film is then measured rotated upright at full working size
    half = b0[::2, ::2]  # b0 is already smoothed at 1 px: plain decimation
    scores = [_best_axis(half if t == 0 else ndi.rotate(half, t, reshape=False, order=1, mode="nearest"),
                         slice(r0 // 2, r1 // 2), n // 2)[1] for t in TILTS]
    tilt = float(TILTS[int(np.argmax(scores))])
    b = b0 if tilt == 0 else ndi.rotate(b0, tilt, reshape=False, order=1, mode="nearest")
    best_c, best_r = _axis(b, r0, r1, n)
    g = g0 if tilt == 0 else ndi.rotate(g0, tilt, reshape=False, order=1, mode="nearest")
    ww = min(int(0.4 * n), best_c, n - 1 - best_c)
    thr = np.quantile(g, 0.7)
    bright = g[rows] > thr
    left_area = float(bright[:, best_c - ww: best_c].sum())
    right_area = float(bright[:, best_c + 1: best_c + 1 + ww].sum())
    bands = []
    for f0, f1 in ((0.05, 0.5), (0.5, 0.95)):  # iliac wings / hips and femora
        band = g[int(f0 * n): int(f1 * n)] > thr
        la = float(band[:, best_c - ww: best_c].sum())
        ra = float(band[:, best_c + 1: best_c + 1 + ww].sum())
        q = ra / max(la, 1.0)
        bands.append(min(q, 1.0 / q) if q > 0 else 0.0)
    # edge energy per cell, the left band mirrored so that column 0 is next to the axis on both sides
    e = ndi.gaussian_gradient_magnitude(g, EDGE_SIGMA)
    left = e[:, best_c - ww: best_c][:, ::-1]
    right = e[:, best_c + 1: best_c + 1 + ww]
    row_cuts = np.linspace(r0, r1, len(CELL_ROWS) + 1).astype(int)
    col_cuts = np.linspace(0, ww, len(CELL_COLS) + 1).astype(int)
    cells = [_ratio(float(right[row_cuts[i]:row_cuts[i + 1], col_cuts[j]:col_cuts[j + 1]].sum()),
                    float(left[row_cuts[i]:row_cuts[i + 1], col_cuts[j]:col_cuts[j + 1]].sum()))
             for i in range(len(CELL_ROWS)) for j in range(len(CELL_COLS))]
    return PelvisSymmetry(best_c / n, best_r, right_area / max(left_area, 1.0), tuple(bands), tuple(cells), tilt)

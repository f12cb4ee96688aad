"""Proportions of a knee AP: femoral condyles vs tibial plateau, and the two condyles.

Measured on the shared segmentation's normalised grey image (:mod:`anatscore.anatomy.segment`)
and the femorotibial joint line of :func:`~anatscore.anatomy.jointspace.horizontal_joint_space`
(passed in, so a check can share the memoised one):

1. **Joint rows** ``j_l``, ``j_r``: the median row of the joint line over the columns
   ``0.10-0.35 W`` in from each side (``SIDE_COLUMNS``): the line beside that side's edges. The
   joint line is often tilted; bands placed by the whole line's median row (as before) reached
   into the joint space or the femur on the lower side of a tilted knee.
2. **Outer bone edges** per side in two bands of rows: the femoral condyles ``[j - 0.22 H, j - 0.06 H]``
   and the tibial plateau ``[j + 0.02 H, j + 0.09 H]`` (``j`` that side's joint row). The image is
   smoothed (Gaussian, ``sigma = (0.02 H, 0.006 W)``: along the bone edges more than across them) and, per row, the
   bone level is the median of the row's middle half and the outer level the row's minimum within
   ``edge_search`` of that side's border; the edge is the outermost column where the row first
   reaches halfway between them, searching inward from the darkest point. Per band and side the
   edge is the median over the band's rows. A row whose outer level is less than ``MIN_STEP``
   below the bone level has bone up to the border (edge 0); an edge at the border is flagged
   ``clipped``: the true width there may be larger.
3. **Intercondylar notch** ``x_n``: on a profile averaged over the rows ``0.02 H .. 0.09 H``
   above the joint line (above the lower of the line and its robust quadratic fit, so the band
   does not follow the line up into the notch onto the notch's roof), within the middle half of
   the femur's width, the column with the deepest *valley* (darker than the brightest column
   within 0.2 femur widths on both sides: the two condyles); the notch centre is midway between
   its walls, where the profile climbs halfway from the valley to each side's condyle level.

Proportions (all dimensionless, so independent of the image size):

- ``width_ratio``  = femoral bicondylar width / tibial plateau width;
- ``notch_position`` = (x_n - femur's left edge) / femoral width (0.5: condyles of equal width);
- ``condyle_ratio`` = the wider condyle's width / the narrower's, each from the femur's outer
  edge to the notch (a function of ``notch_position``, reported for the reader).

Input: a :class:`~anatscore.anatomy.segment.Segmentation` (bright = bone) and a
:class:`~anatscore.anatomy.jointspace.JointSpace` of it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from .jointspace import JointSpace
from .segment import Segmentation

__all__ = ["KneeProportions", "knee_proportions", "FEMUR_BAND", "TIBIA_BAND", "NOTCH_BAND"]

#: Rows (fractions of H, relative to the joint row; negative = above) of the measuring bands.
FEMUR_BAND = (-0.22, -0.06)
TIBIA_BAND = (0.02, 0.09)
NOTCH_BAND = (-0.09, -0.02)
#: Columns (fractions of W in from each side) over which the joint line's row beside that side's
#: edges is taken (the median of the line there).
SIDE_COLUMNS = (0.1, 0.35)
#: Smallest bone-minus-outer level step (normalised grey) that counts as a bone edge; a row
#: with less has bone up to the border (the edge is then flagged ``clipped``).
MIN_STEP = 0.1


@dataclass(frozen=True)
class KneeProportions:
    """Outer bone edges, notch and the proportions derived from them (working-resolution px)."""

    joint_row: float  # median row of the whole joint line
    joint_row_left: float  # the line's row beside the left edges (the bands' reference there)
    joint_row_right: float
    femur_left: float
    femur_right: float
    tibia_left: float
    tibia_right: float
    notch_x: float
    clipped: tuple[str, ...]  # which of femur_left/right, tibia_left/right reached the border
    width: int  # image width (working resolution)

    @property
    def femur_width(self) -> float:
        return self.femur_right - self.femur_left

    @property
    def tibia_width(self) -> float:
        return self.tibia_right - self.tibia_left

    @property
    def width_ratio(self) -> float:
        return self.femur_width / self.tibia_width if self.tibia_width > 0 else math.nan

    @property
    def notch_position(self) -> float:
        return (self.notch_x - self.femur_left) / self.femur_width if self.femur_width > 0 else math.nan

    @property
    def condyle_ratio(self) -> float:
        p = self.notch_position
        if not 0 < p < 1:
            return math.nan
        return max(p, 1 - p) / min(p, 1 - p)


def _band_rows(h: int, j: float, band: tuple[float, float]) -> np.ndarray:
    r0 = int(round(j + band[0] * h))
    r1 = int(round(j + band[1] * h))
    return np.arange(max(0, r0), min(h, r1))


def _side_joint_rows(js: JointSpace, w: int) -> tuple[float, float]:
    """Row of the joint line beside each side's outer edge: the median of the line over the
    columns ``SIDE_COLUMNS`` in from that side (the line is often tilted, and a band placed by
    the whole line's median row lands on the joint or even the femur at the lower side)."""
    out = []
    for lo, hi in ((SIDE_COLUMNS[0] * w, SIDE_COLUMNS[1] * w), ((1 - SIDE_COLUMNS[1]) * w, (1 - SIDE_COLUMNS[0]) * w)):
        sel = (js.columns >= lo) & (js.columns < hi)
        out.append(float(np.median(js.line_rows[sel])) if sel.any() else float(np.median(js.line_rows)))
    return out[0], out[1]


def _side_edge(gs: np.ndarray, rows: np.ndarray, side: str, search: float) -> tuple[float, bool]:
    """Median over ``rows`` of one side's outer bone edge (half-level crossing), and whether it
    reached the border."""
    h, w = gs.shape
    s = max(3, int(round(search * w)))
    xs = []
    for r in rows:
        p = gs[r]
        bone = float(np.median(p[w // 4: w - w // 4]))
        seg_ = p[:s] if side == "l" else p[w - s:][::-1]
        out = float(seg_.min())
        if bone - out < MIN_STEP:  # no darker tissue beside the bone: it reaches the border
            x = 0
        else:
            above = np.flatnonzero(seg_ >= 0.5 * (bone + out))
            # First column from the border at half level *after* the darkest point: the
            # outer level is taken where the soft tissue is thinnest, nearer the border.
            k = int(np.argmin(seg_))
            after = above[above >= k]
            x = int(after[0]) if after.size else s - 1
        xs.append(x)
    if not xs:
        return math.nan, False
    x = float(np.median(xs))
    return (x if side == "l" else (w - 1) - x), x <= 1


def _line_fit(js: JointSpace) -> np.ndarray:
    """Robust quadratic fit of the joint line's rows over its columns (two reweighting passes)."""
    x = js.columns.astype(float)
    y = js.line_rows.astype(float)
    wts = np.ones_like(x)
    coef = np.polyfit(x, y, 2, w=wts)
    for _ in range(2):
        res = y - np.polyval(coef, x)
        scale = 1.4826 * np.median(np.abs(res)) + 1e-6
        wts = 1.0 / np.maximum(1.0, np.abs(res) / (2.0 * scale))  # Huber-type weights
        coef = np.polyfit(x, y, 2, w=wts)
    return coef


def _find_notch(g: np.ndarray, js: JointSpace, fl: float, fr: float) -> tuple[float, tuple[float, float]]:
    """Notch centre and walls (columns, working resolution); see the module docstring, step 3."""
    h, w = g.shape
    cols = np.arange(w)
    fit = np.polyval(_line_fit(js), cols)
    line = np.interp(cols, js.columns, js.line_rows)
    # Rows grow downwards: the lower of the line and its smooth fit ignores the line's rise into
    # the notch (it would put the band on the notch's roof) and follows a line the fit misses.
    base = np.clip(np.maximum(fit, line), 0, h - 1)
    offs = np.arange(int(round(NOTCH_BAND[0] * h)), int(round(NOTCH_BAND[1] * h)) + 1)
    rr = np.clip(np.round(base[None, :] + offs[:, None]).astype(int), 0, h - 1)
    gn = ndi.gaussian_filter(g, max(0.7, 0.012 * w))
    prof = gn[rr, cols[None, :]].mean(axis=0)
    a = int(math.ceil(fl + 0.25 * (fr - fl)))
    b = int(math.floor(fr - 0.25 * (fr - fl)))
    if b <= a:
        return math.nan, (math.nan, math.nan)
    # Valley depth: darker than the brightest column within r on *both* sides (the condyles).
    r = max(2, int(round(0.2 * (fr - fl))))
    pad = np.pad(prof, r, mode="edge")
    left = ndi.maximum_filter1d(pad, size=r, origin=(r - 1) // 2)[r - 1: r - 1 + w]  # max prof[x-r .. x-1]
    right = ndi.maximum_filter1d(pad, size=r, origin=-(r // 2))[r + 1: r + 1 + w]  # max prof[x+1 .. x+r]
    depth = np.minimum(left, right) - prof
    xd = a + int(np.argmax(depth[a: b + 1]))
    # Walls: where the profile climbs from the valley halfway up to each side's condyle level.
    reach = max(2, int(round(0.3 * (fr - fl))))
    lside = prof[max(0, xd - reach): xd + 1][::-1]
    rside = prof[xd: min(w, xd + reach + 1)]
    wl = xd - int(np.argmax(lside >= 0.5 * (prof[xd] + lside.max())))
    wr = xd + int(np.argmax(rside >= 0.5 * (prof[xd] + rside.max())))
    return 0.5 * (wl + wr), (float(wl), float(wr))


def knee_proportions(seg: Segmentation, js: JointSpace, edge_search: float = 0.35) -> KneeProportions:
    """Measure the knee's proportions (see the module docstring).

    Args:
        seg: segmentation of the knee AP.
        js: its femorotibial joint line (``horizontal_joint_space(seg)``).
        edge_search: how far in from each border (fraction of the width) an outer bone edge is
            looked for.
    """
    g = seg.grey
    h, w = g.shape
    gs = ndi.gaussian_filter(g, (0.02 * h, max(0.7, 0.006 * w)))
    j = float(np.median(js.line_rows))
    jl, jr = _side_joint_rows(js, w)
    fl, fcl = _side_edge(gs, _band_rows(h, jl, FEMUR_BAND), "l", edge_search)
    fr, fcr = _side_edge(gs, _band_rows(h, jr, FEMUR_BAND), "r", edge_search)
    tl, tcl = _side_edge(gs, _band_rows(h, jl, TIBIA_BAND), "l", edge_search)
    tr, tcr = _side_edge(gs, _band_rows(h, jr, TIBIA_BAND), "r", edge_search)
    clipped = tuple(n for n, c in zip(("femur_left", "femur_right", "tibia_left", "tibia_right"),
                                      (fcl, fcr, tcl, tcr)) if c)
    xn, walls = _find_notch(g, js, fl, fr)
    return KneeProportions(joint_row=j, joint_row_left=jl, joint_row_right=jr, femur_left=fl, femur_right=fr, tibia_left=tl, tibia_right=tr,
                           notch_x=xn, clipped=clipped, width=w)

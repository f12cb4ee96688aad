"""Skull vault of a lateral skull radiograph (cephalogram), weight-free.

The calvarium on a lateral film is a bright curved band (outer table, diploe, inner table) just
under a thin scalp, enclosing the cranial cavity. Method, on the shared segmentation's working
copy (``anatscore.anatomy.segment``, long side ``WORK`` px, aspect kept):

1. ridge map ``R = sato(g, sigmas)`` (bright ridges, scikit-image's Hessian-based tubeness) at
   the scale of the vault band (sigmas 2..4 px at 256 px);
2. ray origin ``c`` = centroid of the body (non-background) in the upper half of its rows, which
   lies in the cranial cavity on a lateral skull (or towards it on a tight crop);
3. ``N_RAYS`` rays from ``c``; each is walked until it enters background (air) or leaves the
   image. A ray leaving the image is *cut* (the film's crop; no verdict on it). On a ray reaching
   air, the vault candidate is the outermost local maximum of ``R`` within ``DEPTH`` of the skin
   whose value is at least ``RIDGE_MIN`` of the image's 99th ridge percentile: its distance
   ``r(theta)`` and strength ``s(theta)``;
4. the *vault sector* is the rays that reach air above ``c`` (their skin point lies higher than
   the origin). On it:

   - ``gap``: the longest run of consecutive rays whose strength is below ``GAP_REL`` of the
     sector's median strength (or with no ridge), as a fraction of the sector (a segment of bone
     replaced by soft tissue);
   - ``waviness``: RMS of ``r(theta)`` minus a quadratic fitted over the sector, over the median ``r`` (a wavy / rippled outline);
   - ``aspect``: horizontal over vertical semi-axis of an axis-aligned ellipse fitted by least
     squares to the vault points, ``a x^2 + b y^2 + c x + d y = 1``, ``aspect = sqrt(b / a)``.
     The fit is exactly equivariant to axis-aligned scaling: stretching the film vertically by
     ``k`` divides the aspect by ``k``, whatever part of the vault is in frame.

Input: grey (H, W), any range, bright = dense. Coordinates in the result are working pixels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np
from scipy import ndimage as ndi
from skimage import filters, morphology

from .segment import Segmentation, segment

WORK = 256
N_RAYS = 240
RIDGE_SIGMAS = (2.0, 3.0, 4.0)
RIDGE_MIN = 0.25  # of the image's 99th ridge percentile
DEPTH = 0.08  # of the working long side: skin-to-outer-table search depth
GAP_REL = 0.35  # of the sector's median ridge strength
DEEP = 0.02  # of the working long side: ridge deeper than the sector's median depth by this is not vault
MIN_SECTOR = 12
AIR_OPEN = 4  # px at WORK: opening of the air mask (cuts thin dark paths into the sinuses)
SECTOR_BELOW = -10.0  # degrees: vault rays point above this elevation from the origin
ORIGIN_ROWS = 0.5  # origin = centroid of the body in this upper fraction of its rows  # rays; fewer vault rays -> no verdict


@dataclass
class SkullVault:
    """Vault measurements of one film (working pixels; NaN when not measurable)."""

    centre: tuple[float, float]  # (row, col) of the ray origin
    sector_rays: int  # rays reaching air above the origin
    cut_rays: int  # rays leaving the image (film crop)
    gap: float  # longest weak run / sector
    waviness: float  # median |r(theta) - robust quadratic trend| / median r
    aspect: float  # horizontal / vertical semi-axis of the axis-aligned ellipse fit
    median_strength: float  # median ridge strength on the sector / image 99th ridge percentile
    points: list[tuple[float, float]] = field(default_factory=list)  # (row, col) vault points
    reason: Optional[str] = None  # why nothing could be measured


def _ray_origin(body: np.ndarray) -> Optional[tuple[float, float]]:
    rows = np.flatnonzero(body.any(axis=1))
    if rows.size < 8:
        return None
    top, bottom = rows[0], rows[-1]
    upper = body.copy()
    upper[top + int(ORIGIN_ROWS * (bottom - top)) + 1:] = False
    if not upper.any():
        return None
    cy, cx = ndi.center_of_mass(upper)
    return float(cy), float(cx)


def _air(g: np.ndarray) -> np.ndarray:
    """Air around the head: the darkest of three Otsu classes of the smoothed film, opened,
    and connected to the image border."""
    gs = ndi.gaussian_filter(g, 2.0 * max(g.shape) / WORK)
    try:
        t0 = float(filters.threshold_multiotsu(gs, 3)[0])
    except ValueError:  # too few grey levels
        return np.zeros(g.shape, bool)
    dark = morphology.opening(gs < t0, morphology.disk(max(1, round(AIR_OPEN * max(g.shape) / WORK))))
    lab, _ = ndi.label(dark)
    border = np.unique(np.concatenate([lab[0], lab[-1], lab[:, 0], lab[:, -1]]))
    return np.isin(lab, border[border > 0])


def _fit_aspect(y: np.ndarray, x: np.ndarray) -> float:
    """Axis-aligned ellipse ``a x^2 + b y^2 + c x + d y = 1`` by least squares; sqrt(b/a)."""
    if y.size < 6:
        return float("nan")
    xm, ym = x.mean(), y.mean()
    s = float(max(x.std(), y.std(), 1e-6))
    # centring and one common scale keep the system well conditioned and do not change b/a
    xx, yy = (x - xm) / s, (y - ym) / s
    design = np.column_stack([xx * xx, yy * yy, xx, yy, np.ones_like(xx)])
    # homogeneous form: smallest right singular vector of [x^2, y^2, x, y, 1]
    _, _, vt = np.linalg.svd(design, full_matrices=False)
    a, b = vt[-1][0], vt[-1][1]
    if a * b <= 0:
        return float("nan")  # not an ellipse (hyperbola / parabola): no aspect
    return float(np.sqrt(b / a))


def analyse_vault(grey: np.ndarray, seg: Optional[Segmentation] = None) -> SkullVault:
    """Measure the skull vault of a lateral skull film (see the module docstring)."""
    if seg is None:
        seg = segment(grey, max_side=WORK)
    g = seg.grey.astype(np.float64)
    h, w = g.shape
    side = max(h, w)
    k = side / WORK
    nothing = SkullVault((np.nan, np.nan), 0, 0, np.nan, np.nan, np.nan, np.nan)
    air = _air(g)
    body = ~air
    origin = _ray_origin(body)
    if origin is None:
        nothing.reason = "no body (head) found"
        return nothing
    ridge = filters.sato(g, sigmas=[s * k for s in RIDGE_SIGMAS], black_ridges=False)
    r99 = float(np.percentile(ridge, 99))
    if r99 <= 1e-9:
        nothing.reason = "no bright bony ridges"
        return nothing
    ridge = ridge / r99
    cy, cx = origin
    step = 0.5
    rmax = float(np.hypot(h, w))
    t = np.arange(0.0, rmax, step)
    depth = DEPTH * side
    theta = np.linspace(0.0, 2 * np.pi, N_RAYS, endpoint=False)
    r_out = np.full(N_RAYS, np.nan)
    strength = np.zeros(N_RAYS)
    ends = np.full(N_RAYS, -1)  # 1 = reached air, 0 = cut by the image border
    skin_y = np.full(N_RAYS, np.nan)
    skin_r = np.full(N_RAYS, np.nan)
    min_sep = max(2, int(round(2 * k / step)))
    for i, th in enumerate(theta):
        yy = cy - t * np.sin(th)  # theta counter-clockwise, image rows grow downwards
        xx = cx + t * np.cos(th)
        inside = (yy >= 0) & (yy <= h - 1) & (xx >= 0) & (xx <= w - 1)
        n_in = int(np.argmin(inside)) if not inside.all() else inside.size
        yi = np.rint(yy[:n_in]).astype(int)
        xi = np.rint(xx[:n_in]).astype(int)
        on_air = air[yi, xi]
        # the first air sample after at least a little body (origin may sit near the skin)
        hits = np.flatnonzero(on_air & (t[:n_in] > 2 * k))
        if hits.size == 0:
            ends[i] = 0
            continue
        end = int(hits[0])
        ends[i] = 1
        skin_y[i] = yy[end]
        skin_r[i] = t[end]
        lo = max(0, end - int(depth / step))
        prof = ndi.map_coordinates(ridge, [yy[lo:end], xx[lo:end]], order=1)
        if prof.size < 3:
            continue
        peaks = np.flatnonzero((prof[1:-1] >= prof[:-2]) & (prof[1:-1] >= prof[2:]) & (prof[1:-1] >= RIDGE_MIN)) + 1
        if peaks.size:
            j = int(peaks[-1])
            # the strongest value near the outermost peak (a broad band has a flat top)
            seg_lo = max(0, j - min_sep)
            j = seg_lo + int(np.argmax(prof[seg_lo:j + 1]))
            r_out[i] = t[lo + j]
            strength[i] = prof[j]
    sector = (ends == 1) & (np.sin(theta) > np.sin(np.radians(SECTOR_BELOW)))
    n_sector = int(sector.sum())
    out = SkullVault(origin, n_sector, int((ends == 0).sum()), np.nan, np.nan, np.nan, np.nan)
    if n_sector < MIN_SECTOR:
        out.reason = f"only {n_sector} rays reach the skin above the cranial centre (no vault outline in frame)"
        return out
    # the sector as one contiguous angular run (the longest run, wrapping around)
    idx = _longest_circular_run(sector)
    s = strength[idx]
    r = r_out[idx]
    med = float(np.median(s[s > 0])) if (s > 0).any() else 0.0
    out.median_strength = med
    # depth of the outer-table ridge under the skin: the scalp is thin and even over the vault;
    # a ridge found much deeper is something inside the cavity, not the vault
    depth_r = skin_r[idx] - r
    ok_d = np.isfinite(depth_r) & (s >= GAP_REL * med)
    med_d = float(np.median(depth_r[ok_d])) if ok_d.any() else np.nan
    weak = (s < GAP_REL * med) | ~np.isfinite(r) | (depth_r > med_d + DEEP * side)
    out.gap = float(_longest_run(weak) / idx.size)
    good = ~weak
    if good.sum() >= MIN_SECTOR:
        rr = np.interp(np.arange(idx.size), np.flatnonzero(good), r[good])
        # a smooth vault has r(theta) close to a quadratic over the sector; ripples do not
        u = np.linspace(-1.0, 1.0, idx.size)
        out.waviness = _robust_waviness(u[good], rr[good])
        th = theta[idx][good]
        py = cy - r[good] * np.sin(th)
        px = cx + r[good] * np.cos(th)
        out.aspect = _fit_aspect(py, px)
        out.points = [(float(a), float(b)) for a, b in zip(py, px)]
    return out


def _robust_waviness(u: np.ndarray, r: np.ndarray) -> float:
    """Median |r - q(u)| / median r, with ``q`` a quadratic refitted twice without the points
    beyond 2.5 MADs: a ripple moves most points off the trend, a single step (the trace
    jumping to a neighbouring ridge over a few rays) only a few."""
    keep = np.ones(r.size, bool)
    res = np.zeros_like(r)
    for _ in range(3):
        coef = np.polyfit(u[keep], r[keep], 2)
        res = r - np.polyval(coef, u)
        mad = float(np.median(np.abs(res[keep]))) + 1e-9
        keep = np.abs(res) <= 2.5 * 1.4826 * mad
        if keep.sum() < 6:
            break
    return float(np.median(np.abs(res)) / np.median(r))


def _longest_run(mask: np.ndarray) -> int:
    best = cur = 0
    for v in mask:
        cur = cur + 1 if v else 0
        best = max(best, cur)
    return best


def _longest_circular_run(mask: np.ndarray) -> np.ndarray:
    """Indices of the longest run of True in a circular boolean array."""
    n = mask.size
    if mask.all():
        return np.arange(n)
    start = int(np.argmin(mask))  # a False: unroll the circle from there
    order = (np.arange(n) + start) % n
    m = mask[order]
    best, best_lo, cur, lo = 0, 0, 0, 0
    for i, v in enumerate(m):
        if v:
            if cur == 0:
                lo = i
            cur += 1
            if cur > best:
                best, best_lo = cur, lo
        else:
            cur = 0
    return order[best_lo:best_lo + best]

"""Skull vault of a lateral skull radiograph (cephalogram), weight-free.

The calvarium on a lateral film is a bright curved band (outer table, diploe, inner table) just
under a thin scalp, enclosing the cranial cavity. Method, on the shared segmentation's working
copy (``anatscore.anatomy.segment.segment``: percentile-normalised, long side ``WORK`` px,
aspect kept):

1. ridge map ``R = sato(g, sigmas)`` (bright ridges, scikit-image's Hessian tubeness) at the
   scale of the vault band (sigmas 2..4 px at 256 px), over its 99th percentile;
2. *outside*: the darkest of three Otsu classes of the smoothed film, opened, connected to the
   border; the ray origin ``c`` is the centroid of the rest in the upper half of its rows (in
   the cranial cavity on a lateral skull, or towards it on a tight crop);
3. ``N_RAYS`` rays from ``c``. Skin candidates on a ray are the starts of runs of outside
   pixels at least ``AIR_RUN`` of the side long (open air; a dark sinus or orbit joined to the
   outside can open such a run earlier). The *skin* is chosen over each circular run of rays
   that reach air by dynamic programming (:func:`_skin_path`): the path closest to the first
   candidates with the fewest radius jumps, so a few rays opening into a sinus are passed. On
   most cephalograms the thin scalp is as dark as the air and falls in the outside class: the
   "skin" is then the bone's outer surface. A ray that leaves the image first is *cut* (the
   film's crop: no verdict on it). Vault candidates are the local maxima of ``R`` (at least
   ``RIDGE_MIN``) within ``DEPTH`` inside the skin; the vault is chosen along the sector by
   dynamic programming too (:func:`_vault_path`): the outermost ridge continuous with its
   neighbours, or none (a gap): distance ``r(theta)``, strength ``s(theta)`` and depth under
   the skin;
4. the *vault sector* is the longest angular run of rays that reach the skin at or above
   ``SECTOR_BELOW`` degrees of elevation. On it:

   - ``gap``: the longest run of *weak* rays (strength below ``GAP_REL`` of the sector's median,
     no ridge, or the ridge more than ``DEEP`` of the side deeper under the skin than the
     sector's median depth: something inside the cavity, not the vault), over the sector;
   - ``waviness``: median ``|r(theta) - q(theta)|`` over the median ``r``, ``q`` a quadratic
     refitted without outliers (a ripple moves most rays off the trend);
   - ``concavity``: the deepest dent of the (lightly smoothed) vault trace inside the convex
     hull of the trace and the origin, over the median radius: the calvarium seen from the
     cranial cavity is convex; a dent or a ripple is not;
   - ``skin_concavity``: the same dent measure on the skin points of the sector (the head's
     outline over the vault), after dropping rays whose skin radius steps more than
     ``SKIN_STEP`` px off its 5-ray running median: a rippled or dented skull outline;
   - ``surface_concavity``: the same dent measure on the bone's own outer surface, found
     sub-pixel on each ray as the first fall, outwards from the vault ridge, below halfway
     between the bone and the outside (:func:`_bone_surface`); the "skin" can lie a scalp's
     thickness further out, on whole pixels, and misses a ripple of the bone under the scalp;
   - ``outline_concavity`` (judged): the smaller of ``skin_concavity`` and ``surface_concavity``:
     a dent of the outer outline seen by both estimates (each alone has its own artefacts on
     real films: the outside class stepping from the scalp onto the bone, the mid-level crossing
     falling into a sinus);
   - ``aspect`` (reported, not judged): horizontal over vertical semi-axis of the axis-aligned
     ellipse ``a x^2 + b y^2 + c x + d y = 1`` fitted to the trace. It is exactly equivariant to
     axis-aligned scaling, but the arc visible on a tightly cropped cephalogram is too short for
     a stable fit (NaN on most of them).

Input: grey (H, W), any range, bright = dense. Coordinates in the result are working pixels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np
from scipy import ndimage as ndi
from scipy.signal import medfilt
from skimage import filters, morphology

from .segment import Segmentation, segment

WORK = 256
N_RAYS = 240
RIDGE_SIGMAS = (2.0, 3.0, 4.0)
RIDGE_MIN = 0.25  # of the image's 99th ridge percentile
DEPTH = 0.08  # of the working long side: skin-to-outer-table search depth
GAP_REL = 0.35  # of the sector's median ridge strength
DEEP = 0.02  # of the working long side: ridge deeper than the sector's median depth by this is not vault
MIN_SECTOR = 12  # rays; fewer vault rays -> no verdict
SKIN_STEP = 2.0  # px at WORK: a skin radius this far off its 5-ray median is an isolated step
CONCAVITY_SMOOTH = 2.0  # points (rays) of smoothing before the convexity test
AIR_RUN = 0.07  # of the working long side: a dark run this long along a ray is open air
SECTOR_BELOW = -10.0  # degrees: vault rays point above this elevation from the origin
ORIGIN_ROWS = 0.5  # origin = centroid of the body in this upper fraction of its rows
SKIN_CANDIDATES = 4  # starts of outside runs kept per ray as skin candidates
VAULT_CANDIDATES = 4  # ridge maxima kept per ray as vault candidates (outermost first)
VAULT_OUTER = 0.3  # cost per working px of a vault candidate's depth under the skin
VAULT_MISS = 6.0  # cost of leaving a ray without vault (working px of jump equivalent)
VAULT_RESTART = 3.0  # cost of entering or leaving a stretch without vault
SKIN_LATER = 3.0  # px at WORK: cost of passing over one skin candidate (prefer the innermost)
SURFACE_SIGMA = 1.0  # px at WORK: Gaussian smoothing of the film before the bone-surface crossing
SURFACE_LEVEL = 0.5  # the bone surface: where the film falls to this fraction between outside and bone
SURFACE_REACH = 40.0  # px at WORK: how far out from the vault ridge the bone surface is looked for
SURFACE_BEYOND_SKIN = 3.0  # px at WORK: a crossing further out than the skin by more is not the bone's surface


@dataclass
class SkullVault:
    """Vault measurements of one film (working pixels; NaN when not measurable)."""

    centre: tuple[float, float]  # (row, col) of the ray origin
    sector_rays: int  # rays of the traced sector (reaching the skin at or above SECTOR_BELOW)
    cut_rays: int  # rays leaving the image (film crop)
    gap: float  # longest weak run / sector
    waviness: float  # median |r(theta) - robust quadratic trend| / median r
    concavity: float  # deepest dent of the smoothed vault below its convex hull / median r
    skin_concavity: float  # the same for the skin (head outline) over the sector
    aspect: float  # horizontal / vertical semi-axis of the axis-aligned ellipse fit
    median_strength: float  # median ridge strength on the sector / image 99th ridge percentile
    points: list[tuple[float, float]] = field(default_factory=list)  # (row, col) vault points
    radii: list[float] = field(default_factory=list)  # r(theta) over the sector, weak rays interpolated
    skin: list[tuple[float, float]] = field(default_factory=list)  # (row, col) skin points of the sector
    reason: Optional[str] = None  # why nothing could be measured
    scale: float = 1.0  # working size / original size: original pixel = working pixel / scale
    surface_concavity: float = float("nan")  # the same dent measure on the bone's outer surface (mid-level crossing)
    surface: list[tuple[float, float]] = field(default_factory=list)  # (row, col) bone outer-surface points

    @property
    def outline_concavity(self) -> float:
        """Dent of the outer outline over the vault seen by *both* outline estimates: the smaller of
        ``skin_concavity`` (where the outside class starts) and ``surface_concavity`` (the bone's
        mid-level outer surface). A dent or ripple of the bone's outer surface shows on both; an
        artefact of one estimate (the outside class stepping from the scalp onto the bone, the
        mid-level crossing dropping into a sinus) on one only. NaN only when neither is measured."""
        vals = [v for v in (self.skin_concavity, self.surface_concavity) if np.isfinite(v)]
        return float(min(vals)) if vals else float("nan")


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


def _dark(g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dark pixels (air, scalp, sinuses: below the lowest of three Otsu thresholds of the
    smoothed film) and the part of them connected to the image border (opened first, so
    that thin dark paths do not join)."""
    k = max(g.shape) / WORK
    gs = ndi.gaussian_filter(g, 2.0 * k)
    try:
        t0 = float(filters.threshold_multiotsu(gs, 3)[0])
    except ValueError:  # too few grey levels
        empty = np.zeros(g.shape, bool)
        return empty, empty
    dark = gs < t0
    opened = morphology.opening(dark, morphology.disk(max(1, round(2 * k))))
    lab, _ = ndi.label(opened)
    border = np.unique(np.concatenate([lab[0], lab[-1], lab[:, 0], lab[:, -1]]))
    return dark, np.isin(lab, border[border > 0])


def _fit_aspect(y: np.ndarray, x: np.ndarray) -> float:
    """Aspect ``sqrt(b / a)`` of the axis-aligned conic ``a x^2 + b y^2 + c x + d y + e = 0``
    fitted to the points by algebraic least squares (the smallest right singular vector of the
    design matrix; no xy term, so the axes stay aligned with the image); NaN unless an ellipse."""
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
    nothing = SkullVault((np.nan, np.nan), 0, 0, np.nan, np.nan, np.nan, np.nan, np.nan, np.nan)
    _, outside = _dark(g)
    origin = _ray_origin(~outside)
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
    run_len = max(2, int(round(AIR_RUN * side / step)))
    # all rays sampled at once: (N_RAYS, T) coordinates; theta counter-clockwise, rows grow down
    yy = cy - np.sin(theta)[:, None] * t[None, :]
    xx = cx + np.cos(theta)[:, None] * t[None, :]
    inside = (yy >= 0) & (yy <= h - 1) & (xx >= 0) & (xx <= w - 1)
    n_in = np.where(inside.all(axis=1), t.size, np.argmin(inside, axis=1))
    yi = np.clip(np.rint(yy), 0, h - 1).astype(int)
    xi = np.clip(np.rint(xx), 0, w - 1).astype(int)
    on_out = outside[yi, xi] & inside
    ridge_rays = ndi.map_coordinates(ridge, [yy.ravel(), xx.ravel()], order=1, mode="nearest").reshape(yy.shape)
    # the skin: the first sample (past a little body) that starts a run of at least run_len
    # outside samples: open air in front of the head. A frontal sinus joined to the outside
    # gives a shorter run and is passed; a run cut short by the image edge makes the ray cut.
    csum = np.concatenate([np.zeros((N_RAYS, 1), np.int64), np.cumsum(on_out, axis=1)], axis=1)
    idx_t = np.arange(t.size)
    stop = np.minimum(idx_t[None, :] + run_len, t.size)
    sustained = (np.take_along_axis(csum, stop, axis=1) - csum[:, :-1]) == (stop - idx_t[None, :])
    sustained &= on_out & (t[None, :] > 2 * k) & (stop <= n_in[:, None])
    has = sustained.any(axis=1)
    # skin candidates on each ray: every start of a sustained outside run (the first is open air
    # unless a sinus or orbit joined to the outside opens one earlier); the skin is chosen below
    # as the path over the rays closest to the first candidates with the fewest radius jumps
    starts = sustained & ~np.concatenate([np.zeros((N_RAYS, 1), bool), sustained[:, :-1]], axis=1)
    cand = [np.flatnonzero(starts[i])[:SKIN_CANDIDATES] for i in range(N_RAYS)]
    first = _skin_path(cand, has, t, theta, k)
    n_depth = int(depth / step)
    vault_cand: list[list[tuple[float, float]]] = [[] for _ in range(N_RAYS)]  # (radius, strength), outermost first
    for i in range(N_RAYS):
        if not has[i]:
            ends[i] = 0
            continue
        end = int(first[i])
        ends[i] = 1
        skin_y[i] = yy[i, end]
        skin_r[i] = t[end]
        lo = max(0, end - n_depth)
        prof = ridge_rays[i, lo:end]
        if prof.size < 3:
            continue
        peaks = np.flatnonzero((prof[1:-1] >= prof[:-2]) & (prof[1:-1] >= prof[2:]) & (prof[1:-1] >= RIDGE_MIN)) + 1
        # the strongest value near each peak (a broad band has a flat top), outermost first
        refined = sorted({max(0, j - min_sep) + int(np.argmax(prof[max(0, j - min_sep):j + 1])) for j in peaks},
                         reverse=True)
        vault_cand[i] = [(float(t[lo + j]), float(prof[j])) for j in refined[:VAULT_CANDIDATES]]
    sector = (ends == 1) & (np.sin(theta) > np.sin(np.radians(SECTOR_BELOW)))
    n_sector = int(sector.sum())
    out = SkullVault(origin, n_sector, int((ends == 0).sum()), np.nan, np.nan, np.nan, np.nan, np.nan, np.nan)
    out.scale = float(seg.scale)
    if n_sector < MIN_SECTOR:
        out.reason = f"only {n_sector} rays reach the skin above the cranial centre (no vault outline in frame)"
        return out
    # the sector as one contiguous angular run (the longest run, wrapping around)
    idx = _longest_circular_run(sector)
    # the head outline over the sector: skin points, without isolated steps of the skin radius
    # (a ray whose outside run starts in a sinus); what is left of a smooth head is convex
    rs = skin_r[idx]
    out.skin = [(float(cy - a * np.sin(b)), float(cx + a * np.cos(b))) for a, b in zip(rs, theta[idx])]
    steady = np.abs(rs - medfilt(rs, 5)) <= SKIN_STEP * k
    if steady.sum() >= MIN_SECTOR:
        th_s = theta[idx][steady]
        out.skin_concavity = _concavity(cy - rs[steady] * np.sin(th_s), cx + rs[steady] * np.cos(th_s),
                                        (cy, cx), float(np.median(rs[steady])))
    # the vault along the sector: the outermost ridge continuous with its neighbours (see _vault_path)
    r_out[idx], strength[idx] = _vault_path([vault_cand[i] for i in idx], skin_r[idx], k)
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
        out.radii = [float(v) for v in rr]
        # a smooth vault has r(theta) close to a quadratic over the sector; ripples do not
        u = np.linspace(-1.0, 1.0, idx.size)
        out.waviness = _robust_waviness(u[good], rr[good])
        th = theta[idx][good]
        py = cy - r[good] * np.sin(th)
        px = cx + r[good] * np.cos(th)
        out.aspect = _fit_aspect(py, px)
        out.points = [(float(a), float(b)) for a, b in zip(py, px)]
        out.concavity = _concavity(py, px, (cy, cx), float(np.median(rr)))
        _bone_surface(out, g, theta[idx], rr, skin_r[idx], k)
    return out


def _bone_surface(out: SkullVault, g: np.ndarray, theta: np.ndarray, r_vault: np.ndarray,
                  r_skin: np.ndarray, k: float) -> None:
    """The bone's outer surface over the sector, sub-pixel, and its dent (``out.surface``,
    ``out.surface_concavity``).

    On each ray of the smoothed film (Gaussian ``SURFACE_SIGMA``), from the vault ridge outwards:
    ``bone`` = the brightest value within 3 px of the ridge, ``air`` = the 10th percentile of the
    samples beyond the skin; the surface is the first crossing below ``air + SURFACE_LEVEL (bone -
    air)``, linearly interpolated between samples. This is the edge of the bone itself, where the
    outside class (``skin``) can start a scalp's thickness further out and on whole working
    pixels. A crossing more than ``SURFACE_BEYOND_SKIN`` px beyond the skin is not the bone (the
    bone ends before the open air starts) and the ray gets none. Rays whose crossing steps more
    than ``SKIN_STEP`` px off its 5-ray running median (the crossing falling into a sinus or
    onto the scalp) are dropped before the dent measure.

    Hand-written rather than ``skimage.measure.find_contours``: the level differs from ray to
    ray (each ray's own bone and outside levels), and one crossing per ray of the sector is what
    the dent measure needs, not closed iso-lines over the whole film.
    """
    cy, cx = out.centre
    gs = ndi.gaussian_filter(g, SURFACE_SIGMA * k)
    step = 0.25
    t = np.arange(0.0, SURFACE_REACH * k, step)
    rad = r_vault[:, None] + t[None, :]
    yy = cy - np.sin(theta)[:, None] * rad
    xx = cx + np.cos(theta)[:, None] * rad
    prof = ndi.map_coordinates(gs, [yy.ravel(), xx.ravel()], order=1, mode="nearest").reshape(rad.shape)
    near = max(2, int(round(3 * k / step)))
    surf = np.full(theta.size, np.nan)
    for i in range(theta.size):
        p = prof[i]
        beyond = rad[i] > r_skin[i]
        air = float(np.percentile(p[beyond], 10)) if beyond.any() else float(p.min())
        level = air + SURFACE_LEVEL * (float(p[:near].max()) - air)
        below = np.flatnonzero(p < level)
        if below.size and below[0] > 0:
            j = int(below[0])
            f = (p[j - 1] - level) / max(p[j - 1] - p[j], 1e-12)
            r_cross = rad[i, j - 1] + f * step
            if r_cross <= r_skin[i] + SURFACE_BEYOND_SKIN * k:  # the bone ends before the open air starts
                surf[i] = r_cross
    ok = np.isfinite(surf)
    if ok.sum() < MIN_SECTOR:
        return
    steady = np.zeros(theta.size, bool)
    steady[ok] = np.abs(surf[ok] - medfilt(surf[ok], 5)) <= SKIN_STEP * k
    if steady.sum() < MIN_SECTOR:
        return
    py = cy - surf[steady] * np.sin(theta[steady])
    px = cx + surf[steady] * np.cos(theta[steady])
    out.surface = [(float(a), float(b)) for a, b in zip(py, px)]
    out.surface_concavity = _concavity(py, px, (cy, cx), float(np.median(surf[steady])))


def _abs_jump(r_next: np.ndarray, r_prev: np.ndarray) -> np.ndarray:
    """Transition costs ``|r_next[i] - r_prev[j]|`` (matrix next x previous)."""
    return np.abs(r_next[:, None] - r_prev[None, :])


def _dp_path(radii: list[np.ndarray], node_cost: list[np.ndarray],
             transition: Callable[[np.ndarray, np.ndarray], np.ndarray] = _abs_jump) -> list[int]:
    """Minimum-cost choice of one candidate per ray along a run of rays (Viterbi).

    Cost of a path = sum of the chosen candidates' ``node_cost`` + sum of
    ``transition(radii[i + 1], radii[i])`` between neighbouring rays (default: the radius jump).
    Every ray must have at least one candidate. Returns the chosen candidate index per ray.
    Hand-written: a dozen lines; no library in the stack does this small chain programme.
    """
    acc = node_cost[0].astype(float)
    back: list[np.ndarray] = []
    for i in range(1, len(radii)):
        trans = acc[None, :] + transition(radii[i], radii[i - 1])
        back.append(np.argmin(trans, axis=1))
        acc = trans.min(axis=1) + node_cost[i]
    path = [int(np.argmin(acc))]
    for b in reversed(back):
        path.append(int(b[path[-1]]))
    return path[::-1]


def _skin_path(cand: list[np.ndarray], has: np.ndarray, t: np.ndarray, theta: np.ndarray, k: float) -> np.ndarray:
    """Per ray, the sample index of the skin: on each circular run of rays that reach air, the
    candidate path of :func:`_dp_path` with cost ``SKIN_LATER`` px per candidate passed over (a
    later candidate is further out) and 1 per px of radius jump between neighbouring rays; an
    opening into a sinus or orbit on a few rays is a jump in and out, longer than passing it."""
    first = np.zeros(theta.size, int)
    todo = has.copy()
    while todo.any():
        idx = _longest_circular_run(todo)
        radii = [t[cand[i]] / k for i in idx]
        cost = [SKIN_LATER * np.arange(c.size, dtype=float) for c in (cand[i] for i in idx)]
        path = _dp_path(radii, cost)
        first[idx] = [cand[i][j] for i, j in zip(idx, path)]
        todo[idx] = False
    return first


def _vault_path(cands: list[list[tuple[float, float]]], skin: np.ndarray, k: float) -> tuple[np.ndarray, np.ndarray]:
    """Radius and ridge strength of the vault on each ray of the sector (NaN / 0 where none).

    Each ray's candidates are its ridge maxima within ``DEPTH`` inside the skin, plus "none".
    The chosen path (:func:`_dp_path`) minimises, in working px: ``VAULT_OUTER`` x the
    candidate's depth under the skin (the outer table is the outermost ridge) + the radius jumps
    between neighbouring rays + ``VAULT_MISS`` per ray left without vault + ``VAULT_RESTART``
    per entry into or exit from such a stretch (so that an isolated inner ridge inside a gap is
    not picked for free). A single ray whose outermost ridge is missing or on an inner ridge (a
    sinus wall, the orbital roof) is a jump in and out and costs more than following the band; a
    truly erased stretch has no candidate near the band and is left as "none" (a gap).
    """
    n = len(cands)
    radii, costs = [], []
    for c, sk in zip(cands, skin):
        radii.append(np.array([a for a, _ in c] + [np.nan]) / k)  # the last candidate: none
        costs.append(np.array([VAULT_OUTER * (sk - a) / k for a, _ in c] + [VAULT_MISS]))

    def transition(r_next: np.ndarray, r_prev: np.ndarray) -> np.ndarray:
        d = _abs_jump(r_next, r_prev)
        d = np.where(np.isnan(d), VAULT_RESTART, d)  # entering or leaving "none"
        d[-1, -1] = 0.0  # none to none
        return d

    path = _dp_path(radii, costs, transition)
    r = np.full(n, np.nan)
    st = np.zeros(n)
    for i, j in enumerate(path):
        if j < len(cands[i]):
            r[i], st[i] = cands[i][j]
    return r, st


def _concavity(py: np.ndarray, px: np.ndarray, origin: tuple[float, float], radius: float) -> float:
    """Deepest dent of the vault: the largest distance of a vault point (smoothed along the
    trace, Gaussian sigma ``CONCAVITY_SMOOTH`` points) inside the convex hull of the trace and
    the ray origin, over ``radius``. A calvarium seen from the cranial cavity is convex: 0 for
    a convex trace; a dent or a ripple gives a positive depth."""
    from scipy.spatial import ConvexHull, QhullError

    if py.size < 8:
        return float("nan")
    pts = np.column_stack([ndi.gaussian_filter1d(py, CONCAVITY_SMOOTH, mode="nearest"),
                           ndi.gaussian_filter1d(px, CONCAVITY_SMOOTH, mode="nearest")])
    allp = np.vstack([pts, origin])
    try:
        hull = allp[ConvexHull(allp).vertices]
    except QhullError:  # collinear points: no dent
        return 0.0
    a, b = hull, np.roll(hull, -1, axis=0)
    ab = b - a
    # distance of every point to every hull edge (segments), minimum over the edges
    tt = np.clip(np.einsum("pek,ek->pe", pts[:, None, :] - a[None], ab) / np.maximum((ab * ab).sum(1), 1e-12), 0, 1)
    near = a[None] + tt[..., None] * ab[None]
    d = np.sqrt(((pts[:, None, :] - near) ** 2).sum(-1)).min(axis=1)
    return float(d.max() / max(radius, 1e-9))


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


def skull_phantom(gap_deg: float = 0.0, ripple: float = 0.0, n: int = 256, seed: int = 0) -> np.ndarray:
    """A synthetic lateral 'head' with a known vault, for tests and the accuracy harness.

    Soft-tissue ellipse (semi-axes 0.42 n vertical, 0.38 n horizontal) on air, a bright vault
    band between 90 % and 96 % of that ellipse, a mid-grey cranial cavity inside. ``gap_deg``
    degrees of the band centred on the vertex are replaced by soft tissue (a missing vault
    segment). ``ripple`` (fraction of the radius) modulates the band's and the skin's radius by
    ``1 + ripple * sin(8 phi)`` over the upper half (a wavy vault). Grey levels: air 0.1, soft
    tissue 0.35, cavity 0.55, bone 0.85, plus Gaussian noise (sd 0.01).
    """
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:n, :n].astype(float)
    cy, cx = 0.5 * n, 0.5 * n
    rho = np.hypot((yy - cy) / 0.42, (xx - cx) / 0.38) / n
    phi = np.arctan2(-(yy - cy), xx - cx)
    if ripple:
        rho = rho / (1.0 + ripple * np.sin(8 * phi) * (phi > 0))
    deg = np.degrees(phi)
    g = np.full((n, n), 0.1)
    g[rho < 1.0] = 0.35
    g[rho <= 0.90] = 0.55
    band = (rho > 0.90) & (rho < 0.96)
    in_gap = np.abs(deg - 90.0) < gap_deg / 2
    g[band & ~in_gap] = 0.85
    g[band & in_gap] = 0.35
    return np.clip(g + rng.normal(0, 0.01, g.shape), 0, 1).astype(np.float32)

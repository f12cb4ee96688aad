"""Joint-space analysis of a radiograph whose joint line runs roughly across the image (knee AP).

For every column inside the bone's horizontal extent, the grey profile along the rows of the
central band is searched for the most distinct *valley*: a row ``r`` darker than the brightest
bone within a reach ``L`` above it **and** below it. Its depth is

    D(c) = min(max p[r-L:r], max p[r+1:r+L+1]) - p[r],       p = Gaussian-smoothed column c,

expressed relative to the image's bone contrast (90th - 10th percentile of the body). The joint
line is the per-column argmax row, median-filtered so that one noisy column cannot bend it. A
column shows an *open* joint space when its relative depth exceeds ``open_depth``. Reported:

- ``open_fraction``: fraction of columns with an open joint space (the headline value);
- ``width``: median full width at half depth of the valley, as a fraction of the image height;
- ``irregularity``: mean absolute second difference of the joint line (rows, relative to the
  image height) - a distorted articular surface gives a jagged line.

Input: a :class:`~anatscore.anatomy.segment.Segmentation` (bright = bone).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from .segment import Segmentation

__all__ = ["JointSpace", "horizontal_joint_space", "JointSpec", "GenericJoint", "find_joint"]


@dataclass(frozen=True)
class JointSpace:
    """Joint-space measurements (see the module docstring)."""

    open_fraction: float
    width: float
    irregularity: float
    depth_median: float
    line_rows: np.ndarray  # joint line row per analysed column (working resolution)
    columns: np.ndarray  # analysed columns
    depth: np.ndarray  # relative valley depth per analysed column


def horizontal_joint_space(
    seg: Segmentation,
    band: tuple[float, float] = (0.2, 0.8),
    reach: float = 0.12,
    open_depth: float = 0.12,
    margin: float = 0.1,
) -> JointSpace:
    """Measure a joint space that runs across the image between ``band`` rows (fractions of H).

    Args:
        seg: segmentation of the image.
        band: rows (fractions of the height) where the joint line is searched.
        reach: how far above/below (fraction of the height) the bounding bone is looked for.
        open_depth: relative valley depth above which a column counts as open.
        margin: columns within this fraction of either side are ignored (soft tissue, edges).
    """
    g = seg.grey
    h, w = g.shape
    gs = ndi.gaussian_filter(g, max(1.0, 0.006 * h))
    body = seg.body
    vals = g[body] if body.sum() > 100 else g.ravel()
    spread = max(float(np.percentile(vals, 90) - np.percentile(vals, 10)), 1e-3)
    r0, r1 = int(band[0] * h), int(band[1] * h)
    L = max(3, int(reach * h))
    c0, c1 = int(margin * w), int((1 - margin) * w)
    cols = np.arange(c0, c1)
    # Columns are analysed where there is bone both above and below the band's middle.
    sub = gs[r0:r1, c0:c1]
    n = sub.shape[0]
    pad = np.pad(sub, ((L, L), (0, 0)), mode="edge")  # pad[i + L] == sub[i]
    # m[k] = max(pad[k - L//2 : k - L//2 + L]); shift it to get the L rows above / below row r.
    mx = ndi.maximum_filter1d(pad, size=L, axis=0)
    above = mx[L // 2: L // 2 + n]  # max sub[r-L .. r-1]
    below = mx[L + 1 + L // 2: L + 1 + L // 2 + n]  # max sub[r+1 .. r+L]
    depth = np.minimum(above, below) - sub
    best = np.argmax(depth, axis=0)
    rows = ndi.median_filter(best.astype(float), size=max(3, (w // 10) | 1), mode="nearest")
    # Re-read the depth at the smoothed line, allowing +-2 rows.
    idx = np.clip(rows.astype(int)[None, :] + np.arange(-2, 3)[:, None], 0, n - 1)
    d_line = np.take_along_axis(depth, idx, axis=0).max(axis=0) / spread
    open_cols = d_line > open_depth
    # Width at half depth around the line.
    widths = []
    for j in np.flatnonzero(open_cols)[:: max(1, len(cols) // 40)]:
        r = int(rows[j])
        p = sub[:, j]
        lvl = p[r] + 0.5 * depth[r, j]
        lo = r
        while lo > 0 and p[lo - 1] < lvl:
            lo -= 1
        hi = r
        while hi < n - 1 and p[hi + 1] < lvl:
            hi += 1
        widths.append((hi - lo + 1) / h)
    second = np.abs(np.diff(rows, 2)) / h if len(rows) > 2 else np.zeros(1)
    return JointSpace(
        open_fraction=float(open_cols.mean()) if len(cols) else 0.0,
        width=float(np.median(widths)) if widths else 0.0,
        irregularity=float(np.mean(second)),
        depth_median=float(np.median(d_line)) if len(cols) else 0.0,
        line_rows=rows + r0,
        columns=cols,
        depth=d_line,
    )


# --------------------------------------------------------------------------------------------
# Generic joints (wrist, ankle, finger...): a thin dark gap between two bone ends, at any angle.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class JointSpec:
    """Where and how to look for one joint of a region (the region record's ``joint`` entry).

    Attributes:
        name: anatomical name (``radiocarpal``, ``tibiotalar``...).
        angle: expected direction of the joint line in the image, degrees counter-clockwise from
            the image's x axis (0 = a gap running left-right, 90 = a gap running up-down).
        angle_range: the search covers ``angle +- angle_range`` (the limb may be tilted).
        angle_step: step of that search, degrees.
        band: rows of the rotated frame (fractions of its height) searched for the gap.
        reach: how far on either side of the gap (fraction of the image's long side) the two
            bone ends are looked for.
        min_extent: fewest columns (fraction of the long side) with bone on both sides of the
            gap for a joint to count as found.
        min_depth: the ``joint.space`` verdict threshold on the median relative depth.
    """

    name: str
    angle: float = 0.0
    angle_range: float = 0.0
    angle_step: float = 10.0
    band: tuple[float, float] = (0.05, 0.95)
    reach: float = 0.08
    min_extent: float = 0.1
    min_depth: float = 0.4

    @classmethod
    def from_record(cls, raw: dict) -> "JointSpec":
        """Build from a region record's ``joint`` mapping (unknown keys are an error)."""
        kw = dict(raw)
        kw.pop("note", None)
        if "band" in kw:
            kw["band"] = tuple(kw["band"])
        return cls(**kw)


@dataclass(frozen=True)
class GenericJoint:
    """A joint found by :func:`find_joint` (see its docstring for the measures).

    ``line_xy`` is the joint line as (x, y) points at working resolution of the segmentation;
    ``upper_xy`` / ``lower_xy`` the two facing articular contours (edges of the gap at half
    valley depth) in the same frame.
    """

    name: str
    found: bool
    angle: float
    depth_median: float
    open_fraction: float
    width: float
    irregularity: float
    extent: float
    line_xy: np.ndarray
    upper_xy: np.ndarray
    lower_xy: np.ndarray
    depth: np.ndarray


def _frame(shape: tuple[int, int], angle: float) -> tuple[tuple[int, int], np.ndarray, np.ndarray, np.ndarray]:
    """Output shape and the map (row', col') -> (y, x) of a frame whose columns run along ``angle``.

    Source point of (r', c'): ``p = centre + (c' - W'/2) u + (r' - H'/2) v`` with
    ``u = (cos a, -sin a)`` (along the joint line, x/y with y down) and ``v = (sin a, cos a)``.
    Written out here (rather than ``skimage.transform.rotate(resize=True)``) because the joint
    line found in the frame must be mapped back to image pixels exactly, with the same formula
    (:func:`_to_image`) that did the resampling.
    """
    h, w = shape
    a = np.deg2rad(angle)
    ca, sa = abs(np.cos(a)), abs(np.sin(a))
    wo = int(np.ceil(w * ca + h * sa))
    ho = int(np.ceil(w * sa + h * ca))
    u = np.array([np.cos(a), -np.sin(a)])  # (x, y)
    v = np.array([np.sin(a), np.cos(a)])
    centre = np.array([(w - 1) / 2.0, (h - 1) / 2.0])
    return (ho, wo), centre, u, v


def _to_image(rows: np.ndarray, cols: np.ndarray, out_shape: tuple[int, int], centre: np.ndarray,
              u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """(x, y) image points of frame coordinates (rows, cols)."""
    ho, wo = out_shape
    return (centre[None, :] + (cols[:, None] - (wo - 1) / 2.0) * u[None, :]
            + (rows[:, None] - (ho - 1) / 2.0) * v[None, :])


def _resample(imgs: tuple[np.ndarray, ...], out_shape: tuple[int, int], centre: np.ndarray, u: np.ndarray,
              v: np.ndarray, orders: tuple[int, ...]) -> tuple[list[np.ndarray], np.ndarray]:
    """Each image of ``imgs`` (same shape) in the rotated frame (spline ``orders``: 1 bilinear,
    0 nearest), and the mask of frame pixels that fall inside the image."""
    ho, wo = out_shape
    rr, cc = np.mgrid[:ho, :wo].astype(np.float32)
    xy = _to_image(rr.ravel(), cc.ravel(), out_shape, centre, u, v)
    coords = np.stack([xy[:, 1], xy[:, 0]])
    outs = [ndi.map_coordinates(im.astype(np.float32), coords, order=o, mode="constant", cval=0.0).reshape(out_shape)
            for im, o in zip(imgs, orders)]
    h, w = imgs[0].shape
    inside = (xy[:, 0] >= 0) & (xy[:, 0] <= w - 1) & (xy[:, 1] >= 0) & (xy[:, 1] <= h - 1)
    return outs, inside.reshape(out_shape)


def _windows(x: np.ndarray, L: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row r: max of rows r-L..r-1 and max of rows r+1..r+L (axis 0, edge-padded)."""
    n = x.shape[0]
    pad = np.pad(x, ((L, L), (0, 0)), mode="edge")
    mx = ndi.maximum_filter1d(pad, size=L, axis=0)
    return mx[L // 2: L // 2 + n], mx[L + 1 + L // 2: L + 1 + L // 2 + n]


def _best_path(gain: np.ndarray, every: int = 2) -> tuple[np.ndarray, float]:
    """Row per column of the path maximising the summed ``gain`` (dynamic programming, as in
    seam carving), and that sum. The path may move by one row only every ``every`` columns, so
    its slope stays within ``atan(1 / every)`` of the frame's direction (the angle search, not
    the path, follows a tilted joint; a steeper path would trace streaks of texture along a bone)."""
    n, m = gain.shape
    acc = gain[:, 0].copy()
    back = np.zeros((n, m), dtype=np.int8)
    for c in range(1, m):
        if c % every:
            acc = acc + gain[:, c]
            continue
        up = np.concatenate(([-np.inf], acc[:-1]))
        dn = np.concatenate((acc[1:], [-np.inf]))
        stack = np.stack([up, acc, dn])  # from row r-1, r, r+1
        k = np.argmax(stack, axis=0)
        acc = stack[k, np.arange(n)] + gain[:, c]
        back[:, c] = k - 1
    rows = np.empty(m, dtype=int)
    rows[-1] = int(np.argmax(acc))
    total = float(acc[rows[-1]])
    for c in range(m - 1, 0, -1):
        rows[c - 1] = rows[c] + back[rows[c], c]
    return rows, total


def _longest_run(mask: np.ndarray, weight: np.ndarray, bridge: int) -> tuple[int, int]:
    """[start, stop) of the run of ``mask`` (gaps up to ``bridge`` columns bridged) with the
    largest summed ``weight``; (0, 0) when ``mask`` is empty."""
    if not mask.any():
        return 0, 0
    closed = ndi.binary_closing(np.pad(mask, bridge), np.ones(2 * bridge + 1, bool))[bridge:-bridge] | mask
    lab, n = ndi.label(closed)
    sums = ndi.sum(weight * mask, lab, index=np.arange(1, n + 1))
    k = int(np.argmax(sums)) + 1
    idx = np.flatnonzero(lab == k)
    return int(idx[0]), int(idx[-1]) + 1


def _gap_in_frame(gs: np.ndarray, usable: np.ndarray, inside: np.ndarray, spec: JointSpec, long_side: int,
                  spread: float, bone_level: float, open_depth: float) -> dict:
    """Best gap of one rotated frame: the smooth path of deepest valleys between two bone ends
    (see :func:`find_joint`)."""
    ho, wo = gs.shape
    L = max(3, int(spec.reach * long_side))
    r0, r1 = int(spec.band[0] * ho), max(int(spec.band[0] * ho) + 3, int(spec.band[1] * ho))
    above, below = _windows(np.where(inside, gs, 0.0), L)
    depth = (np.minimum(above, below) - gs) / spread
    ok = inside & usable & (np.minimum(above, below) >= bone_level)
    depth = np.where(ok, depth, 0.0)[r0:r1]
    okb = ok[r0:r1]
    # Only valleys deeper than open_depth add to a path: weak dips (texture, noise) subtract.
    gain = np.clip(depth, 0.0, 1.0) - open_depth
    rows, _ = _best_path(gain)
    cols_all = np.arange(wo)
    d_path = depth[rows, cols_all]
    on = okb[rows, cols_all] & (d_path > open_depth)
    a, b = _longest_run(on, d_path, bridge=max(2, int(0.02 * long_side)))
    cols = cols_all[a:b]
    cols = cols[okb[rows[a:b], cols]] if b > a else cols
    if len(cols) < max(3, spec.min_extent * long_side):
        return {"score": -np.inf, "cols": cols}
    d_line = depth[rows[cols], cols]
    return {"score": float(np.sum(np.clip(d_line, 0, 1.0) - open_depth)), "cols": cols, "rows": rows[cols] + r0,
            "d_line": d_line, "r0": r0}


def _edges(gs: np.ndarray, rows: np.ndarray, cols: np.ndarray, d_abs: np.ndarray, L: int) -> tuple[np.ndarray, np.ndarray]:
    """Upper and lower edge rows of the gap in each column: where the profile climbs back above
    half the valley depth (the two facing articular contours)."""
    ho = gs.shape[0]
    up = np.empty(len(cols))
    dn = np.empty(len(cols))
    for k, (r, c) in enumerate(zip(rows.astype(int), cols)):
        p = gs[max(0, r - L): min(ho, r + L + 1), c]
        rr = r - max(0, r - L)
        lvl = p[rr] + 0.5 * d_abs[k]
        hi_above = np.flatnonzero(p[:rr] >= lvl)
        lo_below = np.flatnonzero(p[rr + 1:] >= lvl)
        up[k] = (max(0, r - L) + hi_above[-1]) if len(hi_above) else r
        dn[k] = (r + 1 + lo_below[0]) if len(lo_below) else r
    return up, dn


#: Smoothing along the candidate joint line (Gaussian sigma, fraction of the long side).
ALONG_SIGMA = 0.03

#: Percentile of the body's grey levels that both bone ends bounding a gap must reach.
BONE_PCT = 50.0


def find_joint(seg: Segmentation, spec: JointSpec, open_depth: float = 0.12) -> GenericJoint:
    """Find a joint space at any angle: a thin dark gap between two bone ends.

    For each candidate angle ``spec.angle + k * spec.angle_step`` (``|k step| <= angle_range``)
    the smoothed grey image and the bone mask are resampled into a frame whose columns run along
    the candidate joint line. In each column the valley depth of row ``r`` is

        D(r) = min(max g[r-L:r], max g[r+1:r+L+1]) - g[r]     (relative to bone contrast),

    kept only where bone lies within ``L`` on *both* sides and ``r`` itself is not bone (a gap
    between two bone ends, not a dip inside one bone or beside a single bone). The per-column
    deepest row, median-filtered, is the joint line; the angle with the largest summed depth
    wins. Reported, over the columns of the joint (bone on both sides):

    - ``depth_median``: median relative valley depth along the line (0 for a fused joint);
    - ``open_fraction``: fraction of its columns deeper than ``open_depth``;
    - ``width``: median distance between the two facing contours (half-depth edges), as a
      fraction of the long side;
    - ``irregularity``: the larger, over the two facing contours, of the mean absolute second
      difference of the contour after a 3-column median (fraction of the long side);
    - ``extent``: number of joint columns / long side.

    Input: a :class:`~anatscore.anatomy.segment.Segmentation`. Not found (no column with bone on
    both sides of a non-bone row) gives ``found=False`` and zero depth.
    """
    g = seg.grey
    long_side = max(g.shape)
    gs = ndi.gaussian_filter(g, max(1.0, 0.004 * long_side))
    body = seg.body
    vals = g[body] if body.sum() > 100 else g.ravel()
    spread = max(float(np.percentile(vals, 90) - np.percentile(vals, 10)), 1e-3)
    bone_level = float(np.percentile(vals, BONE_PCT))
    # Not the body mask: a wide-open joint space can be as dark as air and be classed background.
    usable = ~seg.excluded
    n_steps = int(round(spec.angle_range / spec.angle_step)) if spec.angle_step > 0 else 0
    best: dict | None = None
    for k in range(-n_steps, n_steps + 1):
        ang = spec.angle + k * spec.angle_step
        out_shape, centre, u, v = _frame(g.shape, ang)
        (gr, br), inside = _resample((gs, usable.astype(np.float32)), out_shape, centre, u, v, (1, 0))
        # A joint gap is a long thin line: smoothing along the candidate line keeps it and
        # averages out texture and noise that do not run along it.
        gr = ndi.gaussian_filter1d(gr, ALONG_SIGMA * long_side, axis=1, mode="nearest")
        res = _gap_in_frame(gr, br > 0.5, inside, spec, long_side, spread, bone_level, open_depth)
        res.update(angle=ang, frame=(out_shape, centre, u, v), gr=gr)
        if best is None or res["score"] > best["score"]:
            best = res
    assert best is not None
    empty = np.zeros((0, 2))
    if not np.isfinite(best["score"]):
        return GenericJoint(spec.name, False, best["angle"], 0.0, 0.0, 0.0, 0.0,
                            len(best["cols"]) / long_side, empty, empty, empty, np.zeros(0))
    cols, rows, d_line = best["cols"], best["rows"], best["d_line"]
    out_shape, centre, u, v = best["frame"]
    L = max(3, int(spec.reach * long_side))
    up, dn = _edges(best["gr"], rows, cols, d_line * spread, L)
    width = float(np.median(dn - up)) / long_side
    irr = 0.0
    for e in (up, dn):
        if len(e) > 4:
            irr = max(irr, float(np.mean(np.abs(np.diff(ndi.median_filter(e, 3, mode="nearest"), 2)))))
    return GenericJoint(
        name=spec.name, found=True, angle=float(best["angle"]),
        depth_median=float(np.median(d_line)), open_fraction=float(np.mean(d_line > open_depth)),
        width=width, irregularity=irr / long_side, extent=len(cols) / long_side,
        line_xy=_to_image(rows.astype(float), cols.astype(float), out_shape, centre, u, v),
        upper_xy=_to_image(up, cols.astype(float), out_shape, centre, u, v),
        lower_xy=_to_image(dn, cols.astype(float), out_shape, centre, u, v),
        depth=d_line,
    )

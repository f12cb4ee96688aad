"""Named joints beyond the knee: the limb frame and the gap across a *given* joint line.

The generic finder (:func:`anatscore.anatomy.jointspace.find_joint`) takes the strongest dark gap
between two bone ends in a range of directions; on the real wrist and ankle films it measures
some other gap (intercarpal, physis). A named joint has to be localised from the anatomy (follow
the radius / tibia to its articular end). This module holds the two parts of that which were
measured to work, and the benchmark (``benchmarks/joints_named.py``) that says what the rest
would have to achieve:

- :func:`limb_frame`: the image resampled with the limb axis along the rows and the *proximal*
  end at the bottom. The axis is the principal axis of the locally-bright bone mask
  (:func:`anatscore.anatomy.carpus.local_bone_mask`); the proximal end is the half of the limb
  with less transverse edge energy (long-bone shafts run along the axis; carpus, tarsus and
  metacarpals add edges across it). Exact back-mapping through ``jointspace._frame``.
- :func:`gap_at_line`: depth of the joint space across a joint line given as (x, y) points
  (e.g. read off the film by hand): at evenly spaced points of the line, the grey profile along
  the line's normal (averaged over a short stretch along the line) is searched within
  ``tolerance`` of the line for its darkest point ``r``, and

      D = min(max p[r-R:r], max p[r+1:r+R+1]) - p[r]

  relative to the body's P90-P10 contrast (as in :mod:`anatscore.anatomy.jointspace`): the gap
  between the two facing bone ends. Reported: the median over the points, the fraction of points
  deeper than ``open_depth`` and the median valley width at half depth. Used by the benchmark as
  an *oracle*: the depth a perfect localiser would read, on the real films, their acquisition
  variants and their fused corruptions.

Tracking the long bone itself (a shaft band followed distally to its articular end) was tried
on the three real wrist/ankle films and not kept: a difference-of-Gaussians ridge along an
along-axis-smoothed copy followed the ulna instead of the radius on the zoomed paediatric wrist
(and, at a wider scale, merged radius and ulna on the MURA wrist); an Otsu split of that copy
took the whole forearm with its soft tissue as one band on the MURA wrist, the ulna on the
paediatric wrist, and ran on through the talus on the ankle film (no articular end). Measured
by eye on overlays of the three films, not in a benchmark.

Input: a :class:`~anatscore.anatomy.segment.Segmentation` (bright = bone).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from .carpus import local_bone_mask
from .jointspace import _frame, _resample, _to_image
from .scanlines import principal_angle
from .segment import Segmentation

__all__ = ["LimbFrame", "limb_frame", "LineGap", "gap_at_line"]


@dataclass(frozen=True)
class LimbFrame:
    """The image resampled with the limb axis along the rows, proximal end at the bottom."""

    grey: np.ndarray
    inside: np.ndarray
    body: np.ndarray
    angle: float  # frame angle for jointspace._frame / _to_image (degrees)
    geometry: tuple  # (out_shape, centre, u, v)

    def to_image(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """(x, y) working-resolution points of frame (rows, cols)."""
        out_shape, centre, u, v = self.geometry
        return _to_image(np.asarray(rows, float), np.asarray(cols, float), out_shape, centre, u, v)

    @property
    def distal_xy(self) -> np.ndarray:
        """Unit vector (x, y) in working-resolution image coordinates pointing distally."""
        _, _, _, v = self.geometry
        return -np.asarray(v, float)  # frame rows grow proximally (towards the bottom)


def limb_frame(seg: Segmentation) -> LimbFrame:
    """Resample ``seg.grey`` so that the limb axis runs along the rows, proximal end at the bottom
    (see the module docstring)."""
    bone, _ = local_bone_mask(seg)
    theta = principal_angle(bone if bone.sum() > 50 else seg.body)
    gs = ndi.gaussian_filter(seg.grey, 0.7)
    body = seg.body.astype(np.float32)
    frames = []
    for ang in (theta, theta + 180.0):
        out_shape, centre, u, v = _frame(seg.grey.shape, ang)
        (gr, br), inside = _resample((gs, body), out_shape, centre, u, v, (1, 0))
        frames.append((gr, inside, br > 0.5, ang, (out_shape, centre, u, v)))
    gr, inside, br = frames[0][:3]
    # Transverse edge energy per row (rows run along the axis: d/drow is across it).
    edge = np.abs(ndi.gaussian_filter(gr, 1.5, order=(1, 0))) * (inside & br)
    rows = np.flatnonzero(br.any(axis=1))
    if rows.size < 4:
        pick = frames[0]
    else:
        mid = (rows[0] + rows[-1]) // 2
        per_row = edge.sum(axis=1) / np.maximum(br.sum(axis=1), 1)
        top, bottom = per_row[rows[0]:mid].mean(), per_row[mid:rows[-1] + 1].mean()
        # Proximal (fewer transverse edges) must end up at the bottom.
        pick = frames[0] if bottom <= top else frames[1]
    gr, inside, br, ang, geom = pick
    return LimbFrame(gr, inside, br, float(ang), geom)




@dataclass(frozen=True)
class LineGap:
    """Result of :func:`gap_at_line` (depths relative to the body's P90-P10 contrast)."""

    depth_median: float
    open_fraction: float
    width: float  # median valley width at half depth, working-resolution px
    depth: np.ndarray  # per sampled point of the line


def gap_at_line(seg: Segmentation, line_xy: np.ndarray, tolerance: float = 0.012, reach: float = 0.04,
                along: float = 0.006, points: int = 15, open_depth: float = 0.12) -> LineGap:
    """Depth of the joint space across a given joint line (see the module docstring).

    Args:
        seg: segmentation of the radiograph.
        line_xy: the joint line as (x, y) points in *full-resolution* pixels of the image.
        tolerance: the valley is searched within this fraction of the working long side of
            the line (a hand-read or localised line a few pixels off still finds the gap).
        reach: how far (fraction of the working long side) on either side of the valley the
            two bone ends are looked for.
        along: half-length (fraction of the long side) of the stretch along the line that each
            profile is averaged over (a joint gap runs along the line, texture does not).
        points: number of evenly spaced points of the line where profiles are taken (the
            outer 5 % at either end are skipped).
        open_depth: relative depth above which a point counts as open.
    """
    g = ndi.gaussian_filter(seg.grey.astype(np.float32), 0.7)
    L = max(g.shape)
    pts = np.asarray(line_xy, dtype=np.float64) * seg.scale
    body = seg.body
    vals = seg.grey[body] if body.sum() > 100 else seg.grey.ravel()
    spread = max(float(np.percentile(vals, 90) - np.percentile(vals, 10)), 1e-3)
    seglen = np.hypot(*np.diff(pts, axis=0).T)
    cum = np.concatenate(([0.0], np.cumsum(seglen)))
    R = max(3, int(round(reach * L)))
    tol = max(1, int(round(tolerance * L)))
    off = np.arange(-(R + tol), R + tol + 1, dtype=np.float64)
    stretch = np.arange(-max(1, int(round(along * L))), max(1, int(round(along * L))) + 1, dtype=np.float64)
    depths, widths = [], []
    for t in np.linspace(0.05, 0.95, points):
        s = t * cum[-1]
        k = int(np.clip(np.searchsorted(cum, s) - 1, 0, len(pts) - 2))
        u = (pts[k + 1] - pts[k]) / max(seglen[k], 1e-9)
        p = pts[k] + (s - cum[k]) * u
        n = np.array([-u[1], u[0]])
        xy = p[None, None, :] + off[None, :, None] * n + stretch[:, None, None] * u
        prof = ndi.map_coordinates(g, [xy[..., 1].ravel(), xy[..., 0].ravel()], order=1, mode="nearest")
        prof = prof.reshape(xy.shape[:2]).mean(axis=0)
        c = R + tol
        r = c - tol + int(np.argmin(prof[c - tol: c + tol + 1]))
        lo, hi = prof[max(0, r - R): r], prof[r + 1: r + R + 1]
        if lo.size == 0 or hi.size == 0:
            continue
        d = float(min(lo.max(), hi.max()) - prof[r])
        depths.append(d / spread)
        lvl = prof[r] + 0.5 * d
        a = r
        while a > 0 and prof[a - 1] < lvl:
            a -= 1
        b = r
        while b < len(prof) - 1 and prof[b + 1] < lvl:
            b += 1
        widths.append(b - a + 1)
    dep = np.asarray(depths)
    if dep.size == 0:
        return LineGap(0.0, 0.0, 0.0, dep)
    return LineGap(float(np.median(dep)), float(np.mean(dep > open_depth)), float(np.median(widths)), dep)

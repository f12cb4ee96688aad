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

__all__ = ["JointSpace", "horizontal_joint_space"]


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

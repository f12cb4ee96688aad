"""Second bone beside a long bone: the fibula beside the tibia (knee/leg), the ulna beside the radius.

Knee AP: below the joint line the tibial shaft narrows and the fibular head sits against its
lateral side. In a band of rows below the joint (``rows``, fractions of H) each side's outer
strip (``strip`` of the width) is compared with the central shaft:

    rel(side) = (P75(strip) - S) / (T - S),

with ``T`` the median of the central columns (tibia) and ``S`` the 5th percentile of the band
(soft tissue). Bone in the strip (the fibula) gives ``rel`` near or above 0.5; soft tissue only
gives a low value. The lateral side is the side with the larger ``rel`` (the fibula's side is
not assumed); the medial side's value is reported as a within-image reference.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from .segment import Segmentation

__all__ = ["SideBone", "lateral_bone"]


@dataclass(frozen=True)
class SideBone:
    """Relative bone brightness of the two outer strips below the joint."""

    lateral: float  # the larger of the two sides
    medial: float
    side: str  # "left" or "right" (image side of the larger value)
    bone_fraction: float  # fraction of the lateral strip segmented as bone


def lateral_bone(seg: Segmentation, rows: tuple[float, float] = (0.72, 0.97), strip: float = 0.16) -> SideBone:
    g = ndi.gaussian_filter(seg.grey, 1.0)
    h, w = g.shape
    r0, r1 = int(rows[0] * h), max(int(rows[0] * h) + 2, int(rows[1] * h))
    band = g[r0:r1]
    soft = float(np.percentile(band, 5))
    tib = float(np.median(band[:, int(0.4 * w):int(0.6 * w)]))
    span = max(tib - soft, 1e-3)
    k = max(2, int(strip * w))
    vals = {}
    fracs = {}
    for side, sl in (("left", slice(0, k)), ("right", slice(w - k, w))):
        vals[side] = (float(np.percentile(band[:, sl], 75)) - soft) / span
        fracs[side] = float(seg.bone[r0:r1, sl].mean())
    lat = max(vals, key=vals.get)  # type: ignore[arg-type]
    med = "left" if lat == "right" else "right"
    return SideBone(lateral=vals[lat], medial=vals[med], side=lat, bone_fraction=fracs[lat])

"""Number of parallel long bones in a limb segment (radius and ulna; tibia and fibula on an AP).

The bone mask is rotated so that its principal axis is vertical (see
:mod:`anatscore.anatomy.scanlines`); on the scanlines of the central ``shaft`` part of the bone's
extent along that axis (away from the joints, where the bones meet and the carpus/tarsus
crowds in) the bone runs at least ``min_width`` of the image wide are counted. The count is the
most frequent run count over those scanlines; ``agreement`` is the fraction of shaft scanlines
that show exactly that count.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .scanlines import principal_angle, rotate_mask, run_counts
from .segment import Segmentation

__all__ = ["LongBones", "count_long_bones"]


@dataclass(frozen=True)
class LongBones:
    """Result of :func:`count_long_bones`."""

    count: int
    agreement: float
    axis_angle_deg: float
    histogram: dict[int, int]  # runs per shaft scanline -> number of scanlines


def count_long_bones(seg: Segmentation, shaft: tuple[float, float] = (0.3, 0.7), min_width: float = 0.01) -> LongBones:
    bone = seg.bone
    if bone.sum() < 50:
        return LongBones(0, 0.0, 0.0, {})
    angle = principal_angle(bone)
    rot = rotate_mask(bone, -angle)
    counts = run_counts(rot, max(2, int(round(min_width * max(bone.shape)))))
    ys = np.flatnonzero(counts > 0)
    if ys.size == 0:
        return LongBones(0, 0.0, angle, {})
    extent = ys[-1] - ys[0] + 1
    sh = counts[ys[0] + int(shaft[0] * extent): ys[0] + int(shaft[1] * extent) + 1]
    hist = np.bincount(sh)
    count = int(np.argmax(hist))
    return LongBones(count, float(hist[count] / max(sh.size, 1)), angle,
                     {int(k): int(v) for k, v in enumerate(hist) if v})

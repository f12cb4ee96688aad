"""Digits and phalanges on a PA hand radiograph, from the bone mask (weight-free).

1. **Axis.** The bone mask is rotated so that the principal axis of its pixels (forearm ->
   fingertips) is vertical, fingertips up: the distal end is the one whose last 25 % of the
   bone's extent holds more separate bone runs per scanline (digits) than the proximal end
   (one or two forearm bones, a compact carpus).
2. **Digit count.** Every row is a scanline across the hand; bone runs at least ``min_width``
   of the image wide are counted. The digit count is the largest ``k`` such that scanlines with
   at least ``k`` runs cover at least ``persist`` of the bone's extent: around the metacarpal
   heads every digit (thumb included) crosses the scanline, while short structures (a carpal
   row, sesamoids) do not persist.
3. **Phalanges.** From each run of a scanline at that level, the digit is followed distally row
   by row (the nearest run within a lateral step of ``2 + 1.5 * run width`` per row, so an
   oblique thumb is followed too) until it ends; along the followed centre line the grey profile
   (Gaussian-smoothed) shows a bright segment per bone and a dip at every joint. Segments are
   split at dips deeper than ``joint_depth`` of the bone/soft-tissue contrast; the phalanx
   count is the number of segments distal to the metacarpal head, which is the first segment
   when following starts at the metacarpal level. The thumb is the digit whose track leaves the
   hand axis at the largest angle.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage as ndi
from scipy.signal import find_peaks
from skimage import transform

from .segment import Segmentation

__all__ = ["Digit", "HandAnalysis", "analyse_hand"]


@dataclass(frozen=True)
class Digit:
    """One followed digit (coordinates in the rotated frame, fingertips up)."""

    start_col: float
    angle_deg: float  # track direction relative to the hand axis
    segments: int  # bone segments along the track (metacarpal head included)
    phalanges: int
    track: list[tuple[int, float]] = field(default_factory=list)  # (row, col) points


@dataclass(frozen=True)
class HandAnalysis:
    """Result of :func:`analyse_hand`."""

    digit_count: int
    digits: tuple[Digit, ...]
    axis_angle_deg: float
    level_row: int  # scanline row (rotated frame) where digits were counted
    run_histogram: dict[int, int]

    def thumb_index(self) -> int:
        """Index of the thumb: the most oblique digit track (-1 when there are none)."""
        if not self.digits:
            return -1
        return int(np.argmax([abs(d.angle_deg) for d in self.digits]))


def _runs(row: np.ndarray, min_len: int, bridge: int = 2) -> list[tuple[int, int]]:
    idx = np.flatnonzero(row)
    if idx.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(idx) > bridge + 1)
    starts = np.concatenate([[idx[0]], idx[breaks + 1]])
    ends = np.concatenate([idx[breaks], [idx[-1]]])
    return [(int(a), int(b)) for a, b in zip(starts, ends) if b - a + 1 >= min_len]


def _rotate(img: np.ndarray, angle: float, order: int) -> np.ndarray:
    return transform.rotate(img.astype(np.float32), angle, resize=True, order=order, preserve_range=True)


def analyse_hand(
    seg: Segmentation,
    min_width: float = 0.008,
    persist: float = 0.04,
    joint_depth: float = 0.12,
) -> HandAnalysis:
    """Count digits and phalanges per digit (see the module docstring)."""
    bone = seg.bone
    rr, cc = np.nonzero(bone)
    if rr.size < 50:
        return HandAnalysis(0, (), 0.0, -1, {})
    evals, evecs = np.linalg.eigh(np.cov(np.stack([rr - rr.mean(), cc - cc.mean()])))
    main = evecs[:, np.argmax(evals)]
    angle = float(np.degrees(np.arctan2(main[1], main[0])))  # axis vs vertical
    min_len = max(2, int(round(min_width * max(bone.shape))))
    rot = _rotate(bone, -angle, 0) > 0.5
    counts = np.array([len(_runs(r, min_len)) for r in rot])
    ys = np.flatnonzero(counts > 0)
    if ys.size == 0:
        return HandAnalysis(0, (), angle, -1, {})
    extent = ys[-1] - ys[0] + 1
    q = max(1, extent // 4)
    if counts[ys[0]: ys[0] + q].mean() < counts[ys[-1] - q + 1: ys[-1] + 1].mean():
        angle += 180.0  # fingertips were at the bottom: turn the hand over
        rot = _rotate(bone, -angle, 0) > 0.5
        counts = np.array([len(_runs(r, min_len)) for r in rot])
        ys = np.flatnonzero(counts > 0)
    grey = _rotate(seg.grey, -angle, 1)
    inside = _rotate(np.ones_like(seg.grey), -angle, 0) > 0.5
    grey = ndi.gaussian_filter(np.where(inside, grey, 0.0), 1.0)
    need = max(3, int(persist * extent))
    hist = {int(k): int(v) for k, v in zip(*np.unique(counts[ys], return_counts=True))}
    best = 0
    for k in range(int(counts.max()), 0, -1):
        if np.sum(counts >= k) >= need:
            best = k
            break
    if best == 0:
        return HandAnalysis(0, (), angle, -1, hist)
    rows_k = np.flatnonzero(counts == best)
    rows_k = rows_k if rows_k.size else np.flatnonzero(counts >= best)
    level = int(rows_k[np.argmin(np.abs(rows_k - np.median(rows_k)))])  # a row that has them
    contrast = max(seg.contrast(), 1e-3)
    digits = tuple(
        _follow(rot, grey, level, (a + b) / 2, min_len, contrast, joint_depth)
        for a, b in _runs(rot[level], min_len)
    )
    return HandAnalysis(best, digits, angle, level, hist)


def _follow(
    rot: np.ndarray, grey: np.ndarray, level: int, col: float, min_len: int, contrast: float, joint_depth: float
) -> Digit:
    """Follow one digit distally (up) from ``(level, col)``; split its grey profile at joints."""
    track: list[tuple[int, float]] = [(level, col)]
    width = 4.0
    misses = 0
    r = level
    max_gap = max(3, int(0.02 * rot.shape[0]))  # a joint gap may empty a few scanlines
    while r > 0 and misses <= max_gap:
        r -= 1
        runs = _runs(rot[r], 1, bridge=1)
        if runs:
            centres = np.array([(a + b) / 2 for a, b in runs])
            j = int(np.argmin(np.abs(centres - col)))
            step = abs(centres[j] - col)
            if step <= 2 + 1.5 * width * (misses + 1):
                a, b = runs[j]
                width = 0.7 * width + 0.3 * (b - a + 1)
                col = float(centres[j])
                track.append((r, col))
                misses = 0
                continue
        misses += 1
        track.append((r, col))  # keep the line through a joint gap
    while len(track) > 1 and misses > 0:  # drop the trailing misses past the fingertip
        track.pop()
        misses -= 1
    rows = np.array([t[0] for t in track])
    cols = np.array([t[1] for t in track])
    prof = ndi.map_coordinates(grey, [rows, cols], order=1)
    prof = ndi.gaussian_filter1d(prof, 1.0)
    # Joints: dips between two bright segments, deeper than joint_depth * contrast.
    dips, _ = find_peaks(-prof, prominence=joint_depth * contrast, distance=max(2, min_len))
    segments = len(dips) + 1
    dy = rows[0] - rows[-1]
    dx = cols[-1] - cols[0]
    ang = float(np.degrees(np.arctan2(dx, max(dy, 1))))
    return Digit(start_col=float(cols[0]), angle_deg=ang, segments=segments, phalanges=max(0, segments - 1),
                 track=[(int(a), float(b)) for a, b in zip(rows[::4], cols[::4])])

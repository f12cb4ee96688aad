"""Phalanges per digit on a PA hand radiograph: joint gaps along each digit's traced axis.

Weight-free. Builds on :func:`anatscore.anatomy.hand.analyse_hand` (hand axis, and the scanline
where every digit crosses). In that rotated frame (hand axis vertical), for each digit:

1. **Axis.** From the digit's run on the counting scanline a ridge is followed both ways on
   the grey image smoothed at about a phalanx's half-width (``track_sigma`` = 1 % of the
   working image's long side, 5 px at 512): 1 px steps along a direction that bends slowly
   (``inertia`` 0.9: the oblique thumb is followed, but a dark joint gap does not make the track
   slide off the bone), each step moving to the brightest of the points ±1 px across it.
   Distally the track stops once the ridge has stayed below ``soft + tip_level * (bone - soft)``
   (segmentation levels) for ``stop`` of the bone's extent: the tip. Proximally it runs
   ``down_frac`` of the extent (metacarpal, into the carpus). Distal is the direction in which
   the rays fan out (:func:`_distal_direction`). The path is smoothed (Gaussian, 3 px).
2. **Profile.** The (unsmoothed) grey image averaged over ±``half_width`` px (4 px at 512)
   across the axis: a joint gap is a 1-2 px dark line across the whole bone, trabecular noise
   is not coherent across it.
3. **Joint gaps** (:func:`joint_gaps`). Black top-hat ``T = closing_L(p) - p`` (``L`` =
   ``gap_scale`` of the long side, 7 px at 512: wider than a joint gap, far shorter than a
   phalanx) over the bone - soft-tissue contrast; twice as wide dips count when at least 0.3
   deep (bones clearly apart). Peaks of at least ``gap_floor`` are candidate gaps.
4. **MCP joint** (:func:`_mcp_index`): the most proximal strong gap (at least ``strong`` x the
   digit's deepest) with a gap-free bone behind it at least ``mcp_free`` x its distance from
   the tip: the metacarpal shaft (carpal gaps come in clusters).
5. **Count** (:func:`_count_phalanges`): ``1 +`` the interphalangeal gaps between the tip and
   the MCP: at least ``margin`` of that length from either end, at least ``max(gap_floor,
   ip_rel x MCP depth, ip_rel_ip x the deepest of them)`` deep, and ``ip_sep`` of the length
   apart (the deeper kept).
6. **Thumb.** The digit at the end of the row with the larger gap to its neighbour
   (``thumb_confident`` when that gap is at least :data:`THUMB_MARGIN` x the other end's).
   Expected: 2 in the thumb, 3 in a finger (hand record ``phalanges.thumb`` /
   ``phalanges.finger``).

Tuned and measured on hand phantoms and ONE real PA hand (MURA example) under acquisition
variants: ``PYTHONPATH=. python benchmarks/anatomy_accuracy.py --cases digits``. The faint IP
joints of the real hand sit 1.5-4x above the trabecular noise of the profile (ring PIP ~0.1
deep): thin margins, blurred renderings (2-3x upsampled copies) lose the ring finger's PIP.

Input: a :class:`~anatscore.anatomy.segment.Segmentation` (grey in [0, 1], bright = bone).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
from scipy import ndimage as ndi
from scipy.signal import find_peaks

from .hand import HandAnalysis, analyse_hand
from .scanlines import rotate, rotate_mask, runs
from .segment import Segmentation

__all__ = ["DigitRay", "PhalangesAnalysis", "analyse_phalanges", "joint_gaps", "THUMB_MARGIN"]

#: The thumb is the end digit of the row with the larger gap to its neighbour; it is taken as
#: known when that gap is at least this many times the other end's.
THUMB_MARGIN = 1.3


@dataclass(frozen=True)
class DigitRay:
    """One digit's reading.

    Attributes:
        is_thumb: the digit was taken as the thumb.
        phalanges: segments between the tip and the MCP gap (0 when no MCP gap was found).
        tip: (row, col) of the fingertip, full-resolution image coordinates.
        gaps: (row, col) of the joint gaps found, distal to proximal, full-resolution.
        gap_depth: depth of each gap (top-hat over bone - soft-tissue contrast).
        mcp_index: index in ``gaps`` of the gap taken as the MCP joint (-1: none).
        ip_indices: indices in ``gaps`` of the interphalangeal gaps counted.
        axis: (row, col) points along the traced axis (every 4th), full-resolution.
    """

    is_thumb: bool
    phalanges: int
    tip: tuple[float, float]
    gaps: tuple[tuple[float, float], ...]
    gap_depth: tuple[float, ...]
    mcp_index: int
    ip_indices: tuple[int, ...]
    axis: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class PhalangesAnalysis:
    """Result of :func:`analyse_phalanges` (digits from left to right in the rotated frame; the
    thumb flagged)."""

    digits: tuple[DigitRay, ...]
    axis_angle_deg: float
    thumb_confident: bool = False  # the thumb's end gap is at least THUMB_MARGIN x the other end's


def _track(gs: np.ndarray, start: tuple[float, float], direction: tuple[float, float], steps: int,
           search: int, floor: float, stop: int, inertia: float = 0.9) -> list[tuple[float, float]]:
    """Ridge track from ``start`` (row, col) along a unit ``direction`` that may bend.

    Each step moves 1 px along the current direction, then to the brightest of the points
    ``-search..search`` px across it (bilinear samples of ``gs``); the direction follows the
    path with ``inertia`` (``d <- normalise(inertia d + (1 - inertia) step)``). Stops after
    ``stop`` consecutive points below ``floor`` (those are dropped) or at the image edge.
    """
    return _tracks(gs, [start], [direction], [steps], search, [floor], [stop], inertia)[0]


def _tracks(gs: np.ndarray, starts: list[tuple[float, float]], directions: list[tuple[float, float]],
            steps: list[int], search: int, floors: list[float], stops: list[int],
            inertia: float = 0.9) -> list[list[tuple[float, float]]]:
    """Several independent :func:`_track` runs advanced in lockstep (one per start; ``steps``,
    ``floors`` and ``stops`` per track), so that each step samples all the live tracks with one
    ``map_coordinates`` call instead of one call per track and step. Every track does exactly
    the arithmetic of a lone track (elementwise on its own row), so the paths are the same."""
    h, w = gs.shape
    n_tracks = len(starts)
    steps_a = np.asarray(steps, int).reshape(n_tracks)
    ids = np.flatnonzero(steps_a > 0)  # the live tracks; their state below, row for row
    p = np.array(starts, float).reshape(n_tracks, 2)[ids]
    d = np.array(directions, float).reshape(n_tracks, 2)[ids]
    d /= np.maximum(np.hypot(d[:, 0], d[:, 1]), 1e-9)[:, None]
    # Compared with the samples as a lone ``vals[k] < floor`` compares them (NumPy's promotion:
    # a Python float floor takes the samples' float32, a NumPy float64 one does not).
    floor = np.asarray(floors, dtype=np.result_type(gs.dtype, *dict.fromkeys(floors))).reshape(n_tracks)[ids]
    stop = np.asarray(stops, int).reshape(n_tracks)[ids]
    todo = steps_a[ids]
    below = np.zeros(ids.size, int)
    offs = np.arange(-search, search + 1, dtype=float)
    across = np.array([-1.0, 1.0])  # normal (-d_col, d_row)
    hist = np.empty((int(steps_a.max(initial=0)), n_tracks, 2))
    length = np.zeros(n_tracks, int)
    i = 0
    while ids.size:
        cand = (p + d)[:, None, :] + offs[None, :, None] * (d[:, ::-1] * across)[:, None, :]  # (live, across, 2)
        inside = ((cand.min(axis=1) >= 0).all(axis=1) & (cand[..., 0].max(axis=1) <= h - 1)
                  & (cand[..., 1].max(axis=1) <= w - 1))
        if not inside.all():  # those tracks reached the image edge
            ids, p, d, floor, stop, todo, below, cand = (x[inside] for x in (ids, p, d, floor, stop, todo, below, cand))
            if not ids.size:
                break
        vals = ndi.map_coordinates(gs, cand.reshape(-1, 2).T, order=1).reshape(cand.shape[:2])
        rows = np.arange(ids.size)
        k = np.argmax(vals, axis=1)
        new = cand[rows, k]
        mv = new - p
        d = inertia * d + (1 - inertia) * mv / np.maximum(np.hypot(mv[:, 0], mv[:, 1]), 1e-9)[:, None]
        d /= np.maximum(np.hypot(d[:, 0], d[:, 1]), 1e-9)[:, None]
        p = new
        hist[i, ids] = new
        length[ids] = i + 1
        below = np.where(vals[rows, k] < floor, below + 1, 0)
        done = below >= stop
        length[ids[done]] -= below[done]  # a faded end is dropped
        i += 1
        keep = ~done & (todo > i)
        if not keep.all():
            ids, p, d, floor, stop, todo, below = (x[keep] for x in (ids, p, d, floor, stop, todo, below))
    return [[(r, c) for r, c in hist[: length[t], t].tolist()] for t in range(n_tracks)]


def _ray_lines(img: np.ndarray, path: np.ndarray, half_width: int) -> np.ndarray:
    """``img`` sampled along ``2 * half_width + 1`` lines parallel to the path, offsets
    ``-half_width..half_width`` px across it (bilinear; the across direction from the smoothed
    path tangent): shape (lines, path points)."""
    t = np.gradient(ndi.gaussian_filter1d(path, 2.0, axis=0, mode="nearest"), axis=0)
    t /= np.maximum(np.hypot(t[:, 0], t[:, 1]), 1e-9)[:, None]
    n = np.stack([-t[:, 1], t[:, 0]], axis=1)
    ks = np.arange(-half_width, half_width + 1)
    pts = path[None, :, :] + ks[:, None, None] * n[None, :, :]  # (lines, path points, 2)
    return ndi.map_coordinates(img, pts.reshape(-1, 2).T, order=1, mode="nearest").reshape(pts.shape[:2])


def _distal_direction(gs: np.ndarray, air_level: float, row: int, centres: list[int], extent: int,
                      floor: float, stop: int) -> tuple[tuple[float, float], tuple[float, float]]:
    """(distal, proximal) unit directions in the rotated frame.

    Rays fan out distally and converge on the carpus proximally: every digit is tracked
    ``0.15 * extent`` px both ways (:func:`_track` without a floor) and the direction whose track
    ends spread wider across the hand is distal. When the spreads are within 10 % of each other
    (a single digit, say), the tracks are followed until their ridge fades, and the direction
    whose ends lead to air (darker than ``air_level`` ``0.06 * extent`` further on) for more
    digits is distal (a forearm more often leaves the film than a fingertip).
    """
    h, w = gs.shape
    n = max(5, int(0.15 * extent))
    spread = {}
    starts = [(float(row), float(c)) for c in centres]
    k = len(starts)
    both = _tracks(gs, starts * 2, [(-1.0, 0.0)] * k + [(1.0, 0.0)] * k, [n] * 2 * k, 1, [-np.inf] * 2 * k,
                   [n] * 2 * k)
    for sgn, paths in ((-1.0, both[:k]), (1.0, both[k:])):
        ends = [p[-1][1] for p in paths if p]
        spread[sgn] = float(np.ptp(ends)) if len(ends) >= 2 else 0.0
    if abs(spread[-1.0] - spread[1.0]) > 0.1 * max(spread.values()):
        sgn = -1.0 if spread[-1.0] > spread[1.0] else 1.0
        return (sgn, 0.0), (-sgn, 0.0)
    votes = {-1.0: 0, 1.0: 0}
    both = _tracks(gs, starts * 2, [(-1.0, 0.0)] * k + [(1.0, 0.0)] * k, [extent] * 2 * k, 1, [floor] * 2 * k,
                   [stop] * 2 * k)
    for sgn, paths in ((-1.0, both[:k]), (1.0, both[k:])):
        for path in paths:
            if len(path) < 2:
                continue
            end, before = np.array(path[-1]), np.array(path[max(0, len(path) - 6)])
            d = end - before
            d /= max(float(np.hypot(*d)), 1e-9)
            r, cc = np.round(end + 0.06 * extent * d).astype(int)
            if 0 <= r < h and 0 <= cc < w and gs[r, cc] < air_level:
                votes[sgn] += 1
    sgn = -1.0 if votes[-1.0] >= votes[1.0] else 1.0
    return (sgn, 0.0), (-sgn, 0.0)


def joint_gaps(lines: np.ndarray, contrast: float, scale: int, depth: float, min_sep: int,
               wide_depth: float = 0.3, tilt: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Joint gaps along a digit: indices and depths (step 3 of the module docstring).

    ``lines``: one profile, or a stack (lines across the axis x positions along it). Per line,
    ``T = closing_scale(p) - p`` (grey closing fills dips narrower than ``scale``), spread by a
    maximum filter of ±``tilt`` px along the axis (a joint line slanted or curved across the
    bone reaches neighbouring lines a pixel or so apart), averaged over the lines, over
    ``contrast``. Dips of the mean profile up to twice as wide are added where at least
    ``wide_depth`` deep (bones clearly apart). Peaks of at least ``depth`` are kept, at least
    ``min_sep`` apart (the deeper kept).
    """
    stack = np.atleast_2d(np.asarray(lines, dtype=np.float64))
    c = max(contrast, 1e-3)
    size = max(3, scale)
    per_line = ndi.grey_closing(stack, size=(1, size), mode="nearest") - stack
    if tilt > 0:
        per_line = ndi.maximum_filter1d(per_line, 2 * tilt + 1, axis=1, mode="nearest")
    t = per_line.mean(axis=0) / c
    mean = stack.mean(axis=0)
    wide = (ndi.grey_closing(mean, size=max(5, 2 * scale), mode="nearest") - mean) / c
    t = np.maximum(t, np.where(wide >= wide_depth, wide, 0.0))
    idx, props = find_peaks(t, height=depth, distance=max(1, min_sep))
    return idx, props["peak_heights"]


def _mcp_index(pos: np.ndarray, depth: np.ndarray, tip: int, end: int, strong: float, free: float) -> int:
    """Index (into ``pos``, gaps ordered distal to proximal) of the gap taken as the MCP joint.

    Candidates are the strong gaps (depth at least ``strong`` times the digit's deepest). A
    candidate at distance ``d`` from the tip qualifies when the bone proximal to it runs at
    least ``free * d`` without a gap half as deep as itself: the metacarpal shaft (a joint gap in
    the carpus has other gaps close behind it, and the track ends before a carpal gap would
    qualify). The MCP is the most proximal qualifying candidate (an interphalangeal gap may
    qualify too: the proximal phalanx is long enough). -1 if none.
    """
    if pos.size == 0:
        return -1
    best = -1
    for k in range(pos.size):
        d = abs(pos[k] - tip)
        if depth[k] < strong * depth.max() or d == 0:
            continue
        nxt = [abs(pos[j] - pos[k]) for j in range(k + 1, pos.size) if depth[j] >= 0.5 * depth[k]]
        run = float(min(nxt)) if nxt else float(abs(end - pos[k]))
        if run >= free * d:
            best = k  # gaps are ordered distal -> proximal: the last one qualifying wins
    return best


def _count_phalanges(pos: np.ndarray, depth: np.ndarray, tip: int, mcp: int, rel: float, rel_ip: float,
                     floor: float, margin: float, sep: float) -> tuple[int, list[int]]:
    """Phalanges between the tip and the MCP gap ``pos[mcp]``: 1 + the interphalangeal gaps.

    IP gaps: gaps distal to the MCP, at least ``margin * L`` from the tip and from the MCP
    (``L`` = tip-to-MCP length along the axis), at least ``max(floor, rel * depth[mcp],
    rel_ip * deepest)`` deep (``deepest``: the deepest of those gaps, so a clear joint line
    raises the bar for noise on the same digit); of two closer than ``sep * L`` the deeper is
    kept (no phalanx is that short). Returns the count and the indices (into ``pos``) kept.
    """
    length = float(abs(pos[mcp] - tip))
    inside = [k for k in range(mcp)
              if abs(pos[k] - tip) >= margin * length and abs(pos[mcp] - pos[k]) >= margin * length]
    if not inside:
        return 1, []
    thr = max(floor, rel * float(depth[mcp]), rel_ip * float(max(depth[k] for k in inside)))
    kept: list[int] = []
    for k in sorted((k for k in inside if depth[k] >= thr), key=lambda j: -depth[j]):
        if all(abs(pos[k] - pos[j]) >= sep * length for j in kept):
            kept.append(k)
    return len(kept) + 1, sorted(kept)


class _Frame:
    """Rotation between the segmentation's working image and the hand frame (hand axis vertical)."""

    def __init__(self, shape: tuple[int, int], rot_shape: tuple[int, int], angle_deg: float, scale: float):
        self.c = np.array([(shape[0] - 1) / 2, (shape[1] - 1) / 2])
        self.c2 = np.array([(rot_shape[0] - 1) / 2, (rot_shape[1] - 1) / 2])
        self.a = np.radians(angle_deg)
        self.scale = scale

    def to_full(self, pts: np.ndarray) -> np.ndarray:
        """(row, col) points of the rotated frame -> full-resolution image coordinates
        (inverse of skimage's counter-clockwise ``rotate(..., -angle, resize=True)``)."""
        a = -self.a
        dy, dx = pts[:, 0] - self.c2[0], pts[:, 1] - self.c2[1]
        x = np.cos(a) * dx - np.sin(a) * dy + self.c[1]
        y = np.sin(a) * dx + np.cos(a) * dy + self.c[0]
        return np.stack([y, x], axis=1) / self.scale


def _pt(p: np.ndarray) -> tuple[float, float]:
    return (round(float(p[0]), 1), round(float(p[1]), 1))


def analyse_phalanges(
    seg: Segmentation,
    down_frac: float = 0.35,
    stop: float = 0.07,
    track_sigma: float = 0.01,
    half_width: float = 0.008,
    gap_scale: float = 0.014,
    gap_floor: float = 0.05,
    gap_tilt: int = 1,
    strong: float = 0.5,
    mcp_free: float = 0.5,
    tip_level: float = 0.3,
    ip_rel: float = 0.2,
    ip_rel_ip: float = 0.42,
    margin: float = 0.1,
    ip_sep: float = 0.15,
    hand: Optional[HandAnalysis] = None,
) -> PhalangesAnalysis:
    """Phalanges per digit (see the module docstring). ``track_sigma``, ``half_width`` and
    ``gap_scale`` are fractions of the working image's long side; ``down_frac`` and ``stop`` of
    the bone's extent along the hand axis. ``hand``: :func:`analyse_hand` of ``seg`` with its
    default parameters, when already computed (``hand.digit_count`` memoises it)."""
    if hand is None:
        hand = analyse_hand(seg)
    if hand.digit_count == 0 or hand.level_row < 0:
        return PhalangesAnalysis((), hand.axis_angle_deg)
    angle = hand.axis_angle_deg
    side = max(seg.shape)
    rot_bone = hand.rotated if hand.rotated is not None else rotate_mask(seg.bone, -angle)
    rot_grey = rotate(seg.grey, -angle, 1)
    frame = _Frame(seg.shape, rot_grey.shape, angle, seg.scale)
    gt = ndi.gaussian_filter(rot_grey, max(1.5, track_sigma * side))
    gs = rot_grey  # joint lines are 1-2 px: no smoothing along the axis (the profile averages across)
    ys = np.flatnonzero(rot_bone.any(axis=1))
    extent = int(ys[-1] - ys[0] + 1)
    lv = seg.levels
    soft, bone = float(lv.get("soft", np.nan)), float(lv.get("bone", np.nan))
    if not (np.isfinite(soft) and np.isfinite(bone)) or bone - soft < 0.05:
        return PhalangesAnalysis((), angle)
    floor = soft + tip_level * (bone - soft)
    found = runs(rot_bone[hand.level_row], max(2, int(round(0.008 * side))))
    centres = [(a + b) // 2 for a, b in found]
    if not centres:
        return PhalangesAnalysis((), angle)
    thumb, confident = -1, False
    if len(centres) >= 3:
        g0, g1 = centres[1] - centres[0], centres[-1] - centres[-2]
        thumb = 0 if g0 > g1 else len(centres) - 1
        confident = max(g0, g1) >= THUMB_MARGIN * max(min(g0, g1), 1)
    stop_px = max(3, int(stop * extent))
    bg = float(lv.get("background", np.nan))
    air_level = 0.5 * (bg + soft) if np.isfinite(bg) else -1.0
    up, down = _distal_direction(gt, air_level, hand.level_row, centres, extent, floor, stop_px)
    hw = max(1, int(round(half_width * side)))
    # Every digit's distal and proximal tracks, advanced together (see _tracks).
    k = len(centres)
    starts = [(float(hand.level_row), float(c)) for c in centres]
    tracked = _tracks(gt, starts * 2, [up] * k + [down] * k, [extent] * k + [int(down_frac * extent)] * k, 1,
                      [floor] * k + [-np.inf] * k, [stop_px] * k + [extent] * k)
    digits = []
    for i, c in enumerate(centres):
        dist, prox = tracked[i], tracked[k + i]
        raw = np.array(prox[::-1] + dist)  # proximal -> distal
        if len(raw) < 8:
            continue
        path = ndi.gaussian_filter1d(raw, 3.0, axis=0, mode="nearest")
        lines = _ray_lines(gs, path, hw)
        idx, dep = joint_gaps(lines, bone - soft, int(round(gap_scale * side)), gap_floor, 2, tilt=gap_tilt)
        tip = len(path) - 1
        order = np.argsort(-idx)  # distal first
        idx, dep = idx[order], dep[order]
        mcp = _mcp_index(idx, dep, tip, 0, strong, mcp_free)
        n_ph, ips = (0, []) if mcp < 0 else _count_phalanges(idx, dep, tip, mcp, ip_rel, ip_rel_ip, gap_floor, margin, ip_sep)
        full = frame.to_full(path)
        digits.append(DigitRay(
            is_thumb=i == thumb, phalanges=n_ph, tip=_pt(full[tip]),
            gaps=tuple(_pt(full[k]) for k in idx), gap_depth=tuple(round(float(d), 3) for d in dep),
            mcp_index=mcp, ip_indices=tuple(ips), axis=tuple(_pt(p) for p in full[::4]),
        ))
    return PhalangesAnalysis(tuple(digits), angle, confident)

"""Scanlines across a limb: rotate a mask so the limb's long axis is vertical, count bone runs.

Shared by the digit count (:mod:`anatscore.anatomy.hand`) and the two-bone count
(:mod:`anatscore.anatomy.longbones`).
"""

from __future__ import annotations

import numpy as np
from skimage import transform

__all__ = ["runs", "rotate", "principal_angle", "run_counts"]


def runs(row: np.ndarray, min_len: int, bridge: int = 2) -> list[tuple[int, int]]:
    """``(start, end)`` of the True runs of a 1-D bool row at least ``min_len`` long; runs closer
    than ``bridge`` + 1 pixels are merged first."""
    idx = np.flatnonzero(row)
    if idx.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(idx) > bridge + 1)
    starts = np.concatenate([[idx[0]], idx[breaks + 1]])
    ends = np.concatenate([idx[breaks], [idx[-1]]])
    return [(int(a), int(b)) for a, b in zip(starts, ends) if b - a + 1 >= min_len]


def rotate(img: np.ndarray, angle: float, order: int) -> np.ndarray:
    """``img`` rotated by ``angle`` degrees (counter-clockwise), canvas enlarged to fit."""
    return transform.rotate(img.astype(np.float32), angle, resize=True, order=order, preserve_range=True)


def principal_angle(mask: np.ndarray) -> float:
    """Angle (degrees, from the vertical) of the principal axis of the True pixels of ``mask``."""
    rr, cc = np.nonzero(mask)
    if rr.size < 3:
        return 0.0
    evals, evecs = np.linalg.eigh(np.cov(np.stack([rr - rr.mean(), cc - cc.mean()])))
    main = evecs[:, np.argmax(evals)]
    return float(np.degrees(np.arctan2(main[1], main[0])))


def run_counts(rot: np.ndarray, min_len: int, bridge: int = 2) -> np.ndarray:
    """Number of runs (at least ``min_len`` long) on every row of a rotated mask: ``len(runs(row,
    min_len, bridge))`` for each row, computed for all rows at once."""
    rows, cols = np.nonzero(rot)  # row-major: sorted by row, then column
    if rows.size == 0:
        return np.zeros(rot.shape[0], dtype=int)
    # A run starts at a row's first pixel or after a gap of more than ``bridge`` pixels.
    new = np.ones(rows.size, dtype=bool)
    new[1:] = (rows[1:] != rows[:-1]) | (np.diff(cols) > bridge + 1)
    starts = np.flatnonzero(new)
    ends = np.append(starts[1:], rows.size) - 1
    long_enough = cols[ends] - cols[starts] + 1 >= min_len
    return np.bincount(rows[starts[long_enough]], minlength=rot.shape[0])

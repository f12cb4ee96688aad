"""Scanlines across a limb: rotate a mask so the limb's long axis is vertical, count bone runs.

Shared by the digit count (:mod:`anatscore.anatomy.hand`) and the two-bone count
(:mod:`anatscore.anatomy.longbones`).
"""

from __future__ import annotations

import numpy as np
from skimage import transform

__all__ = ["runs", "rotate", "rotate_mask", "principal_angle", "run_counts"]


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


def _rotation(shape: tuple[int, int], angle: float) -> tuple[np.ndarray, tuple[int, int]]:
    """The homogeneous matrix (output (x, y) -> input (x, y)) and output shape of
    ``skimage.transform.rotate(img, angle, resize=True)``, built as skimage builds them."""
    rows, cols = shape
    center = np.array((cols, rows)) / 2.0 - 0.5
    tform = (transform.SimilarityTransform(translation=-center)
             + transform.SimilarityTransform(rotation=np.deg2rad(angle))
             + transform.SimilarityTransform(translation=center))
    corners = tform.inverse(np.array([[0, 0], [0, rows - 1], [cols - 1, rows - 1], [cols - 1, 0]]))
    minc, minr = corners[:, 0].min(), corners[:, 1].min()
    maxc, maxr = corners[:, 0].max(), corners[:, 1].max()
    out = np.around((maxr - minr + 1, maxc - minc + 1))
    tform = transform.SimilarityTransform(translation=(minc, minr)) + tform
    matrix = np.array(tform.params, dtype=np.float64)
    matrix[2] = (0, 0, 1)
    return matrix, (int(out[0]), int(out[1]))


def rotate_mask(mask: np.ndarray, angle: float) -> np.ndarray:
    """``rotate(mask, angle, 0) > 0.5`` for a bool mask, identical pixel for pixel, ~6x faster.

    Hand-written on purpose: for nearest-neighbour sampling, scikit-image's ``warp`` builds the
    source coordinates of every output pixel through a generic path (``warp_coords``, a strided
    homogeneous product and a division by the homogeneous coordinate, ~40 ms for a rotated
    512^2 mask) and samples them with ``scipy.ndimage.map_coordinates`` (~25 ms). Here the same
    product (the same ``(N, 3) @ (3, 3)`` matrix product on the same C-ordered points, hence the
    same floating-point results; the homogeneous coordinate is exactly 1) is sampled by
    indexing: source pixel ``floor(x + 0.5)``, False outside the image, which is what
    ``map_coordinates(order=0, mode="grid-constant")`` does. ``tests/test_anatomy_speed.py``
    checks the equality on random masks and angles (45 degrees included, where coordinates fall
    on half pixels).
    """
    mask = np.asarray(mask, dtype=bool)
    matrix, (ho, wo) = _rotation(mask.shape, angle)
    # Points in skimage.transform.warp_coords' order: (col, row), column-major over the output.
    pts = np.empty((wo * ho, 3), dtype=np.float64)
    pts[:, 0] = np.repeat(np.arange(wo, dtype=np.float64), ho)
    pts[:, 1] = np.tile(np.arange(ho, dtype=np.float64), wo)
    pts[:, 2] = 1.0
    src = pts @ matrix.T
    x = np.floor(src[:, 0] + 0.5).astype(np.intp)
    y = np.floor(src[:, 1] + 0.5).astype(np.intp)
    h, w = mask.shape
    ok = (x >= 0) & (x < w) & (y >= 0) & (y < h)
    val = np.zeros(x.shape, dtype=bool)
    val[ok] = mask[y[ok], x[ok]]
    return np.ascontiguousarray(val.reshape(wo, ho).T)


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

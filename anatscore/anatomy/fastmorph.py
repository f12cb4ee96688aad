"""Binary morphology with the 3x3 cross, by array shifts: the same masks as ``scipy.ndimage``.

``scipy.ndimage.binary_erosion`` / ``binary_dilation`` / ``binary_opening`` with the cross
(``skimage.morphology.disk(1)``, scipy's default structure in 2-D) take 2-4 ms on a 512^2 mask:
their generic C loop visits every structuring-element offset of every pixel. For the cross the
same result is four shifted ANDs/ORs of the array (~10x faster), and the segmentation and the
carpus analysis call these operations a dozen times per image. Hand-written for that reason;
``tests/test_anatomy_speed.py`` checks every function here against the scipy call it replaces.

:func:`dilate_disk` / :func:`erode_disk` are the thresholded Euclidean distance transforms
``distance_transform_edt(~mask) <= r`` / ``distance_transform_edt(mask) > r`` (dilation and
erosion by a disk of any real radius), built from the disk's horizontal chords: 2-4x faster than
the distance transform for the radii of the carpus analysis (4-12 px).

Border convention as scipy's default (``border_value=0``): pixels outside the image count as
False, so erosion removes the image's outermost rows and columns.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

__all__ = ["erode_cross", "dilate_cross", "open_cross", "close_diamond", "fill_holes", "dilate_disk", "erode_disk"]


def erode_cross(mask: np.ndarray, iterations: int = 1) -> np.ndarray:
    """``ndi.binary_erosion(mask, iterations=iterations)`` (3x3 cross, outside = False), 2-D."""
    m = np.asarray(mask, dtype=bool)
    for _ in range(iterations):
        out = m.copy()
        out[1:, :] &= m[:-1, :]
        out[:-1, :] &= m[1:, :]
        out[:, 1:] &= m[:, :-1]
        out[:, :-1] &= m[:, 1:]
        out[0, :] = False
        out[-1, :] = False
        out[:, 0] = False
        out[:, -1] = False
        m = out
    return m if iterations > 0 else m.copy()


def dilate_cross(mask: np.ndarray, iterations: int = 1) -> np.ndarray:
    """``ndi.binary_dilation(mask, iterations=iterations)`` (3x3 cross), 2-D. Two iterations
    are the dilation by ``skimage.morphology.disk(2)`` (the diamond ``|dx| + |dy| <= 2``)."""
    m = np.asarray(mask, dtype=bool)
    for _ in range(iterations):
        out = m.copy()
        out[1:, :] |= m[:-1, :]
        out[:-1, :] |= m[1:, :]
        out[:, 1:] |= m[:, :-1]
        out[:, :-1] |= m[:, 1:]
        m = out
    return m if iterations > 0 else m.copy()


def open_cross(mask: np.ndarray) -> np.ndarray:
    """``ndi.binary_opening(mask)`` = ``ndi.binary_opening(mask, skimage.morphology.disk(1))``."""
    return dilate_cross(erode_cross(mask))


def close_diamond(mask: np.ndarray) -> np.ndarray:
    """``ndi.binary_closing(mask, skimage.morphology.disk(2))``: dilation then erosion by the
    radius-2 diamond, each as two cross steps (the image is a rectangle, so the two steps reach
    exactly the diamond's pixels inside it)."""
    return erode_cross(dilate_cross(mask, 2), 2)


def fill_holes(mask: np.ndarray) -> np.ndarray:
    """``ndi.binary_fill_holes(mask)``: background components (4-connected, scipy's default
    structure) that do not touch the image border become foreground. One labelling instead of
    scipy's iterated propagation (~3x faster on 512^2)."""
    m = np.asarray(mask, dtype=bool)
    lab, n = ndi.label(~m)
    if n == 0:
        return m.copy()
    outer = np.zeros(n + 1, dtype=bool)
    for edge in (lab[0], lab[-1], lab[:, 0], lab[:, -1]):
        outer[edge] = True
    outer[0] = True  # label 0 is the foreground itself
    return ~outer[lab] | m


def _chords(r: float) -> list[tuple[int, int]]:
    """``(dy, half)`` for every row ``dy`` of the disk of radius ``r``: the offsets ``(dy, dx)``
    with ``sqrt(dy^2 + dx^2) <= r`` are those with ``|dx| <= half``. The distance is computed as
    ``scipy.ndimage.distance_transform_edt`` computes it (float64 squares, summed, square root),
    so the disk holds exactly the offsets that transform puts within ``r``."""
    big = int(np.floor(r)) + 1
    dx = np.arange(big + 1, dtype=np.float64)
    out = []
    for dy in range(-big, big + 1):
        inside = np.flatnonzero(np.sqrt(float(dy) * float(dy) + dx * dx) <= r)
        if inside.size:
            out.append((dy, int(inside.max())))
    return out


def dilate_disk(mask: np.ndarray, r: float) -> np.ndarray:
    """``distance_transform_edt(~mask) <= r`` (``mask`` itself when it is empty, where that
    transform is undefined): pixels within Euclidean distance ``r`` of a True pixel, 2-D.

    The union over the disk's rows ``dy`` of the mask dilated horizontally by the row's
    half-chord (a 1-D maximum filter) and shifted by ``dy``."""
    m = np.asarray(mask, dtype=bool)
    if not m.any():
        return m.copy()
    h = m.shape[0]
    out = np.zeros_like(m)
    along: dict[int, np.ndarray] = {}
    for dy, half in _chords(r):
        if half not in along:
            along[half] = (ndi.maximum_filter1d(m.view(np.uint8), 2 * half + 1, axis=1, mode="constant", cval=0)
                           .view(bool) if half else m)
        row = along[half]
        if abs(dy) >= h:
            continue
        if dy >= 0:
            out[dy:] |= row[: h - dy]
        else:
            out[: h + dy] |= row[-dy:]
    return out


def erode_disk(mask: np.ndarray, r: float) -> np.ndarray:
    """``distance_transform_edt(mask) > r``: True pixels farther than ``r`` from every False pixel
    of the image (outside the image does not count), 2-D. An all-True mask, where the transform
    has no background to measure from, is passed to it unchanged."""
    m = np.asarray(mask, dtype=bool)
    if m.all():
        return ndi.distance_transform_edt(m) > r
    return ~dilate_disk(~m, r)

"""Chunked Euclidean distances and k-nearest-neighbour radii (memory bounded by ``chunk`` rows).

Hand-written rather than scikit-learn's ``NearestNeighbors``: feature dimensions (2048) make
tree indices useless, and we need the full distance rows anyway (PRDC, realism scores) without
ever materialising an n x m float64 matrix for large sets.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np


def pairwise_distances(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Euclidean distances (len(x), len(y)) in float64, via ``|x|² + |y|² - 2 x·y`` clipped at 0."""
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    d2 = (x * x).sum(1)[:, None] + (y * y).sum(1)[None, :] - 2.0 * (x @ y.T)
    return np.sqrt(np.clip(d2, 0.0, None))


def distance_chunks(x: np.ndarray, y: np.ndarray, chunk: int = 2048) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(start, D)`` with D = distances of ``x[start:start+chunk]`` to all of ``y``."""
    for start in range(0, len(x), chunk):
        yield start, pairwise_distances(x[start : start + chunk], y)


def kth_neighbour_radii(x: np.ndarray, k: int, chunk: int = 2048) -> np.ndarray:
    """Distance from each row of ``x`` to its k-th nearest *other* row (self excluded)."""
    if len(x) <= k:
        raise ValueError(f"k-NN radius with k={k} needs more than {k} samples, have {len(x)}")
    out = np.empty(len(x), np.float64)
    for start, d in distance_chunks(x, x, chunk):
        # index k of the sorted row: index 0 is the point itself (distance 0)
        out[start : start + len(d)] = np.partition(d, k, axis=1)[:, k]
    return out


def kth_distance_to(x: np.ndarray, y: np.ndarray, k: int, chunk: int = 2048) -> np.ndarray:
    """Distance from each row of ``x`` to its k-th nearest row of ``y`` (k >= 1)."""
    k = min(k, len(y))
    out = np.empty(len(x), np.float64)
    for start, d in distance_chunks(x, y, chunk):
        out[start : start + len(d)] = np.partition(d, k - 1, axis=1)[:, k - 1]
    return out

"""Fibular-head evidence on a knee AP crop: lateral-minus-medial brightness of the lower corners.

On an AP knee the fibular head lies lateral to the tibia, just below the lateral plateau; in
the 224² OAI-derived crops of ``real/xray/knee_kl`` it is at most a sliver in one lower corner.
The measure is

    c = (mean(G[lat]) - mean(G[med])) / (P90(G) - P10(G))

with ``G`` the image smoothed by a 1-px Gaussian, ``lat`` / ``med`` the bands of rows
``rows`` (fractions of H) and of the outer ``band`` of W on the lateral / medial side, and the
denominator the image's bone-to-soft contrast. A fibular head makes the lateral corner brighter
than the medial one (c > 0). With an unknown side, :func:`corner_contrast` returns the larger of
the two sides' values (the fibula is taken to be on the brighter side).

Status (measured by ``PYTHONPATH=. python -m benchmarks.msk_fibula``): this separates real
crops from fibula-removed ones (:func:`anatscore.anatomy.corrupt.remove_fibula`) only partly
(AUC ~0.8 with the side known from the file name), far from the issue's targets, so no check
reads it yet. It is kept as the measured baseline for a future detector.

Input range: ``grey`` float in [0, 1], bright = bone, shape (H, W) with H, W >= 16.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

__all__ = ["CornerContrast", "corner_contrast", "side_from_name"]


@dataclass(frozen=True)
class CornerContrast:
    """Result of :func:`corner_contrast`: the value ``c`` and the side it was taken for."""

    value: float
    side: str  # image side of the lateral corner: "left" or "right"
    left: float  # c with the lateral side on the left
    right: float  # c with the lateral side on the right


def side_from_name(name: str) -> str | None:
    """Image side of the fibula from an OAI-style knee file name (``9135902L.png``: a left knee,
    fibula on the image's right; ``...R.png``: on the left); None when the name says neither."""
    stem = name.rsplit("/", 1)[-1].split(".", 1)[0].upper()
    if stem.endswith("L"):
        return "right"
    if stem.endswith("R"):
        return "left"
    return None


def corner_contrast(
    grey: np.ndarray, side: str | None = None, rows: tuple[float, float] = (0.72, 0.97), band: float = 0.22
) -> CornerContrast:
    """Lateral-minus-medial corner brightness ``c`` (module docstring); ``side`` is the fibula's
    image side, or None to take the brighter side."""
    g = np.asarray(grey, dtype=np.float32)
    if g.ndim != 2 or min(g.shape) < 16:
        raise ValueError(f"corner_contrast needs a 2-D grey image of at least 16x16, got {g.shape}")
    h, w = g.shape
    gs = ndi.gaussian_filter(g, 1.0)
    body = float(np.percentile(gs, 90) - np.percentile(gs, 10))
    r0, r1 = int(rows[0] * h), max(int(rows[0] * h) + 1, int(rows[1] * h))
    k = max(1, int(band * w))
    lm, rm = float(gs[r0:r1, :k].mean()), float(gs[r0:r1, w - k:].mean())
    scale = max(body, 1e-6)
    right, left = (rm - lm) / scale, (lm - rm) / scale
    if side is None:
        side = "right" if right >= left else "left"
    elif side not in ("left", "right"):
        raise ValueError(f"side must be 'left', 'right' or None, got {side!r}")
    return CornerContrast(right if side == "right" else left, side, left, right)

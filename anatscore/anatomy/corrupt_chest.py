"""Pathology on real chest films: a pleural effusion added to a frontal (PA) radiograph.

Not an anatomical defect: a film with an effusion is a plausible radiograph, and the chest
checks must not read it as a mirrored or malformed chest (``benchmarks/anatomy_cases/effusion.py``).
The fluid is placed from reference lung masks (e.g. the JSRT SCR masks), not by the checks'
own lung fields, so a check cannot pass by sharing a bug with the corruption.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
from scipy import ndimage as ndi

__all__ = ["pleural_effusion", "effusion_opacity", "effusion_parts", "subdiaphragm_density"]


def _smoothstep(t: np.ndarray) -> np.ndarray:
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def subdiaphragm_density(g: np.ndarray, right_lung: np.ndarray) -> float:
    """Density of the liver under the right hemidiaphragm: per column of the right lung mask, the
    mean of the film 2-8 % of the side below the mask's lowest row in that column; the median over
    the columns."""
    h = g.shape[0]
    cols = np.flatnonzero(right_lung.any(0))
    vals = []
    for c in cols:
        b = int(np.flatnonzero(right_lung[:, c])[-1])
        seg = g[min(h - 1, b + int(0.02 * h)): min(h, b + int(0.08 * h)), c]
        if seg.size:
            vals.append(float(seg.mean()))
    return float(np.median(vals)) if vals else float(np.quantile(g, 0.75))


def effusion_opacity(lung: np.ndarray, side: str, size: float, rise: float = 0.25,
                     edge: float = 0.15, power: float = 1.5) -> np.ndarray:
    """Fluid opacity in [0, 1] over one hemithorax: 1 where the fluid is thick, 0 outside.

    ``lung`` is the side's lung mask (bool, image shape; patient's right on the image's left).
    With ``T``/``B`` its top/bottom rows, ``H = B - T`` and ``u`` in [0, 1] the position from its
    medial (``u = 0``) to its lateral edge (``u = 1``), the fluid's upper border (the meniscus) is
    the row ``B - H (size + rise (u^p - 1/(p + 1)))`` (``p = power``): on average ``size`` of the
    lung height above the lowest point of the lung, ``rise`` higher at the chest wall than
    medially, rising ever more steeply towards the wall (concave upward, Damoiseau's curve). The opacity fills the lung
    mask (dilated by 1 % of the image side: the pleural space around it) below that border,
    rises over ``edge * H`` rows from the border down (the fluid layer thins towards its top),
    and is feathered across the mask's edge (Gaussian of 0.6 % of the side), so the fluid
    meets the chest wall, the heart and the diaphragm without a seam.
    """
    depth, feather = effusion_parts(lung, side, size, rise, edge, power)
    return depth * feather


def effusion_parts(lung: np.ndarray, side: str, size: float, rise: float = 0.25, edge: float = 0.15,
                   power: float = 1.5) -> tuple[np.ndarray, np.ndarray]:
    """The two factors of :func:`effusion_opacity`: ``(depth, feather)``, the fluid's rise below the
    meniscus and the feathered pleural space (for realism measurements at the fluid's edges)."""
    lung = np.asarray(lung, dtype=bool)
    h, w = lung.shape
    rows, cols = np.flatnonzero(lung.any(1)), np.flatnonzero(lung.any(0))
    top, bot = int(rows[0]), int(rows[-1])
    hgt = float(bot - top)
    medial, lateral = (cols[-1], cols[0]) if side == "right" else (cols[0], cols[-1])
    x = np.arange(w, dtype=np.float64)
    u = np.clip((x - medial) / (lateral - medial), 0.0, 1.0)
    border = bot - hgt * (size + rise * (u ** power - 1.0 / (power + 1.0)))  # meniscus row per column
    y = np.arange(h, dtype=np.float64)[:, None]
    depth = _smoothstep((y - border[None, :]) / max(1.0, edge * hgt))
    space = ndi.binary_dilation(lung, iterations=max(1, round(0.01 * h)))
    feather = ndi.gaussian_filter(space.astype(np.float64), 0.006 * h)
    return depth, feather


def pleural_effusion(g: np.ndarray, right_lung: np.ndarray, left_lung: np.ndarray, side: str,
                     size: float, rise: float = 0.25, rib_contrast: float = 0.35,
                     fluid: Optional[float] = None) -> np.ndarray:
    """A free pleural effusion on a PA chest film: ``side`` in ``right``, ``left``, ``both``.

    Fluid is as dense as soft tissue, so in the fluid (opacity ``a`` of :func:`effusion_opacity`)
    the film's coarse density (Gaussian of 2 % of the side) is replaced by the fluid density
    ``fluid`` (water density: pass the heart's, e.g. the median of the film over a reference heart
    mask; default :func:`subdiaphragm_density`, the liver's), the mid-scale detail (ribs, vessels,
    the diaphragm's edge: blur of 1 px minus the coarse density) is kept at ``rib_contrast`` of
    its contrast (ribs stay faintly visible), and the finest scale (film grain, below 1 px) is
    kept whole, so the fluid has the film's own noise. The costophrenic angle is blunted and the
    hemidiaphragm silhouetted because the fluid fills the lung base up to the meniscus, at the
    density of the abdomen below.

    ``size``: mean height of the fluid as a fraction of that lung's height (small 0.2-0.25,
    large 0.45-0.55). Returns float32 in [0, 1].
    """
    g = np.asarray(g, dtype=np.float64)
    h, w = g.shape
    if fluid is None:
        fluid = subdiaphragm_density(g, right_lung)
    a = np.zeros_like(g)
    for s, m in (("right", right_lung), ("left", left_lung)):
        if side in (s, "both"):
            a = np.maximum(a, effusion_opacity(m, s, size, rise))
    coarse = ndi.gaussian_filter(g, 0.02 * h)
    fine = ndi.gaussian_filter(g, 1.0)
    mid = fine - coarse
    # g = coarse + mid + grain  ->  (1 - a) coarse + a fluid + (1 - a (1 - rib_contrast)) mid + grain
    out = g + a * (fluid - coarse) - a * (1.0 - rib_contrast) * mid
    return np.clip(out, 0.0, 1.0).astype(np.float32)

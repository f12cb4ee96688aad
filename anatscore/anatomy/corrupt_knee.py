"""Controlled proportion corruptions of a real knee AP (femur and tibia that do not match).

Used by ``benchmarks/anatomy_cases/knee_proportions.py``, ``benchmarks/knee_proportions.py`` and
``tests/test_anatomy_kneeprop.py``. Each function takes a float grey knee AP in [0, 1] (bright =
bone, joint line running across the image, knee roughly centred as in the OAI crops) and returns
a corrupted copy of the same shape and range. They find the joint line by their own simple means
(:func:`joint_rows`, built on :func:`anatscore.anatomy.corrupt.knee_joint_line`), not with the
check's joint-space analysis, and they do not look for bone edges or the notch at all: the warp
acts on a fixed span of the width, so a check cannot pass by sharing a bug with the corruption.

How the images are changed: only horizontally, by a smooth monotone remapping of the columns
``x -> x_src(x)`` (piecewise linear through a few knots, then Gaussian-smoothed over 0.8 % of the
width, so the warp and its slope are continuous), applied fully on one side of the joint line and
not at all on the other, with a cosine transition ``transition * H`` either side of the line
(inside the dark joint space). Resampling is cubic (``scipy.ndimage.map_coordinates``, order 3),
so the warped half keeps its fine texture.

The squeezes widen the soft-tissue margin beside the squeezed bone. The OAI crops have almost
none (the bones reach 5-20 px of the 224-px border), so that margin is made, not moved: there the
image is the soft tissue's smooth level (Gaussian over 4 % of H down the rows) at the border,
warped, plus new isotropic grain at the level of the outer columns' grain; stretching the border
columns instead drew each row out into a horizontal streak. Where the crop's outermost columns
are dark, the made margin is a dark band that ends at the joint line's transition (a visible
step on some crops; ``benchmarks/knee_proportions.py`` prints how separable the corrupted crops
are by margin and seam statistics).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage as ndi

from .corrupt import knee_joint_line

__all__ = ["joint_rows", "squeeze_half", "enlarge_condyle", "SPAN"]

#: Half-width of the warped span around the image's centre column, as a fraction of the width:
#: the bone of the OAI crops lies within it; the soft tissue outside is what a squeeze stretches.
SPAN = 0.49
#: Half-width (fraction of the width) of the central strip, notch and tibial spines, that
#: :func:`enlarge_condyle` shifts without distorting.
NOTCH_HALF = 0.08


def joint_rows(g: np.ndarray, band: tuple[float, float] = (0.3, 0.75)) -> np.ndarray:
    """Per-column row of the femorotibial joint line, for placing a warp's transition.

    :func:`anatscore.anatomy.corrupt.knee_joint_line` (the corruptions' own valley finder: per
    column the row of deepest valley between bright bone above and below, median-filtered and
    smoothed), kept on the middle half of the columns; outside it, held at the median of the
    line over the compartment's inner columns (0.15-0.35 W and 0.65-0.85 W), then smoothed over
    3 % of W. In the soft tissue beside the bones there is no joint and the valley there is noise:
    followed to the border, the line ran far below the joint on many crops (a darkest-row line,
    used before, ran through the dark tibial metaphysis of knees with a narrowed joint), so the
    warp missed the plateau's edge.
    """
    h, w = np.shape(g)
    rows = knee_joint_line(np.asarray(g, dtype=np.float32), band)
    out = rows.copy()
    out[: w // 4] = np.median(rows[int(0.15 * w): int(0.35 * w)])
    out[w - w // 4:] = np.median(rows[int(0.65 * w): int(0.85 * w)])
    return ndi.gaussian_filter1d(out, 0.03 * w, mode="nearest")


def _column_map(w: int, knots_out: list[float], knots_src: list[float], smooth: float) -> tuple[np.ndarray, np.ndarray]:
    """Source column of every output column (piecewise linear through the knots, then Gaussian
    smoothed: a positive kernel keeps the map monotone and makes it and its slope continuous),
    and the map's slope."""
    x = np.arange(w, dtype=float)
    xs = np.interp(x, knots_out, knots_src)
    xs = ndi.gaussian_filter1d(xs, max(1.0, smooth * w), mode="nearest")
    return xs, np.gradient(xs)


def _grain_noise(detail: np.ndarray, rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Unit-sd isotropic noise of ``shape`` in the same band as ``detail`` (``g - Gauss(g, 1)``), its
    correlation length chosen among a few so that its ratio of neighbour-difference energy to
    variance matches ``detail``'s (grain that is finer or coarser than white noise)."""
    def roughness(a: np.ndarray) -> float:
        return float((np.diff(a, axis=0) ** 2).mean() / max(float(a.var()), 1e-12))

    target = roughness(detail)
    white = rng.standard_normal(shape)
    best, best_err = None, math.inf
    for c in (0.0, 0.4, 0.6, 0.8, 1.0):
        n = ndi.gaussian_filter(white, c) if c > 0 else white
        n = n - ndi.gaussian_filter(n, 1.0)
        err = abs(roughness(n) - target)
        if err < best_err:
            best, best_err = n, err
    return best / max(float(best.std()), 1e-6)


def _warp(g: np.ndarray, knots_out: list[float], knots_src: list[float], side: str, transition: float,
          offset: float = 0.0, regrain: bool = False, seed: int = 0) -> np.ndarray:
    """Apply the column map through the knots on one side (``"femur"``: above the joint line,
    ``"tibia"``: below it). ``regrain``: where the map magnifies (the soft tissue beside a
    squeezed bone), fill with smooth tissue and new grain instead of stretching (module docstring)."""
    g = np.asarray(g, dtype=np.float32)
    h, w = g.shape
    xs, slope = _column_map(w, knots_out, knots_src, 0.008)
    x = np.arange(w, dtype=float)
    jr = joint_rows(g) + offset * h
    yy = np.arange(h, dtype=float)[:, None]
    # t = 1 on the warped side, 0 on the other, cosine ramp over +-transition*H of the line.
    u = np.clip((jr[None, :] - yy) / (transition * h), -1.0, 1.0)  # +1 above the line, -1 below
    if side == "tibia":
        u = -u
    t = 0.5 * (1.0 + np.sin(0.5 * np.pi * u))
    src_x = x[None, :] + t * (xs - x)[None, :]
    src_y = np.broadcast_to(yy, (h, w))
    out = ndi.map_coordinates(g, [src_y, src_x], order=3, mode="nearest")
    if regrain:
        # Stretching the few columns of soft tissue at the border across the widened margin
        # would draw each row's value out into a horizontal streak. There, the image is instead
        # (a) the soft tissue's smooth level, a Gaussian of 4 % of H down the rows (and 1 px
        # across), warped - its rows vary slowly, so no streaks - plus (b) isotropic grain at
        # the original grain's local level (``_grain_noise``). The fill is blended in by how
        # much the effective map magnifies: none at 1.1x or less, all at 1.5x or more.
        rng = np.random.default_rng(seed)
        detail = g - ndi.gaussian_filter(g, 1.0)
        # grain level per row of each side's outer 4 % of columns (soft tissue on these crops)
        k = max(2, int(0.04 * w))
        lev_l = np.sqrt(ndi.gaussian_filter1d((detail[:, :k] ** 2).mean(axis=1), 0.03 * h))
        lev_r = np.sqrt(ndi.gaussian_filter1d((detail[:, w - k:] ** 2).mean(axis=1), 0.03 * h))
        lev = np.where(x[None, :] < 0.5 * w, lev_l[:, None], lev_r[:, None])
        smooth = ndi.gaussian_filter(g, (0.04 * h, 1.0))
        noise = _grain_noise(detail[:, np.r_[0:k, w - k:w]], rng, (h, w))
        base = ndi.map_coordinates(smooth, [src_y, src_x], order=1, mode="nearest")
        eff = 1.0 + t * (slope[None, :] - 1.0)  # source px per output px of the applied map
        m = np.clip((1.0 / np.maximum(eff, 1e-3) - 1.1) / 0.4, 0.0, 1.0)
        m = ndi.gaussian_filter1d(m, 1.0, axis=1)
        out = (1.0 - m) * out + m * (base + lev * noise)
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def squeeze_half(g: np.ndarray, factor: float = 0.8, side: str = "femur", transition: float = 0.03,
                 seed: int = 0) -> np.ndarray:
    """Squeeze the femur (``side="femur"``: rows above the joint line) or the tibia (``"tibia"``)
    horizontally by ``factor`` about the image's centre column.

    The span ``centre +- SPAN * W`` (the bone) is mapped onto ``centre +- factor * SPAN * W``; the
    soft tissue outside it is stretched to fill the margin. ``factor`` 0.8 on the femur makes the
    condyles 0.8 times as wide as before against an unchanged tibial plateau (condyles too
    narrow); on the tibia, the plateau 0.8 times as wide (condyles 1.25 times too wide for it).
    """
    if not 0.3 <= factor <= 1.0:
        raise ValueError(f"factor must be in 0.3..1.0, got {factor}")
    if side not in ("femur", "tibia"):
        raise ValueError(f"side must be 'femur' or 'tibia', got {side!r}")
    h, w = np.shape(g)
    c = 0.5 * (w - 1)
    a = SPAN * w
    out_k = [0.0, c - factor * a, c, c + factor * a, w - 1.0]
    src_k = [0.0, c - a, c, c + a, w - 1.0]
    # The femur's squeeze fades out above the joint line (ramp from -2 to 0 transitions above it)
    # and the tibia's is full from just below it, so the other bone's edges next to the joint
    # are left as they were.
    offset = -transition if side == "femur" else 0.0
    return _warp(g, out_k, src_k, side, transition, offset=offset, regrain=True, seed=seed)


def enlarge_condyle(g: np.ndarray, ratio: float = 2.0, which: str = "left", transition: float = 0.07,
                    offset: float = 0.08) -> np.ndarray:
    """Make the condyle on the image's ``which`` side ``ratio`` times as wide as the other.

    Within the femur the span ``centre +- SPAN * W`` keeps its outer ends, and the central strip
    ``centre +- NOTCH_HALF * W`` (notch and tibial spines of a centred knee) is shifted rigidly by
    ``d = (SPAN - NOTCH_HALF) W (ratio - 1) / (ratio + 1)`` away from the ``which`` side: the
    span between the ``which`` end and the strip is widened, the other narrowed, so that the two
    are in ``ratio``. The femur's outer width and the tibial plateau are unchanged: the notch
    moves off-centre. The measured condyle width ratio changes by less than ``ratio`` (the strip
    and the condyles' outer parts are not scaled); benchmarks print the measured change.
    """
    if ratio < 1.0:
        raise ValueError(f"ratio must be >= 1, got {ratio}")
    if which not in ("left", "right"):
        raise ValueError(f"which must be 'left' or 'right', got {which!r}")
    h, w = np.shape(g)
    c = 0.5 * (w - 1)
    a = SPAN * w
    r = NOTCH_HALF * w
    d = (a - r) * (ratio - 1.0) / (ratio + 1.0)
    cn = c + d if which == "left" else c - d
    # The notch (c +- r) is shifted rigidly, with the tibial spines in it; the condyles either
    # side of it are stretched and squeezed between it and the fixed outer ends.
    out_k = [0.0, c - a, cn - r, cn + r, c + a, w - 1.0]
    src_k = [0.0, c - a, c - r, c + r, c + a, w - 1.0]
    # The tibial spines rise into the notch: they move with it. The shift fades out below them,
    # over the proximal tibia (centred ``offset * H`` below the joint line, +- ``transition * H``),
    # where a slow horizontal shear leaves the plateau's horizontal subchondral plate alone.
    return _warp(g, out_k, src_k, "femur", transition, offset=offset)

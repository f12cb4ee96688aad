"""Controlled proportion corruptions of a real knee AP (femur and tibia that do not match).

Used by ``benchmarks/anatomy_cases/knee_proportions.py``, ``benchmarks/knee_proportions.py`` and
``tests/test_anatomy_kneeprop.py``. Each function takes a float grey knee AP in [0, 1] (bright =
bone, joint line running across the image, knee roughly centred as in the OAI crops) and returns
a corrupted copy of the same shape and range. They find the joint line by their own simple means
(:func:`joint_rows`: the darkest row of a heavily smoothed column profile), not with the check's
joint-space analysis, and they do not look for bone edges or the notch at all: the warp acts on a
fixed span of the width, so a check cannot pass by sharing a bug with the corruption.

How the images are changed: only horizontally, by a smooth monotone remapping of the columns
``x -> x_src(x)`` (piecewise linear through a few knots, then Gaussian-smoothed over 0.8 % of the
width, so the warp and its slope are continuous), applied fully on one side of the joint line and not at all
on the other, with a cosine transition ``transition * H`` either side of the line (inside the
dark joint space). Resampling is cubic (``scipy.ndimage.map_coordinates``, order 3), so the
warped half keeps its fine texture. Where the warp magnifies (the soft tissue beside a squeezed
bone), the fine grain lost by magnification is replaced by isotropic noise at the original
grain's local level; no seam, no flat fill.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

__all__ = ["joint_rows", "squeeze_half", "enlarge_condyle", "SPAN"]

#: Half-width of the warped span around the image's centre column, as a fraction of the width:
#: the bone of the OAI crops lies within it; the soft tissue outside is what a squeeze stretches.
SPAN = 0.49
#: Half-width (fraction of the width) of the central strip, notch and tibial spines, that
#: :func:`enlarge_condyle` shifts without distorting.
NOTCH_HALF = 0.08


def joint_rows(g: np.ndarray, band: tuple[float, float] = (0.3, 0.75)) -> np.ndarray:
    """Per-column row of the femorotibial joint line: darkest row of a smoothed column profile
    within ``band`` (fractions of H), median-filtered and smoothed across columns."""
    h, w = g.shape
    gs = ndi.gaussian_filter(np.asarray(g, dtype=np.float32), (0.015 * h, 0.02 * w))
    r0, r1 = int(band[0] * h), int(band[1] * h)
    rows = np.argmin(gs[r0:r1], axis=0).astype(float) + r0
    rows = ndi.median_filter(rows, size=max(3, (w // 6) | 1), mode="nearest")
    return ndi.gaussian_filter1d(rows, 0.08 * w, mode="nearest")


def _column_map(w: int, knots_out: list[float], knots_src: list[float], smooth: float) -> tuple[np.ndarray, np.ndarray]:
    """Source column of every output column (piecewise linear through the knots, then Gaussian
    smoothed: a positive kernel keeps the map monotone and makes it and its slope continuous),
    and the map's slope."""
    x = np.arange(w, dtype=float)
    xs = np.interp(x, knots_out, knots_src)
    xs = ndi.gaussian_filter1d(xs, max(1.0, smooth * w), mode="nearest")
    return xs, np.gradient(xs)


def _warp(g: np.ndarray, knots_out: list[float], knots_src: list[float], side: str, transition: float,
          offset: float = 0.0, margins: tuple[float, float] | None = None, seed: int = 0) -> np.ndarray:
    """Apply the column map through the knots on one side (``"femur"``: above the joint line,
    ``"tibia"``: below it). ``margins``: output columns left of ``margins[0]`` and right of
    ``margins[1]`` are stretched soft tissue; their lost fine grain is replaced (module docstring)."""
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
    if margins is not None:
        # Magnified soft tissue loses its fine grain (quantum noise, film grain). Put it back:
        # the warped grain is replaced by Gaussian noise of the original grain's local level,
        # correlated over the same scale - isotropic, so no streaks and no copied structure.
        rng = np.random.default_rng(seed)
        detail = g - ndi.gaussian_filter(g, 1.0)
        level = np.sqrt(ndi.gaussian_filter(detail ** 2, 0.05 * h))
        noise = ndi.gaussian_filter(rng.standard_normal((h, w)), 0.6)
        noise = noise - ndi.gaussian_filter(noise, 1.0)  # the same band as ``detail``
        noise *= 1.0 / max(float(noise.std()), 1e-6)
        warped_detail = ndi.map_coordinates(detail, [src_y, src_x], order=3, mode="nearest")
        loss = np.clip(2.0 * (1.0 - slope), 0.0, 1.0)  # fully replaced where magnified 2x or more
        loss = loss * ((x < margins[0]) | (x > margins[1]))
        loss = ndi.gaussian_filter1d(loss, 1.5)
        wgt = t * loss[None, :]
        out = out + wgt * (level * noise - warped_detail)
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
    return _warp(g, out_k, src_k, side, transition, offset=offset, margins=(c - factor * a, c + factor * a),
                 seed=seed)


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

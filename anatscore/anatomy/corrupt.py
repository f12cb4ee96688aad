"""Controlled corruptions of real radiographs with a known anatomical defect.

Used by the accuracy benchmark (``benchmarks/anatomy_cases/msk.py``) and the real-data tests:
each function takes a float grey image in [0, 1] (bright = bone) and returns a corrupted copy
of the same shape and range. They locate the structure they alter by their own simple means
(not by the check that should detect the defect), so a check cannot pass by sharing a bug with
the corruption.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from scipy import ndimage as ndi

__all__ = [
    "close_joint_space", "scramble_texture_patches", "scramble_texture_phase", "remove_lateral_bone",
    "remove_fibula",
    "duplicate_digit", "delete_digit", "remove_forearm_bone", "fuse_forearm_bones", "fuse_carpal_gaps",
    "fuse_phalanges", "insert_phalanx", "remove_phalanx", "remove_digit_ray",
    "fuse_joint", "bridge_joint", "distort_joint_contour",
    "knee_joint_line", "knee_gap_depth", "warp_joint_surface", "bump_joint_surface", "wave_joint_surface",
    "remove_vertebral_level", "duplicate_vertebral_level", "fuse_disc_space", "smear_spine_column",
]


def _joint_line_rows(g: np.ndarray, band: tuple[float, float] = (0.25, 0.75)) -> np.ndarray:
    """Per-column row of the darkest point of a heavily smoothed profile (the joint space)."""
    h, w = g.shape
    gs = ndi.gaussian_filter(g, (0.015 * h, 0.02 * w))
    r0, r1 = int(band[0] * h), int(band[1] * h)
    rows = np.argmin(gs[r0:r1], axis=0) + r0
    return ndi.median_filter(rows.astype(float), size=max(3, (w // 8) | 1), mode="nearest")


def close_joint_space(g: np.ndarray, half_width: float = 0.08, seed: int = 0) -> np.ndarray:
    """Fill the joint space of a knee AP with bone (a fused joint).

    The joint line is found as the darkest row of a smoothed column profile in the central band;
    rows within ``half_width * H`` of it are replaced by a blend of the bone intensity just above
    and below plus the mean-free bone texture of the tibia further down (so the fill is
    textured bone, not a flat bar), with a smooth transition at the edges of the fill.
    """
    g = np.asarray(g, dtype=np.float32)
    h, w = g.shape
    rows = _joint_line_rows(g)
    hw = max(2, int(half_width * h))
    out = g.copy()
    rr = np.arange(h)[:, None]
    dist = rr - rows[None, :]
    # Bone level above/below the fill, per column.
    cols = np.arange(w)
    up = np.clip(rows.astype(int) - hw - np.arange(1, hw + 1)[:, None], 0, h - 1)
    dn = np.clip(rows.astype(int) + hw + np.arange(1, hw + 1)[:, None], 0, h - 1)
    lvl_up = np.percentile(g[up, cols[None, :]], 75, axis=0)
    lvl_dn = np.percentile(g[dn, cols[None, :]], 75, axis=0)
    t = np.clip((dist + hw) / (2 * hw), 0, 1)
    level = (1 - t) * lvl_up[None, :] + t * lvl_dn[None, :]
    # Texture: mean-free patch of bone from below the fill (shifted down by 3 half-widths).
    src = np.clip(rr + 3 * hw, 0, h - 1)
    tex = g[src, cols[None, :]] - ndi.gaussian_filter(g, 0.02 * h)[src, cols[None, :]]
    fill = level + tex
    # Only darker-than-bone pixels are lifted (max), so a joint line estimate a few pixels off
    # still closes the whole gap; a soft 3-pixel transition at the ends of the window.
    weight = np.clip((hw + 2 - np.abs(dist)) / 3.0, 0, 1)
    out = (1 - weight) * g + weight * np.maximum(g, fill)
    return np.clip(out, 0, 1).astype(np.float32)


def scramble_texture_patches(g: np.ndarray, patch: float = 0.04, seed: int = 0) -> np.ndarray:
    """Random trabecular pattern: shuffle and randomly rotate patches of the fine detail.

    The image is split into a smooth layer (Gaussian, sigma = 1.5 % of H) and a detail layer;
    square patches (``patch * H``) of the detail layer are permuted and each rotated by a random
    multiple of 90 degrees (and randomly transposed), so bone outlines, density and the amount of
    texture are kept but the orientation of the trabeculae becomes random.
    """
    rng = np.random.default_rng(seed)
    g = np.asarray(g, dtype=np.float32)
    h, w = g.shape
    smooth = ndi.gaussian_filter(g, max(1.0, 0.015 * h))
    detail = g - smooth
    p = max(4, int(patch * h))
    nr, nc = h // p, w // p
    tiles = [detail[i * p:(i + 1) * p, j * p:(j + 1) * p] for i in range(nr) for j in range(nc)]
    order = rng.permutation(len(tiles))
    new = detail.copy()
    for k, (i, j) in enumerate((i, j) for i in range(nr) for j in range(nc)):
        t = np.rot90(tiles[order[k]], int(rng.integers(4)))
        if rng.random() < 0.5:
            t = t.T
        new[i * p:(i + 1) * p, j * p:(j + 1) * p] = t
    return np.clip(smooth + new, 0, 1).astype(np.float32)


def scramble_texture_phase(g: np.ndarray, seed: int = 0) -> np.ndarray:
    """Random trabecular pattern: replace the detail layer by isotropic phase-randomised noise.

    The detail layer's amplitude spectrum is averaged over orientation (radially), given random
    phases and transformed back, then scaled to the detail layer's local standard deviation: the
    texture keeps its grain size and strength but loses any preferred orientation.
    """
    rng = np.random.default_rng(seed)
    g = np.asarray(g, dtype=np.float32)
    h, w = g.shape
    smooth = ndi.gaussian_filter(g, max(1.0, 0.015 * h))
    detail = (g - smooth).astype(np.float64)
    F = np.fft.fft2(detail)
    amp = np.abs(F)
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.fftfreq(w)[None, :]
    rad = np.hypot(fy, fx)
    bins = np.minimum((rad / rad.max() * 64).astype(int), 63)
    radial = np.bincount(bins.ravel(), amp.ravel(), 64) / np.maximum(np.bincount(bins.ravel(), minlength=64), 1)
    phase = np.exp(2j * np.pi * rng.random((h, w)))
    noise = np.real(np.fft.ifft2(radial[bins] * phase))
    s_loc = np.sqrt(ndi.gaussian_filter(detail**2, 0.05 * h))
    n_loc = np.sqrt(ndi.gaussian_filter(noise**2, 0.05 * h))
    noise = noise * s_loc / np.maximum(n_loc, 1e-9)
    return np.clip(smooth + noise, 0, 1).astype(np.float32)


def remove_lateral_bone(g: np.ndarray, rows: tuple[float, float] = (0.62, 1.0), seed: int = 0) -> np.ndarray:
    """Remove the fibula from a knee AP crop: inpaint the bone lateral to the tibia with soft tissue.

    Below the joint (``rows`` as fractions of H), the tibial shaft is taken as the widest bright
    run around the image centre, found per row on a smoothed profile at the level midway between
    the row's central bone and its darkest soft tissue; everything outside it, on both sides, is
    replaced by the soft-tissue level of that row (its 10th percentile) plus fine noise copied
    from the soft tissue, with a soft transition at the tibial edge. Both sides are cleared
    because the fibula's side is not assumed.
    """
    rng = np.random.default_rng(seed)
    g = np.asarray(g, dtype=np.float32)
    h, w = g.shape
    out = g.copy()
    gs = ndi.gaussian_filter(g, (0.01 * h, 0.02 * w))
    r0 = int(rows[0] * h)
    fine = g - ndi.gaussian_filter(g, 1.5)
    soft_noise = fine * 0.5
    left_edges, right_edges = [], []
    for r in range(r0, h):
        prof = gs[r]
        centre = prof[int(0.4 * w):int(0.6 * w)].mean()
        soft = np.percentile(prof, 5)
        thr = soft + 0.5 * (centre - soft)
        c = w // 2
        lo = c
        while lo > 0 and prof[lo - 1] > thr:
            lo -= 1
        hi = c
        while hi < w - 1 and prof[hi + 1] > thr:
            hi += 1
        left_edges.append(lo)
        right_edges.append(hi)
    # The tibial shaft narrows downwards; fibula overlap widens the run: use a robust straight
    # edge fitted to the narrowest part (lower half of the band) and extended upwards.
    ys = np.arange(r0, h)
    lower = ys >= (r0 + h) / 2
    lo_fit = np.polyfit(ys[lower], np.array(left_edges)[lower], 1)
    hi_fit = np.polyfit(ys[lower], np.array(right_edges)[lower], 1)
    cols = np.arange(w)
    for r in ys:
        lo, hi = np.polyval(lo_fit, r), np.polyval(hi_fit, r)
        soft = float(np.percentile(g[r], 8))
        ramp_l = np.clip((cols - (lo - 3)) / 3.0, 0, 1)  # 0 outside (left), 1 inside
        ramp_r = np.clip(((hi + 3) - cols) / 3.0, 0, 1)
        keep = np.minimum(ramp_l, ramp_r)
        # Rows near the joint keep their bone (the tibial plateau is wider than the shaft).
        fade = np.clip((r - r0) / (0.06 * h), 0, 1)
        keep = 1 - fade * (1 - keep)
        fill = soft + soft_noise[r] + 0.005 * rng.standard_normal(w)
        out[r] = keep * g[r] + (1 - keep) * fill
    return np.clip(out, 0, 1).astype(np.float32)


def _walk(prof: np.ndarray, start: int, thr: float, step: int) -> int:
    """Index where a walk from ``start`` in direction ``step`` leaves the run above ``thr``."""
    x = start
    while 0 < x < prof.size - 1 and prof[x + step] > thr:
        x += step
    return x


def remove_fibula(g: np.ndarray, side: str, top: float = 0.62, margin: float = 0.01) -> np.ndarray:
    """Remove the fibular head from a knee AP crop; the lateral soft tissue is taken from the
    medial side.

    ``side`` is the image side (``"left"`` or ``"right"``) the fibula is on. In the OAI-derived
    crops of ``real/xray/knee_kl`` a left knee (file name ``...L.png``) has it on the image's
    right, a right knee on the image's left (:func:`anatscore.anatomy.fibula.side_from_name`).

    The tibia's centre column is the median midpoint of its bright run over the rows just below
    ``top`` (fraction of H; the plateau, above the fibular head). Below ``top``, on every row,
    the medial edge of the tibia is found by walking from the image centre towards the medial
    border until the smoothed profile drops below the level midway between the central bone and
    the row's 5th-percentile soft tissue; the lateral edge is put at the mirror image of that
    edge (plus ``margin`` of W), i.e. the tibia is taken as symmetric. Everything lateral to it
    is replaced by the horizontally mirrored image, i.e. by the medial soft tissue at the same
    distance from the border - real soft-tissue texture and level, with the crop's own border,
    and no fibular cortex left - blended over ~1.5 px.

    An earlier remover (:func:`remove_lateral_bone`) fills both sides row by row with a constant
    plus noise, which leaves horizontal streaks that any texture statistic detects; this one
    leaves none, so a detector has to find the bone, not the edit.
    """
    if side not in ("left", "right"):
        raise ValueError(f"side must be 'left' or 'right', got {side!r}")
    g = np.asarray(g, dtype=np.float32)
    h, w = g.shape
    sgn = 1 if side == "right" else -1
    gs = ndi.gaussian_filter(g, (0.01 * h, 0.02 * w))

    def edges(r: int) -> tuple[int, int]:
        prof = gs[r]
        centre = float(prof[int(0.4 * w):int(0.6 * w)].mean())
        soft = float(np.percentile(prof, 5))
        thr = soft + 0.5 * (centre - soft)
        return _walk(prof, w // 2, thr, -1), _walk(prof, w // 2, thr, 1)

    r0 = int(top * h)
    plateau = [edges(r) for r in range(r0, min(h, r0 + max(2, int(0.05 * h))))]
    ctr = float(np.median([(a + b) / 2 for a, b in plateau]))
    cols = np.arange(w)
    mask = np.zeros(g.shape, bool)
    for r in range(r0, h):
        lo, hi = edges(r)
        medial_half = (ctr - lo) if sgn > 0 else (hi - ctr)
        edge = ctr + sgn * (medial_half + margin * w)
        mask[r] = sgn * (cols - edge) > 0
    wgt = np.clip(ndi.gaussian_filter(mask.astype(np.float32), 1.5), 0, 1)
    wgt[:r0] = 0.0  # rows above the fibular head stay untouched
    out = (1 - wgt) * g + wgt * g[:, ::-1]
    return np.clip(out, 0, 1).astype(np.float32)


def _digit_strips(g: np.ndarray, top: float = 0.45) -> list[tuple[int, int]]:
    """Column ranges of the fingers of an upright PA hand (fingertips at the top).

    Fingers are the bright humps of the column profile of the top ``top`` of the image (smoothed
    over 1.5 % of the width); each strip runs from the valley before a hump to the one after it.
    """
    from scipy.signal import find_peaks

    h, w = g.shape
    prof = ndi.gaussian_filter1d(g[: int(top * h)].mean(axis=0), 0.015 * w)
    peaks, _ = find_peaks(prof, prominence=0.1 * (prof.max() - prof.min()))
    strips = []
    for p in peaks:
        lo = p
        while lo > 0 and prof[lo - 1] < prof[lo]:
            lo -= 1
        hi = p
        while hi < w - 1 and prof[hi + 1] < prof[hi]:
            hi += 1
        strips.append((int(lo), int(hi)))
    return strips


def duplicate_digit(g: np.ndarray, which: int = 1, rows: float = 0.72) -> np.ndarray:
    """An extra digit: the column strip of finger ``which`` (from the left, fingers found by
    :func:`_digit_strips`) is copied and inserted beside it over the top ``rows`` of the image
    (finger and metacarpal), the rows below being widened by edge padding so the image stays
    rectangular; the result is resized back to the input width."""
    from skimage.transform import resize

    strips = _digit_strips(g)
    if not strips:
        raise ValueError("no fingers found to duplicate")
    lo, hi = strips[min(which, len(strips) - 1)]
    h, w = g.shape
    r = int(rows * h)
    top = np.concatenate([g[:r, :hi], g[:r, lo:hi], g[:r, hi:]], axis=1)
    bottom = np.concatenate([g[r:, :hi], np.repeat(g[r:, hi - 1: hi], hi - lo, axis=1), g[r:, hi:]], axis=1)
    out = np.concatenate([top, bottom], axis=0)
    return np.clip(resize(out, (h, w), order=1, anti_aliasing=True), 0, 1).astype(np.float32)


def delete_digit(g: np.ndarray, which: int = 2, rows: float = 0.72) -> np.ndarray:
    """A missing digit: the column strip of finger ``which`` is replaced, over the top ``rows``
    of the image, by the darker of the two columns bounding it (the web space / air), with fine
    noise taken from those columns, so the finger and its metacarpal disappear."""
    strips = _digit_strips(g)
    if not strips:
        raise ValueError("no fingers found to delete")
    lo, hi = strips[min(which, len(strips) - 1)]
    h, w = g.shape
    r = int(rows * h)
    out = g.copy()
    left, right = g[:r, max(lo - 1, 0)], g[:r, min(hi + 1, w - 1)]
    edge = np.minimum(left, right)[:, None]
    rng = np.random.default_rng(0)
    noise = rng.permutation(np.concatenate([left, right]))[: (hi - lo + 1) * r].reshape(-1)
    noise = np.resize(noise - noise.mean(), (r, hi - lo + 1)) * 0.3
    out[:r, lo:hi + 1] = np.clip(edge + noise, 0, 1)
    return out.astype(np.float32)


def _limb_frame(g: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Rotation angle, rotated image and rotated bone guess of a limb radiograph.

    The bone guess is an Otsu threshold of the Gaussian-smoothed image inside its brighter half
    (independent of :mod:`anatscore.anatomy.segment`)."""
    from skimage.filters import threshold_otsu

    from .scanlines import principal_angle, rotate

    gs = ndi.gaussian_filter(g, 1.5)
    body = gs > threshold_otsu(gs)
    guess = body & (gs > threshold_otsu(gs[body]))
    guess = ndi.binary_opening(guess, iterations=2)
    angle = principal_angle(guess)
    return angle, rotate(g, -angle, 1), rotate(guess, -angle, 0) > 0.5


def _shaft_pairs(
    rot_guess: np.ndarray, shaft: tuple[float, float]
) -> list[tuple[int, tuple[int, int], tuple[int, int]]]:
    """Shaft scanlines showing exactly one pair of neighbouring bone runs: (row, run, run)."""
    from .scanlines import runs

    ys = np.flatnonzero(rot_guess.any(axis=1))
    ext = ys[-1] - ys[0] + 1
    out = []
    min_len = max(2, int(0.01 * max(rot_guess.shape)))
    for r in range(ys[0] + int(shaft[0] * ext), ys[0] + int(shaft[1] * ext)):
        rr = runs(rot_guess[r], min_len)
        # Neighbouring runs no further apart than 3 widths (not a marker off to the side).
        pairs = [(a, b) for a, b in zip(rr, rr[1:])
                 if b[0] - a[1] <= 3 * max(a[1] - a[0], b[1] - b[0]) + 1]
        if len(pairs) == 1:
            out.append((r, pairs[0][0], pairs[0][1]))
    return out


def _back(g: np.ndarray, rot_new: np.ndarray, rot_changed: np.ndarray, angle: float) -> np.ndarray:
    """Rotate an edited rotated frame back and paste only the edited pixels into ``g``."""
    from .scanlines import rotate

    h, w = g.shape
    new = rotate(rot_new, angle, 1)
    changed = rotate(rot_changed.astype(np.float32), angle, 1)
    # rotate(resize=True) of the enlarged frame is larger still: crop its centre to g's shape.
    r0, c0 = (new.shape[0] - h) // 2, (new.shape[1] - w) // 2
    new, changed = new[r0:r0 + h, c0:c0 + w], changed[r0:r0 + h, c0:c0 + w]
    wgt = np.clip(ndi.gaussian_filter(changed, 1.0), 0, 1)
    return np.clip((1 - wgt) * g + wgt * new, 0, 1).astype(np.float32)


def remove_forearm_bone(g: np.ndarray, shaft: tuple[float, float] = (0.15, 0.85)) -> np.ndarray:
    """One long bone missing: on the shaft scanlines where the bone guess (an Otsu threshold,
    not the checks' segmentation) shows two bones, the thinner one is replaced by the soft
    tissue level of that scanline (median between the bones and beside them) with a little of
    the soft tissue's texture."""
    g = np.asarray(g, dtype=np.float32)
    angle, rot, guess = _limb_frame(g)
    pairs = _shaft_pairs(guess, shaft)
    if not pairs:
        raise ValueError("no two-bone shaft found")
    thin = int(np.median([0 if (a[1] - a[0]) < (b[1] - b[0]) else 1 for _, a, b in pairs]))
    out = rot.copy()
    changed = np.zeros_like(guess)
    for r, a, b in pairs:
        lo, hi = (a if thin == 0 else b)
        pad = max(2, (hi - lo) // 4)
        between = rot[r, a[1] + 1: b[0]]
        soft = float(np.median(between)) if between.size else float(np.percentile(rot[r], 20))
        out[r, lo - pad: hi + pad + 1] = soft
        changed[r, lo - pad: hi + pad + 1] = True
    noise = (rot - ndi.gaussian_filter(rot, 1.5)) * 0.5
    out = np.where(changed, out + noise, out)
    return _back(g, out, changed, angle)


def fuse_forearm_bones(g: np.ndarray, shaft: tuple[float, float] = (0.15, 0.85)) -> np.ndarray:
    """The two long bones fused (synostosis): on the shaft scanlines with two bones (Otsu bone
    guess), the interosseous space between them is filled with the bones' own level."""
    g = np.asarray(g, dtype=np.float32)
    angle, rot, guess = _limb_frame(g)
    pairs = _shaft_pairs(guess, shaft)
    if not pairs:
        raise ValueError("no two-bone shaft found")
    out = rot.copy()
    changed = np.zeros_like(guess)
    for r, a, b in pairs:
        level = float(np.median(np.concatenate([rot[r, a[0]: a[1] + 1], rot[r, b[0]: b[1] + 1]])))
        out[r, a[1] - 1: b[0] + 2] = np.maximum(rot[r, a[1] - 1: b[0] + 2], level)
        changed[r, a[1] - 1: b[0] + 2] = True
    return _back(g, out, changed, angle)


def fuse_carpal_gaps(
    g: np.ndarray, centre: tuple[float, float], radius: float, gap: float = 0.15, seed: int = 0
) -> np.ndarray:
    """A fused carpus: close the intercarpal joint spaces inside a disk with bone.

    The disk (``centre`` as (row, col) fractions of (H, W), ``radius`` as a fraction of the
    shorter side) is given by the caller - for the real wrists of the benchmark it was marked
    by eye around the carpus, not found by the check that should detect the fusion. Inside it
    the image is replaced by its grey-scale closing with a disk of ``gap`` times the disk's radius
    (:func:`scipy.ndimage.grey_closing`): every dark valley narrower than that - the gaps
    between the carpal bones - is lifted to the level of the bone on either side, while the
    bright trabecular texture stays. Fine noise at the image's own level (median absolute
    deviation of its high-pass) is added back so the fill is not smoother than the film, and
    the edge of the disk is feathered over 3 % of the shorter side.
    """
    rng = np.random.default_rng(seed)
    g = np.asarray(g, dtype=np.float32)
    h, w = g.shape
    side = min(h, w)
    r = radius * side
    k = max(2, int(round(gap * r)))
    yy, xx = np.mgrid[-k: k + 1, -k: k + 1]
    # Only the disk's bounding box (plus the closing's reach) is processed.
    m = int(r + 2 * k + 2)
    y0, y1 = max(0, int(centre[0] * h) - m), min(h, int(centre[0] * h) + m + 1)
    x0, x1 = max(0, int(centre[1] * w) - m), min(w, int(centre[1] * w) + m + 1)
    sub = g[y0:y1, x0:x1]
    closed = ndi.grey_closing(sub, footprint=(yy**2 + xx**2) <= k * k)
    hp = g - ndi.gaussian_filter(g, 1.0)
    sigma_n = 1.4826 * float(np.median(np.abs(hp - np.median(hp))))
    closed = closed + sigma_n * rng.standard_normal(sub.shape).astype(np.float32)
    rr, cc = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    d = np.hypot(rr - centre[0] * h, cc - centre[1] * w)
    weight = np.clip((r - d) / max(1.0, 0.03 * side) + 0.5, 0, 1)
    out = g.copy()
    out[y0:y1, x0:x1] = (1 - weight) * sub + weight * closed
    return np.clip(out, 0, 1).astype(np.float32)


# --- phalanges (branch digits) -------------------------------------------------------------
# A digit is given by two points, its MCP joint and its tip ((row, col), full resolution), and
# joints by their distance from the MCP along the MCP->tip line (``s``). The callers take these
# from an annotation of the image (benchmarks/anatomy_cases/digits.py), not from the check.
# Each edit remaps the pixels of a strip around the digit's line: a pixel at (s, t) (along,
# across) takes the value at (src(s), t), blended into the image over a soft strip edge.


def _digit_remap(g: np.ndarray, mcp: tuple[float, float], tip: tuple[float, float], half_width: float,
                 src: Callable[[np.ndarray], np.ndarray], reach: float) -> np.ndarray:
    """Remap the strip ``|t| <= half_width``, ``-half_width <= s <= reach`` of the digit line
    MCP->tip: each pixel takes ``g`` at ``(src(s), t)`` (bilinear); the strip's edge is blended
    over 3 px."""
    g = np.asarray(g, dtype=np.float32)
    m, tp = np.asarray(mcp, float), np.asarray(tip, float)
    u = (tp - m) / max(float(np.hypot(*(tp - m))), 1e-9)
    n = np.array([-u[1], u[0]])
    rr, cc = np.mgrid[: g.shape[0], : g.shape[1]].astype(np.float32)
    s = (rr - m[0]) * u[0] + (cc - m[1]) * u[1]
    t = (rr - m[0]) * n[0] + (cc - m[1]) * n[1]
    edge = 3.0
    wgt = np.clip((half_width - np.abs(t)) / edge, 0, 1) * np.clip((s + half_width) / edge, 0, 1) \
        * np.clip((reach - s) / edge, 0, 1)
    box = wgt > 0
    s_src = src(s[box])
    coords = np.stack([m[0] + s_src * u[0] + t[box] * n[0], m[1] + s_src * u[1] + t[box] * n[1]])
    vals = ndi.map_coordinates(g, coords, order=1, mode="nearest")
    out = g.copy()
    out[box] = (1 - wgt[box]) * g[box] + wgt[box] * vals
    return np.clip(out, 0, 1).astype(np.float32)


def _digit_frame(mcp: tuple[float, float], tip: tuple[float, float], joint: tuple[float, float]) -> tuple[float, float]:
    """(``s`` of ``joint`` along MCP->tip, digit length MCP->tip)."""
    m, tp, j = (np.asarray(x, float) for x in (mcp, tip, joint))
    length = float(np.hypot(*(tp - m)))
    return float(np.dot(j - m, (tp - m) / max(length, 1e-9))), length


def fuse_phalanges(g: np.ndarray, mcp: tuple[float, float], tip: tuple[float, float], joint: tuple[float, float],
                   half_width: float, gap: float = 0.05) -> np.ndarray:
    """Two phalanges fused (ankylosis): the interphalangeal joint at ``joint`` bridged by bone.

    In the band ``|s - s_joint| <= gap * L`` (``L`` = MCP-to-tip length; wide enough for the
    joint space and both subchondral plates), each across-position ``t`` takes the linear
    blend of the lightly smoothed image (Gaussian, 1.5 px) at the band's two ends, plus the fine
    texture (image minus its smoothed copy) of the bone ``2.2 * gap * L`` further proximal: the
    flared bone ends join smoothly, the joint line disappears and the texture stays bone-like.
    """
    g = np.asarray(g, dtype=np.float32)
    sj, length = _digit_frame(mcp, tip, joint)
    hg = max(2.0, gap * length)
    m, tp = np.asarray(mcp, float), np.asarray(tip, float)
    u = (tp - m) / max(length, 1e-9)
    n = np.array([-u[1], u[0]])
    rr, cc = np.mgrid[: g.shape[0], : g.shape[1]].astype(np.float32)
    s = (rr - m[0]) * u[0] + (cc - m[1]) * u[1]
    t = (rr - m[0]) * n[0] + (cc - m[1]) * n[1]
    edge = 2.0
    wgt = np.clip((half_width - np.abs(t)) / edge, 0, 1) * np.clip((hg + edge - np.abs(s - sj)) / edge, 0, 1)
    box = wgt > 0
    sm = ndi.gaussian_filter(g, 1.5)
    tex = g - sm

    def at(img: np.ndarray, sv: np.ndarray | float) -> np.ndarray:
        sv = np.broadcast_to(sv, t[box].shape)
        return ndi.map_coordinates(img, np.stack([m[0] + sv * u[0] + t[box] * n[0], m[1] + sv * u[1] + t[box] * n[1]]),
                                   order=1, mode="nearest")

    lo, hi = at(sm, sj - hg - 1.0), at(sm, sj + hg + 1.0)
    w = np.clip((s[box] - (sj - hg)) / (2 * hg), 0, 1)
    fill = (1 - w) * lo + w * hi + at(tex, s[box] - 2.2 * hg)
    out = g.copy()
    out[box] = (1 - wgt[box]) * g[box] + wgt[box] * fill
    return np.clip(out, 0, 1).astype(np.float32)


def insert_phalanx(g: np.ndarray, mcp: tuple[float, float], tip: tuple[float, float],
                   proximal_joint: tuple[float, float], distal_joint: tuple[float, float], half_width: float) -> np.ndarray:
    """An extra phalanx: the bone between ``proximal_joint`` and ``distal_joint`` (a phalanx with
    the joint at its distal end) is repeated, everything distal to it (the rest of the digit and
    its soft-tissue tip) moving out by its length, so the digit is longer by one phalanx."""
    sa, length = _digit_frame(mcp, tip, proximal_joint)
    sb, _ = _digit_frame(mcp, tip, distal_joint)
    lp = sb - sa
    if lp <= 2:
        raise ValueError("distal_joint must lie distal to proximal_joint")
    return _digit_remap(g, mcp, tip, half_width, lambda s: np.where(s >= sb, s - lp, s),
                        reach=length + lp + 0.15 * length)


def remove_phalanx(g: np.ndarray, mcp: tuple[float, float], tip: tuple[float, float],
                   proximal_joint: tuple[float, float], distal_joint: tuple[float, float], half_width: float) -> np.ndarray:
    """A missing phalanx: the bone between ``proximal_joint`` and ``distal_joint`` is cut out and
    the distal rest of the digit moves in by its length (behind it, the air just beyond the
    tip's soft tissue), so the digit is one phalanx shorter with its joints intact."""
    sa, length = _digit_frame(mcp, tip, proximal_joint)
    sb, _ = _digit_frame(mcp, tip, distal_joint)
    lp = sb - sa
    if lp <= 2:
        raise ValueError("distal_joint must lie distal to proximal_joint")
    beyond = 1.12 * length  # past the tip's soft tissue: air, sampled for everything further out
    return _digit_remap(g, mcp, tip, half_width, lambda s: np.where(s >= sa, np.minimum(s + lp, beyond), s),
                        reach=length + 0.15 * length)


def remove_digit_ray(g: np.ndarray, ray: "list[tuple[float, float]] | tuple[tuple[float, float], ...]",
                     half_widths: "list[float] | tuple[float, ...]", beyond_tip: float = 12.0, seed: int = 0) -> np.ndarray:
    """A missing digit (ray): a whole digit with its metacarpal is replaced by what lies beside it.

    ``ray`` is a polyline (row, col) from the fingertip to the metacarpal base; ``half_widths``
    (one per vertex, interpolated between them) reach to about midway to the neighbouring rays.
    The polyline is extended ``beyond_tip`` px past the tip (the finger's soft tissue). Every
    pixel within the half-width of the polyline takes the linear blend, across the ray, of the
    lightly smoothed image at the two edges of the band (web-space air between fingers, palm soft
    tissue between metacarpals), plus fine texture (image minus its smoothed copy) from a band
    beside the ray, so no bony stump or straight cut edge is left. Unlike :func:`delete_digit`
    (a vertical column strip), this follows the ray's own slant.
    """
    from scipy.spatial import cKDTree

    g = np.asarray(g, dtype=np.float32)
    pts = np.asarray(ray, float)
    hws = np.asarray(half_widths, float)
    if pts.ndim != 2 or len(pts) < 2 or len(hws) != len(pts):
        raise ValueError("ray needs >= 2 (row, col) vertices and one half-width per vertex")
    d0 = (pts[0] - pts[1]) / max(float(np.hypot(*(pts[0] - pts[1]))), 1e-9)
    pts = np.vstack([pts[0] + beyond_tip * d0, pts])
    hws = np.concatenate([[hws[0]], hws])
    # Dense samples along the polyline with their tangent and half-width.
    seg_len = np.hypot(*np.diff(pts, axis=0).T)
    cum = np.concatenate([[0], np.cumsum(seg_len)])
    s = np.arange(0, cum[-1], 0.5)
    samp = np.stack([np.interp(s, cum, pts[:, 0]), np.interp(s, cum, pts[:, 1])], axis=1)
    hw = np.interp(s, cum, hws)
    tan = np.gradient(samp, axis=0)
    tan /= np.maximum(np.hypot(tan[:, 0], tan[:, 1]), 1e-9)[:, None]
    nrm = np.stack([-tan[:, 1], tan[:, 0]], axis=1)
    r0, c0 = np.floor(samp.min(0) - hws.max() - 2).astype(int)
    r1, c1 = np.ceil(samp.max(0) + hws.max() + 2).astype(int)
    r0, c0 = max(r0, 0), max(c0, 0)
    r1, c1 = min(r1, g.shape[0] - 1), min(c1, g.shape[1] - 1)
    rr, cc = np.mgrid[r0: r1 + 1, c0: c1 + 1]
    pix = np.stack([rr.ravel(), cc.ravel()], axis=1).astype(float)
    _, k = cKDTree(samp).query(pix)
    off = pix - samp[k]
    t = np.sum(off * nrm[k], axis=1)
    along = np.sum(off * tan[k], axis=1)
    inside = (np.abs(t) <= hw[k]) & ((k > 0) & (k < len(s) - 1) | (np.abs(along) < 1.0))
    sm = ndi.gaussian_filter(g, 1.5)
    tex = g - sm
    p, kk, tt = pix[inside], k[inside], t[inside]
    left = samp[kk] - hw[kk, None] * nrm[kk]
    right = samp[kk] + hw[kk, None] * nrm[kk]
    vl = ndi.map_coordinates(sm, left.T, order=1, mode="nearest")
    vr = ndi.map_coordinates(sm, right.T, order=1, mode="nearest")
    w = (tt + hw[kk]) / (2 * hw[kk])
    rng = np.random.default_rng(seed)
    side = np.where(rng.random(len(p)) < 0.5, -1.0, 1.0)[:, None]
    src = p + side * (2.2 * hw[kk, None]) * nrm[kk]  # texture from beside the ray
    fill = (1 - w) * vl + w * vr + ndi.map_coordinates(tex, src.T, order=1, mode="nearest")
    out = g.copy()
    # Soft edge: blend over the outer 2 px of the band.
    blend = np.clip((hw[kk] - np.abs(tt)) / 2.0, 0, 1)
    ri, ci = p[:, 0].astype(int), p[:, 1].astype(int)
    out[ri, ci] = (1 - blend) * g[ri, ci] + blend * fill
    return np.clip(out, 0, 1).astype(np.float32)


def _polyline_frame(shape: tuple[int, int], line_xy: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per pixel: distance to the polyline ``line_xy`` ((x, y) points), the unit normal of the
    nearest segment (x, y), and the index of the nearest segment."""
    pts = np.asarray(line_xy, dtype=np.float64)
    h, w = shape
    yy, xx = np.mgrid[:h, :w].astype(np.float64)
    best = np.full((h, w), np.inf)
    nrm = np.zeros((h, w, 2))
    seg_idx = np.zeros((h, w), dtype=int)
    for k in range(len(pts) - 1):
        a, b = pts[k], pts[k + 1]
        d = b - a
        t = np.clip(((xx - a[0]) * d[0] + (yy - a[1]) * d[1]) / max(float(d @ d), 1e-9), 0, 1)
        dist = np.hypot(xx - (a[0] + t * d[0]), yy - (a[1] + t * d[1]))
        closer = dist < best
        best = np.where(closer, dist, best)
        n = np.array([-d[1], d[0]]) / max(float(np.hypot(*d)), 1e-9)  # normal (x, y)
        nrm[closer] = n
        seg_idx[closer] = k
    return best, nrm, seg_idx


def fuse_joint(g: np.ndarray, line_xy: np.ndarray, half_width: float = 0.02, seed: int = 0) -> np.ndarray:
    """Fill the joint space along a given joint line with textured bone (a fused joint).

    ``line_xy`` is the joint line as (x, y) points in pixels, e.g. read off the radiograph by
    hand (the benchmark's annotations), so the corruption does not depend on the joint finder.
    Within ``half_width * max(H, W)`` of the line (and a little past its two ends) each pixel is
    lifted to the bone level around it - the local maximum of the lightly smoothed image over
    twice the half-width - plus mean-free texture copied from the bone three half-widths away
    along the normal; only darker pixels are lifted (``max``), so a line a few pixels off still
    closes the whole gap; a soft 3-pixel transition at the border of the fill.
    """
    g = np.asarray(g, dtype=np.float32)
    h, w = g.shape
    hw = max(2.0, half_width * max(h, w))
    dist, nrm, _ = _polyline_frame(g.shape, line_xy)
    gs = ndi.gaussian_filter(g, 1.0)
    level = ndi.maximum_filter(gs, size=int(4 * hw) | 1)
    level = ndi.gaussian_filter(level, hw / 2)
    detail = g - ndi.gaussian_filter(g, max(1.0, 0.01 * max(h, w)))
    yy, xx = np.mgrid[:h, :w].astype(np.float64)
    sy = np.clip(yy + 3 * hw * nrm[..., 1], 0, h - 1)
    sx = np.clip(xx + 3 * hw * nrm[..., 0], 0, w - 1)
    tex = ndi.map_coordinates(detail, [sy, sx], order=1)
    fill = 0.95 * level + tex
    weight = np.clip((hw + 2 - dist) / 3.0, 0, 1)
    out = (1 - weight) * g + weight * np.maximum(g, fill)
    return np.clip(out, 0, 1).astype(np.float32)


def bridge_joint(g: np.ndarray, line_xy: np.ndarray, half_width: float = 0.02) -> np.ndarray:
    """Bridge the joint space along a given joint line with bone continuous with both bone ends.

    A realistic fused joint (bony ankylosis): the gap and the two subchondral plates facing it
    are replaced by bone whose level runs linearly from one bone end to the other, so the band
    is neither brighter nor darker than the bone it joins (``fuse_joint`` lifts the band to the
    local *maximum*, the bright subchondral line, and leaves a slab brighter than the bone on
    both sides). Within ``half_width * max(H, W)`` of the line each pixel becomes
    ``(1 - f) a + f b`` plus mean-free texture copied from the bone three half-widths away along
    the normal, where ``a`` and ``b`` are the lightly smoothed image at the two points ``half_width`` + 3 px from the line on
    either side along the normal through the pixel, and ``f`` the pixel's position between them
    (replaced, not ``max``-ed: a fused joint has no subchondral plates left); the fill is complete
    within ``half_width`` and fades out over the next 3 px.
    Past the line's two ends the same interpolation continues (there it joins soft tissue to soft
    tissue). ``line_xy``: (x, y) pixels, e.g. read off the radiograph by hand.
    """
    g = np.asarray(g, dtype=np.float32)
    h, w = g.shape
    hw = max(2.0, half_width * max(h, w))
    pts = np.asarray(line_xy, dtype=np.float64)
    dist, nrm, k = _polyline_frame(g.shape, pts)
    yy, xx = np.mgrid[:h, :w].astype(np.float64)
    signed = (xx - pts[k, 0]) * nrm[..., 0] + (yy - pts[k, 1]) * nrm[..., 1]
    gs = ndi.gaussian_filter(g, 1.0)
    reach = hw + 3.0

    def at(shift: np.ndarray) -> np.ndarray:
        sy = np.clip(yy + shift * nrm[..., 1], 0, h - 1)
        sx = np.clip(xx + shift * nrm[..., 0], 0, w - 1)
        return ndi.map_coordinates(gs, [sy, sx], order=1)

    near = dist < reach + 3
    b = at(np.where(near, reach - signed, 0.0))
    a = at(np.where(near, -reach - signed, 0.0))
    f = np.clip((signed + reach) / (2 * reach), 0.0, 1.0)
    level = (1 - f) * a + f * b
    detail = g - ndi.gaussian_filter(g, max(1.0, 0.01 * max(h, w)))
    sy = np.clip(yy + 3 * hw * nrm[..., 1], 0, h - 1)
    sx = np.clip(xx + 3 * hw * nrm[..., 0], 0, w - 1)
    tex = ndi.map_coordinates(detail, [sy, sx], order=1)
    weight = np.clip((hw + 3 - dist) / 3.0, 0, 1)
    out = (1 - weight) * g + weight * (level + tex)
    return np.clip(out, 0, 1).astype(np.float32)


def distort_joint_contour(g: np.ndarray, line_xy: np.ndarray, at: float = 0.5, amplitude: float = 0.03,
                          sigma: float = 0.06, side: int = 1) -> np.ndarray:
    """Distort one articular contour with a smooth local warp (a deformed joint surface).

    Pixels on one ``side`` of the joint line (+1: the side its normal ``(-dy, dx)`` points to -
    below a line drawn left to right, y down; -1: the other) near the point at fraction ``at`` of the line's length are displaced
    along the line's normal by ``amplitude * max(H, W) * exp(-r^2 / (2 (sigma max(H, W))^2))``
    (``r``: distance to that point); the other bone is untouched, so the two facing contours
    stop being parallel: the joint space bulges (``amplitude`` > 0 moves that contour away from
    the line) or is pinched (< 0) over a stretch of about ``2 sigma`` of the image.
    """
    g = np.asarray(g, dtype=np.float32)
    h, w = g.shape
    L = max(h, w)
    pts = np.asarray(line_xy, dtype=np.float64)
    seglen = np.hypot(*np.diff(pts, axis=0).T)
    cum = np.concatenate(([0.0], np.cumsum(seglen)))
    s = at * cum[-1]
    k = int(np.clip(np.searchsorted(cum, s) - 1, 0, len(pts) - 2))
    t = (s - cum[k]) / max(seglen[k], 1e-9)
    p0 = pts[k] + t * (pts[k + 1] - pts[k])
    dist, nrm, _ = _polyline_frame(g.shape, line_xy)
    yy, xx = np.mgrid[:h, :w].astype(np.float64)
    signed = (xx - p0[0]) * nrm[..., 0] + (yy - p0[1]) * nrm[..., 1]
    on_side = 0.5 * (1.0 + np.tanh(side * signed / 3.0))  # soft step across the line
    r2 = (xx - p0[0]) ** 2 + (yy - p0[1]) ** 2
    disp = amplitude * L * np.exp(-r2 / (2 * (sigma * L) ** 2)) * on_side * side
    # Sample from where the content comes from: moving the contour away from the line by disp
    # means reading the image at (p - disp * n).
    sy = np.clip(yy - disp * nrm[..., 1], 0, h - 1)
    sx = np.clip(xx - disp * nrm[..., 0], 0, w - 1)
    return np.clip(ndi.map_coordinates(g, [sy, sx], order=1), 0, 1).astype(np.float32)


# --- knee articular surfaces: a smooth joint line, a local bump, a wavy surface -------------------

def _knee_valley(g: np.ndarray, reach: float = 0.1) -> tuple[np.ndarray, float]:
    """Valley depth per pixel of a smoothed knee AP (darker than the brightest rows within
    ``reach * H`` above *and* below), and the smoothed image's P90-P10 spread."""
    h, w = g.shape
    gs = ndi.gaussian_filter(np.asarray(g, dtype=np.float64), (0.01 * h, 0.03 * w))
    L = max(3, int(reach * h))
    above = ndi.maximum_filter1d(gs, L, axis=0, origin=(L - 1) // 2)  # rows r-L+1 .. r
    below = ndi.maximum_filter1d(gs, L, axis=0, origin=-(L // 2))  # rows r .. r+L-1
    spread = float(np.percentile(gs, 90) - np.percentile(gs, 10))
    return np.minimum(above, below) - gs, max(spread, 1e-6)


def knee_joint_line(g: np.ndarray, band: tuple[float, float] = (0.3, 0.75)) -> np.ndarray:
    """Row of the femorotibial joint line per column of a knee AP (float, smooth).

    Its own simple means (not the checks'): per column, the row between ``band`` (fractions of
    H) of deepest valley in a smoothed copy (Gaussian 1 % of H down, 3 % of W across), a median
    over W/4 columns, then a Gaussian of 3 % of W, so the line has no steps (a warp along it
    then has no seams). Where a compartment is closed the line may run inside bone: check
    :func:`knee_gap_depth` before distorting a contour there.
    """
    h, w = np.asarray(g).shape
    v, _ = _knee_valley(g)
    r0, r1 = int(band[0] * h), int(band[1] * h)
    rows = np.argmax(v[r0:r1], axis=0) + r0
    rows = ndi.median_filter(rows.astype(float), size=max(3, (w // 4) | 1), mode="nearest")
    return ndi.gaussian_filter1d(rows, 0.03 * w, mode="nearest")


def knee_gap_depth(g: np.ndarray, line_rows: np.ndarray, x: float) -> float:
    """Valley depth of the joint gap at column ``x`` on ``line_rows`` (+-2 rows), relative to the
    smoothed image's P90-P10: about 1 on an open compartment, near 0 where it is closed."""
    v, spread = _knee_valley(g)
    c = int(round(x))
    r = int(round(line_rows[c]))
    return float(v[max(0, r - 2): r + 3, c].max() / spread)


def warp_joint_surface(g: np.ndarray, line_rows: np.ndarray, shift: np.ndarray, side: int = 1,
                       soft: float = 3.0, plateau: float = 0.04, depth: float = 0.06) -> np.ndarray:
    """Move one articular surface of a joint whose line runs across the image by ``shift[x]`` px.

    ``line_rows[x]`` is the joint line (a smooth function of the column, e.g.
    :func:`knee_joint_line`); ``side`` +1 moves the bone below it (tibia), -1 the bone above
    (femur); ``shift`` > 0 moves that surface away from the gap (a dent in the bone), < 0 into
    it. Each pixel at signed distance ``t`` (px, positive into the moved bone) from the line is
    displaced vertically by ``shift[x] * P(t) * D(t)``: ``P`` a soft step across the line
    (``tanh``, half-width ``soft`` px), ``D`` 1 up to ``plateau * H`` into the bone (the whole
    articular end moves, not just the gap) and a Gaussian fall-off of ``depth * H`` beyond. The
    field is smooth, so no seam appears; keep ``soft >= |shift|`` and ``depth * H >= 1.5 |shift|``
    so that it does not fold (the helpers below do).
    """
    g = np.asarray(g, dtype=np.float32)
    h, w = g.shape
    yy = np.arange(h, dtype=np.float64)[:, None]
    t = side * (yy - np.asarray(line_rows, dtype=np.float64)[None, :])
    P = 0.5 * (1.0 + np.tanh(t / soft))
    D = np.exp(-np.clip(t - plateau * h, 0, None) ** 2 / (2 * (depth * h) ** 2))
    d = side * np.asarray(shift, dtype=np.float64)[None, :] * P * D
    sy = np.clip(yy - d, 0, h - 1)
    sx = np.broadcast_to(np.arange(w, dtype=np.float64)[None, :], (h, w))
    return np.clip(ndi.map_coordinates(g, [sy, sx], order=1), 0, 1).astype(np.float32)


def bump_joint_surface(g: np.ndarray, at: float, amplitude: float = 0.02, sigma: float = 0.03, side: int = 1,
                       line_rows: "np.ndarray | None" = None) -> np.ndarray:
    """A local dent (``amplitude`` > 0, away from the gap) or protrusion (< 0) of one articular
    surface of a knee AP: a Gaussian of ``amplitude * H`` px and width ``sigma * H`` centred at
    column ``at * W`` (:func:`warp_joint_surface` along :func:`knee_joint_line`)."""
    h, w = np.asarray(g).shape
    line = knee_joint_line(g) if line_rows is None else line_rows
    a = amplitude * h
    x = np.arange(w, dtype=np.float64)
    shift = a * np.exp(-(x - at * w) ** 2 / (2 * (sigma * h) ** 2))
    return warp_joint_surface(g, line, shift, side, soft=max(3.0, abs(a)), depth=max(sigma, 1.5 * abs(amplitude)))


def wave_joint_surface(g: np.ndarray, start: float, stop: float, period: float = 0.08, amplitude: float = 0.01,
                       side: int = 1, line_rows: "np.ndarray | None" = None) -> np.ndarray:
    """A wavy articular surface of a knee AP: one surface rippled by a sine of ``amplitude * H``
    px and wavelength ``period * H`` between columns ``start * W`` and ``stop * W`` (raised-cosine
    ends a quarter wavelength long), along :func:`knee_joint_line`."""
    h, w = np.asarray(g).shape
    line = knee_joint_line(g) if line_rows is None else line_rows
    x = np.arange(w, dtype=np.float64)
    a0, b0 = start * w, stop * w
    ramp = np.clip(np.minimum(x - a0, b0 - x) / (0.25 * period * h), 0, 1)
    win = 0.5 - 0.5 * np.cos(np.pi * ramp)
    a = amplitude * h
    shift = a * np.sin(2 * np.pi * (x - a0) / (period * h)) * win
    return warp_joint_surface(g, line, shift, side, soft=max(3.0, abs(a)),
                              depth=max(0.5 * period, 1.5 * abs(amplitude)))


# --- the spine column: a level removed, a level duplicated, a disc space fused -----------------

def _column_weight(w: int, centre_x: float, half_width: float) -> np.ndarray:
    """Horizontal blending weight of a column band: 1 within ``half_width`` of ``centre_x``,
    a linear ramp to 0 over a further ``0.3 half_width`` on each side (no sharp vertical seam)."""
    d = np.abs(np.arange(w, dtype=np.float64) - centre_x)
    ramp = max(1.0, 0.3 * half_width)
    return np.clip((half_width + ramp - d) / ramp, 0.0, 1.0)


def _shift_column(g: np.ndarray, centre_x: float, half_width: float, src_rows: np.ndarray,
                  period: float) -> np.ndarray:
    """``g`` with the fine structure of the band around ``centre_x`` resampled from rows
    ``src_rows`` (float, per row; rows whose source falls off the film keep their own).

    Only the detail layer moves (film minus its Gaussian blur of ``sigma = period`` down and
    ``half_width / 2`` across): the slow density of mediastinum, heart and diaphragm stays where
    it is, so the moved column shows no box-shaped density step at the cut.
    """
    g = np.asarray(g, dtype=np.float64)
    h, w = g.shape
    ys = np.where((src_rows < 0) | (src_rows > h - 1), np.arange(h), src_rows)
    y0 = np.floor(ys).astype(int)
    y1 = np.minimum(y0 + 1, h - 1)
    t = (ys - y0)[:, None]
    low = ndi.gaussian_filter(g, (period, max(1.0, half_width / 2)))
    detail = g - low
    moved = low + (1 - t) * detail[y0] + t * detail[y1]
    wt = _column_weight(w, centre_x, half_width)[None, :]
    return np.clip((1 - wt) * g + wt * moved, 0, 1).astype(np.float32)


def remove_vertebral_level(g: np.ndarray, centre_x: float, half_width: float, disc_row: float,
                           period: float) -> np.ndarray:
    """Cut one vertebral level out of the spine column and close the gap (one vertebra missing).

    Inside the column band (``centre_x +- half_width`` px, blended over a further 30 %), every
    row from ``disc_row`` (a disc space) down shows the column one ``period`` lower: the body
    below the disc disappears, the next disc joins the previous body, and everything below moves
    up by one level (the bottom ``period`` rows keep their own). Only the fine structure moves
    (see :func:`_shift_column`). Ribs, lungs and heart
    outside the band are untouched, so the column has one level fewer for the same thorax.
    """
    h = np.asarray(g).shape[0]
    y = np.arange(h, dtype=np.float64)
    return _shift_column(g, centre_x, half_width, np.where(y >= disc_row, y + period, y), period)


def duplicate_vertebral_level(g: np.ndarray, centre_x: float, half_width: float, disc_row: float,
                              period: float) -> np.ndarray:
    """Repeat one vertebral level of the spine column (one vertebra too many).

    Inside the column band, the level from ``disc_row`` to ``disc_row + period`` is shown twice:
    rows from ``disc_row + period`` down read the column one ``period`` higher, pushing the rest
    of the column down by one level (the lowest level leaves the film).
    """
    h = np.asarray(g).shape[0]
    y = np.arange(h, dtype=np.float64)
    return _shift_column(g, centre_x, half_width, np.where(y >= disc_row + period, y - period, y), period)


def fuse_disc_space(g: np.ndarray, centre_x: float, half_width: float, disc_row: float,
                    period: float, frac: float = 0.25) -> np.ndarray:
    """Fuse one disc space of the spine column (block vertebra: two bodies with no disc between).

    Inside the column band, rows within ``frac * period`` of ``disc_row`` are replaced, per
    column, by the linear interpolation between the rows just outside that window (body above
    and body below), plus the mean-free fine texture (original minus a Gaussian of 2 px) of the
    body above, so the filled gap is textured bone rather than a flat bar.
    """
    g = np.asarray(g, dtype=np.float32)
    h, w = g.shape
    hw = max(2.0, frac * period)
    a, b = int(np.floor(disc_row - hw)), int(np.ceil(disc_row + hw))
    a, b = max(0, a), min(h - 1, b)
    out = g.astype(np.float64).copy()
    t = ((np.arange(a, b + 1) - a) / max(b - a, 1))[:, None]
    fill = (1 - t) * out[a] + t * out[b]
    tex = out - ndi.gaussian_filter(out, 2.0)
    src = np.clip(np.arange(a, b + 1) - (b - a + 1), 0, h - 1)
    fill = fill + tex[src]
    wt = _column_weight(w, centre_x, half_width)[None, :]
    out[a:b + 1] = (1 - wt) * out[a:b + 1] + wt * fill
    return np.clip(out, 0, 1).astype(np.float32)


def smear_spine_column(g: np.ndarray, centre_x: float, half_width: float, period: float) -> np.ndarray:
    """A featureless spine column (no vertebral bodies or discs, as generators often draw it).

    Inside the band, the fine structure (film minus its Gaussian blur of ``sigma = period`` down,
    ``half_width / 2`` across) is smoothed down the column by a Gaussian of ``sigma = period / 2``:
    horizontal endplate and disc lines vanish, the column's vertical borders and the slow density
    of mediastinum and heart stay.
    """
    g = np.asarray(g, dtype=np.float64)
    low = ndi.gaussian_filter(g, (period, max(1.0, half_width / 2)))
    detail = ndi.gaussian_filter1d(g - low, period / 2, axis=0)
    wt = _column_weight(g.shape[1], centre_x, half_width)[None, :]
    return np.clip((1 - wt) * g + wt * (low + detail), 0, 1).astype(np.float32)

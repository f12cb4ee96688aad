"""Bone / soft-tissue / background segmentation of a plain radiograph (weight-free).

The segmentation is shared by every anatomy check of an image (memoised per image through
:meth:`~anatscore.types.LoadedImage.memo` by :func:`segment_image`). It works on a copy of the
grey image reduced to at most ``max_side`` pixels on its long side (area averaging), so a 4096²
input costs about what a 512² one does; masks map back to full
resolution with :meth:`Segmentation.to_full`.

Steps (all on the working copy):

1. **Robust intensity normalisation**: ``g = clip((x - p1) / (p99 - p1), 0, 1)`` with the
   1st/99th percentiles of the image, so exposure (window, gain, gamma within reason) does not
   move the thresholds.
2. **Burned-in text and markers** (``L``/``R`` lead markers, labels): small connected components
   of near-saturated pixels (``g > 0.93``, area < 1.5 % of the image) sitting directly on air
   (three quarters of a 1-4 px ring below 0.25, fewer than 30 % of the ring at soft-tissue
   levels 0.15-0.6, core at least 0.6 above the ring) are set aside as ``excluded`` and filled
   with the median of their surround.
3. **Flat border regions**: regions whose local standard deviation (of a lightly smoothed copy)
   is below 0.006, touching the image border and covering at least 2 % of it. The brightest of
   them (mean at or above the 90th percentile) are collimator shutters, set aside as
   ``excluded``; the others are air.
4. **Polarity**: radiographs are expected bright = dense. An inverted image (negative film,
   MONOCHROME1 decoded without inversion) is recognised when bright flat border regions cover at
   least 8 % of the image and dark ones less than 1 % (inverted air); then ``g -> 1 - g``. A dark
   flat border region (air) vetoes it; with no flat border region (tight crops) the image is
   taken as it is, unless the polarity was decided already (``inverted``: :func:`segment_image`
   passes the decision of the image's region layout, :mod:`anatscore.anatomy.polarity`, e.g. the
   knee's bones brighter or darker than the soft tissue at both sides); that overrides the border
   cue.
5. **Background / body / bone**: background = flat dark border regions plus the border-connected
   part of the darkest class of a three-class Otsu threshold when that class is a separate mode
   (median 0.15 below the body, spread under a quarter of that gap); within the body a two-class
   Otsu threshold separates soft tissue from bone; bone is then refined by a local test
   (brighter than the Gaussian-smoothed body at a scale of 1/12 of the image by a margin) and
   cleaned by a small opening and hole filling.

Input range: ``grey`` float in any range (it is normalised); shape (H, W) with H, W >= 16.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np
from scipy import ndimage as ndi
from skimage import filters, measure, morphology, transform

from .fastmorph import dilate_cross, open_cross
from .polarity import image_inverted

__all__ = ["Segmentation", "segment", "segment_image", "normalise", "MEMO_KEY"]

#: Key under which :func:`segment_image` memoises the segmentation in ``LoadedImage.cache``.
MEMO_KEY = "anatomy.segment"


@dataclass
class Segmentation:
    """Masks of one radiograph at working resolution.

    Attributes:
        grey: normalised, polarity-corrected grey image in [0, 1] at working resolution, with
            burned-in text filled in.
        bone: bool mask of bone.
        soft: bool mask of soft tissue (body minus bone).
        background: bool mask of air background (outside the body).
        excluded: bool mask of burned-in text, markers and collimator shutters.
        scale: working size / original size (<= 1).
        shape_full: shape of the original image.
        inverted: True when the input was judged to be of inverted polarity (and was flipped).
        levels: median grey levels of ``background``, ``soft`` and ``bone`` (NaN when empty).
        info: diagnostic numbers (polarity cue values, thresholds).
    """

    grey: np.ndarray
    bone: np.ndarray
    soft: np.ndarray
    background: np.ndarray
    excluded: np.ndarray
    scale: float
    shape_full: tuple[int, int]
    inverted: bool
    levels: dict[str, float]
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def body(self) -> np.ndarray:
        """Bone or soft tissue."""
        return self.bone | self.soft

    @property
    def shape(self) -> tuple[int, int]:
        return self.grey.shape  # type: ignore[return-value]

    def bone_fraction(self) -> float:
        """Fraction of the body that is bone (0 when there is no body)."""
        b = self.body.sum()
        return float(self.bone.sum() / b) if b else 0.0

    def contrast(self) -> float:
        """Bone minus soft-tissue median level (0..1); small values mean no bone is distinguishable."""
        s, b = self.levels.get("soft", np.nan), self.levels.get("bone", np.nan)
        return float(b - s) if np.isfinite(s) and np.isfinite(b) else 0.0

    def to_full(self, mask: np.ndarray) -> np.ndarray:
        """A working-resolution mask resized (nearest) to the original image's shape."""
        if mask.shape == self.shape_full:
            return mask
        out = transform.resize(mask.astype(np.float32), self.shape_full, order=0, anti_aliasing=False)
        return out > 0.5

    def labelled_bone(self, min_area_frac: float = 0.0005) -> tuple[np.ndarray, int]:
        """Connected bone components (8-connectivity) larger than ``min_area_frac`` of the image."""
        lab = measure.label(self.bone, connectivity=2)
        if lab.max() == 0:
            return lab, 0
        areas = np.bincount(lab.ravel())
        keep = areas >= max(4, min_area_frac * lab.size)
        keep[0] = False
        lab = np.where(keep[lab], lab, 0)
        lab, n, _ = _relabel(lab)
        return lab, n


def _relabel(lab: np.ndarray) -> tuple[np.ndarray, int, np.ndarray]:
    from skimage.segmentation import relabel_sequential

    out, fw, _ = relabel_sequential(lab)
    return out, int(out.max()), fw


def normalise(grey: np.ndarray, lo: float = 1.0, hi: float = 99.0) -> np.ndarray:
    """``clip((x - p_lo) / (p_hi - p_lo), 0, 1)`` as float32 (constant images give zeros)."""
    g = np.asarray(grey, dtype=np.float32)
    finite = np.isfinite(g)
    if not finite.all():
        g = np.where(finite, g, np.nanmedian(g[finite]) if finite.any() else 0.0)
    sample = g.ravel()[:: max(1, g.size // 65536)]  # percentiles of a regular subsample
    a, b = np.percentile(sample, [lo, hi])
    if b - a < 1e-6:
        return np.zeros_like(g)
    return np.clip((g - a) / (b - a), 0.0, 1.0).astype(np.float32)


def _working_copy(grey: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    h, w = grey.shape
    scale = min(1.0, max_side / max(h, w))
    if scale < 1.0:
        size = (max(16, round(h * scale)), max(16, round(w * scale)))
        # Area averaging keeps the noise level comparable across input sizes: block means for
        # the integer part of the factor (cheap), then bilinear resampling to the exact size.
        f = int(1.0 / scale)
        g = transform.downscale_local_mean(grey, (f, f)) if f >= 2 else grey
        g = transform.resize(g, size, order=1, anti_aliasing=False, preserve_range=True)
        return g.astype(np.float32), size[0] / h
    return grey.astype(np.float32), 1.0


def _smooth_large(x: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur with a large ``sigma``, computed on a block-averaged copy and upsampled.

    A direct blur with sigma ~40 px costs ~0.3 s at 512^2; blurring a copy reduced by
    ``f = sigma // 4`` (sigma / f ~ 4 px) and repeating it back differs from it by far less
    than the image noise and takes a few ms.
    """
    f = int(sigma // 4)
    if f < 2:
        return ndi.gaussian_filter(x, sigma)
    small = transform.downscale_local_mean(x, (f, f))
    small = ndi.gaussian_filter(small, sigma / f, mode="nearest")
    # Nearest-neighbour upsampling: the field is smooth at the block scale (sigma / f ~ 4 blocks),
    # so block steps are far below the image noise. Blocks cover ceil(shape / f) >= shape.
    big = np.repeat(np.repeat(small, f, axis=0), f, axis=1)
    return big[: x.shape[0], : x.shape[1]].astype(np.float32)


def _local_std(g: np.ndarray, sigma: float) -> np.ndarray:
    m = ndi.gaussian_filter(g, sigma)
    m2 = ndi.gaussian_filter(g * g, sigma)
    return np.sqrt(np.maximum(m2 - m * m, 0.0))


def _border_connected(mask: np.ndarray) -> np.ndarray:
    """The 4-connected components of ``mask`` that touch the image border."""
    lab, n = ndi.label(mask)
    edge = np.zeros(n + 1, dtype=bool)
    for side in (lab[0], lab[-1], lab[:, 0], lab[:, -1]):
        edge[side] = True
    edge[0] = False
    return edge[lab]


def _text_mask(g: np.ndarray) -> np.ndarray:
    """Small near-saturated components sitting directly on air (burned-in text, lead markers).

    Vectorised over components: each component's close surround (1-4 px away, square windows)
    is found with one maximum filter of the label image, and per-component statistics come from ``bincount``.
    """
    bright = g > 0.93
    if not bright.any():
        return np.zeros_like(bright)
    lab = measure.label(dilate_cross(bright, 2), connectivity=2)  # dilation by disk(2)
    n = int(lab.max())
    areas = np.bincount(lab.ravel(), minlength=n + 1)
    # Candidates: smaller than 1.5 % of the image, larger than a legible character's speck.
    cand = (areas <= 0.015 * g.size) & (areas >= 0.0002 * g.size)
    cand[0] = False
    if not cand.any():
        return np.zeros_like(bright)
    lab = np.where(cand[lab], lab, 0)
    # Only the candidates' bounding box plus the 4-px reach of the surround is looked at: the
    # rest of the image is zero in the label image, and the box's margin is zero too, so the
    # filters' reflected border inside the box sees what the whole image would (row-major order,
    # hence the sums below, are kept too).
    rows, cols = np.flatnonzero(lab.any(axis=1)), np.flatnonzero(lab.any(axis=0))
    box = (slice(max(0, rows[0] - 4), rows[-1] + 5), slice(max(0, cols[0] - 4), cols[-1] + 5))
    lab_b, g_b = lab[box], g[box]
    near4 = ndi.maximum_filter(lab_b, size=9)  # square windows: separable, hence cheap
    near1 = ndi.maximum_filter(lab_b, size=3)
    ring = (near1 == 0) & (near4 > 0)
    rl = near4[ring]
    rv = g_b[ring]
    cnt = np.bincount(rl, minlength=n + 1).astype(float)
    safe = np.maximum(cnt, 1)
    dark_frac = np.bincount(rl, weights=(rv < 0.25).astype(float), minlength=n + 1) / safe
    mid_frac = np.bincount(rl, weights=((rv > 0.15) & (rv < 0.6)).astype(float), minlength=n + 1) / safe
    ring_mean = np.bincount(rl, weights=rv, minlength=n + 1) / safe
    core = lab_b * bright[box]
    core_mean = np.bincount(core.ravel(), weights=g_b.ravel(), minlength=n + 1) / np.maximum(
        np.bincount(core.ravel(), minlength=n + 1), 1)
    # Text sits directly on air: its close surround is dark (3/4 below 0.25) with few soft-tissue
    # levels (< 30 % in 0.15-0.6), and it is far brighter than that surround. Bone always has
    # a layer of soft tissue between it and air.
    is_text = (cnt > 0) & (dark_frac >= 0.75) & (mid_frac < 0.3) & (core_mean - ring_mean > 0.6)
    is_text[0] = False
    return is_text[lab]


def _flat_border_regions(g: np.ndarray, std: np.ndarray) -> np.ndarray:
    flat = std < 0.006
    flat = open_cross(flat)
    flat = _border_connected(flat)
    lab = measure.label(flat)
    if lab.max() == 0:
        return flat
    areas = np.bincount(lab.ravel())
    keep = areas >= 0.02 * g.size
    keep[0] = False
    return keep[lab]


def _shutter_to_edge(g: np.ndarray, shutter: np.ndarray, reach: float = 0.15) -> np.ndarray:
    """Pixels between a collimator shutter and its straight edge (the shutter's penumbra).

    Real shutters are not flat up to their edge: the heel effect and the penumbra make a smooth
    ramp (1.0 down to ~0.7 over 5 % of the width on the pydicom-data tibia) that the flat-region
    test misses and the bone threshold then takes for bone. The collimator edge itself is a
    straight line parallel-ish to the border the shutter sits on. For each border side the
    shutter touches along at least a quarter of it, the edge on each scanline is the strongest
    bright-to-dark step within ``reach`` (of the image width) beyond the shutter's inner boundary; when those positions
    lie on a straight line (Theil-Sen fit, median absolute residual <= 2 px, median 2-px step >= 0.12)
    everything between the side and the line is returned. Otherwise nothing is (an irregular
    "edge" is anatomy, not a collimator).
    """
    from scipy.stats import theilslopes

    out = np.zeros_like(shutter)
    gs = ndi.gaussian_filter(g, 1.0)
    for k in range(4):  # rotate so that the side under test is the left one
        sh = np.rot90(shutter, k)
        gg = np.rot90(gs, k)
        h, w = sh.shape
        rows = np.flatnonzero(sh[:, :4].any(axis=1))  # a 1-3 px frame may separate it from the side
        if rows.size < 0.25 * h:
            continue
        lim = int(reach * w)
        edges, steps = [], []
        for r in rows:
            first = int(np.argmax(sh[r, :4]))
            inside = np.flatnonzero(~sh[r, first:])
            if not inside.size:
                edges.append(np.nan)
                steps.append(0.0)
                continue
            x0 = first + int(inside[0])
            seg = gg[r, max(x0 - 2, 0): min(x0 + lim, w - 2)]
            if seg.size < 4:
                edges.append(np.nan)
                steps.append(0.0)
                continue
            d = seg[:-2] - seg[2:]
            j = int(np.argmax(d))
            edges.append(max(x0 - 2, 0) + j + 1)
            steps.append(float(d[j]))
        e = np.asarray(edges, float)
        ok = np.isfinite(e)
        if ok.sum() < 0.25 * h or float(np.median(np.asarray(steps)[ok])) < 0.12:
            continue
        slope, icpt, _, _ = theilslopes(e[ok], rows[ok])
        line = slope * rows + icpt
        if float(np.median(np.abs(e[ok] - line[ok]))) > 2.0:
            continue
        mask = np.zeros((h, w), bool)
        for r, x in zip(rows, line):
            mask[r, : max(0, int(np.floor(x)))] = True
        out |= np.rot90(mask, -k)
    return out


def _polarity_scores(g: np.ndarray, flat_border: np.ndarray, usable: np.ndarray,
                     lab: Optional[np.ndarray] = None) -> dict[str, float]:
    """Polarity cue: ``background`` > 0 means the image looks inverted.

    Air is flat and touches the border. A dark flat border region (air in a normal image) vetoes
    inversion; a bright flat border region covering >= 8 % of the image with no dark flat one is
    read as inverted air (a collimator shutter is bright too, but it comes with dark air inside
    the field). Tight crops with no flat border (knee crops) give 0: the loader's polarity stands.
    A fine-texture cue (bone is more textured than soft tissue) was tried and rejected: it voted
    wrongly on 51 of 218 real/inverted images, mostly knee crops.
    """
    if not flat_border.any():
        return {"background": 0.0, "dark_flat": 0.0, "bright_flat": 0.0}
    lab = measure.label(flat_border) if lab is None else lab  # ``lab``: that labelling, when done
    dark = bright = 0.0
    mid = float(np.median(g[usable])) if usable.any() else 0.5
    for r in measure.regionprops(lab, intensity_image=g):
        if r.intensity_mean < mid:
            dark += r.area / g.size
        else:
            bright += r.area / g.size
    score = 1.0 if (bright >= 0.08 and dark < 0.01) else (-1.0 if dark >= 0.01 else 0.0)
    return {"background": score, "dark_flat": dark, "bright_flat": bright}


def segment(grey: np.ndarray, max_side: int = 512, detect_polarity: bool = True,
            inverted: Optional[bool] = None) -> Segmentation:
    """Segment a radiograph into bone, soft tissue and background (see the module docstring).

    Args:
        grey: (H, W) grey image, any numeric range; bright = dense is expected, but an inverted
            image is detected and flipped when ``detect_polarity``.
        max_side: long side of the working copy (masks are at this resolution).
        detect_polarity: judge and correct inverted polarity.
        inverted: the polarity decided elsewhere, by the region's layout
            (:func:`anatscore.anatomy.polarity.layout_inverted`); True / False overrides the
            air-at-the-border cue, which tight crops do not have; None leaves that cue to decide.

    Returns:
        A :class:`Segmentation`.

    >>> import numpy as np
    >>> y, x = np.mgrid[:64, :64]
    >>> img = 0.05 + 0.3 * ((x - 32) ** 2 + (y - 32) ** 2 < 28 ** 2) + 0.5 * (abs(x - 32) < 6)
    >>> seg = segment(img.astype(np.float32))
    >>> bool(seg.bone[32, 32]), bool(seg.soft[32, 15]), bool(seg.background[2, 2])
    (True, True, True)
    """
    grey = np.asarray(grey)
    if grey.ndim != 2 or min(grey.shape) < 16:
        raise ValueError(f"segment needs a 2-D grey image of at least 16x16, got shape {grey.shape}")
    work, scale = _working_copy(grey.astype(np.float32), max_side)
    g = normalise(work)
    if float(np.ptp(g)) < 1e-6:  # constant image: nothing to segment
        empty = np.zeros(g.shape, bool)
        return Segmentation(
            grey=g, bone=empty, soft=empty.copy(), background=np.ones(g.shape, bool), excluded=empty.copy(),
            scale=scale, shape_full=tuple(grey.shape), inverted=False,
            levels={"background": 0.0, "soft": float("nan"), "bone": float("nan")}, info={"constant": True},
        )
    text = _text_mask(g)
    if text.any():
        ring = ndi.binary_dilation(text, morphology.disk(3)) & ~text
        fill = float(np.median(g[ring])) if ring.any() else float(np.median(g))
        g = np.where(text, fill, g).astype(np.float32)
    # Local std of a lightly smoothed copy: pixel noise averages out, structure does not.
    std = _local_std(ndi.gaussian_filter(g, 1.5), 2.0)
    flat_border = _flat_border_regions(g, std)
    usable = ~text & ~flat_border
    flat_lab = measure.label(flat_border) if flat_border.any() else None
    info: dict[str, Any] = {}
    by_layout, inverted = inverted, False
    if detect_polarity:
        sc = _polarity_scores(g, flat_border, ~text & ~flat_border, flat_lab)
        inverted = sc["background"] > 0 if by_layout is None else by_layout
        info["polarity"] = {**sc, "region_layout": by_layout}
        if inverted:
            g = (1.0 - g).astype(np.float32)
    # Flat border regions: the brightest ones are collimator shutters, others are air.
    vals = g[usable] if usable.sum() > 100 else g.ravel()
    excluded = text.copy()
    background = np.zeros_like(text)
    if flat_lab is not None:
        lab = flat_lab
        shutter_level = np.percentile(vals, 90)
        for r in measure.regionprops(lab, intensity_image=g):
            if r.intensity_mean >= shutter_level:  # shutters are the brightest
                # A shutter: the std window misses a rim of ~8 px; regrow it there over pixels
                # of the same level (within 0.03).
                region = lab == r.label
                similar = np.abs(g - float(r.intensity_mean)) < 0.03
                rim = dilate_cross(region, 8)
                grown = region | ndi.binary_propagation(region, mask=(similar & rim) | region)
                excluded |= grown | _shutter_to_edge(g, grown)
            else:
                background[lab == r.label] = True
    usable = ~excluded
    vals = g[usable]
    # Air: border-connected darkest class of a three-class Otsu split, if it is a separate mode.
    try:
        t_lo, _ = filters.threshold_multiotsu(vals, classes=3, nbins=128)
    except ValueError:
        t_lo = float(np.percentile(vals, 5))
    dark = (g <= t_lo) & usable
    dark = open_cross(dark)
    dark_b = _border_connected(dark)
    if dark_b.any():
        body_guess = usable & ~dark_b
        gap = float(np.median(g[body_guess]) - np.median(g[dark_b])) if body_guess.any() else 0.0
        spread = float(np.std(g[dark_b]))
        info["air"] = {"gap": gap, "spread_ratio": spread / max(gap, 1e-6)}
        # Air is a separate mode: far below the body relative to its own spread.
        if gap > 0.15 and spread < 0.25 * gap and dark_b.mean() > 0.01:
            background |= dark_b
    info["background_threshold"] = float(t_lo)
    body = usable & ~background
    body = morphology.remove_small_holes(body, max_size=max(16, int(0.002 * g.size)))
    body &= usable
    bone = np.zeros_like(body)
    if body.sum() > 50:
        bvals = g[body]
        t_bone = float(filters.threshold_otsu(bvals, nbins=128))
        info["bone_threshold"] = t_bone
        sigma = max(g.shape) / 12.0
        # Local reference: body-normalised Gaussian mean (background does not leak in).
        wsum = _smooth_large(body.astype(np.float32), sigma)
        local = _smooth_large(np.where(body, g, 0).astype(np.float32), sigma) / np.maximum(wsum, 1e-3)
        spread = float(np.percentile(bvals, 90) - np.percentile(bvals, 10))
        bone = body & (g > t_bone) | body & (g > local + 0.08 * spread) & (g > t_bone - 0.15 * spread)
        bone = open_cross(bone)
        bone = morphology.remove_small_holes(bone, max_size=max(9, int(0.0005 * g.size))) & body
    soft = body & ~bone
    levels = {
        name: (float(np.median(g[m])) if m.any() else float("nan"))
        for name, m in (("background", background), ("soft", soft), ("bone", bone))
    }
    return Segmentation(
        grey=g, bone=bone, soft=soft, background=background, excluded=excluded, scale=scale,
        shape_full=tuple(grey.shape), inverted=inverted, levels=levels, info=info,
    )


def segment_image(image: Any, max_side: int = 512) -> Segmentation:
    """The memoised :func:`segment` of a :class:`~anatscore.types.LoadedImage`."""
    return image.memo(f"{MEMO_KEY}@{max_side}",
                      lambda: segment(image.grey, max_side=max_side, inverted=image_inverted(image)))


#: Bone-vs-soft contrast (normalised grey) below which no bone can be judged.
MIN_CONTRAST = 0.05


def no_bone_reason(seg: Segmentation) -> Optional[str]:
    """Why no bone measurement can be made on ``seg`` (the not-applicable reason), or None."""
    if seg.contrast() < MIN_CONTRAST or not seg.bone.any():
        return f"no bone distinguishable from soft tissue (contrast {seg.contrast():.3f})"
    return None

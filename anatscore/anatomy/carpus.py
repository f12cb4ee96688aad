"""Separable bone components of the carpus (PA wrist / hand): the paper's "fused carpal bones".

A normal carpus on a PA radiograph is a compact mass of 7-8 small bones separated by thin dark
intercarpal joint spaces; a fused carpus (as DALL-E 2 drew it) is one block with no gaps. This
module locates the carpal mass, finds the gap network inside it and counts the bone pieces the
gaps separate. Working on the shared segmentation's grey image
(:func:`anatscore.anatomy.segment.segment`, at most 512 px on the long side):

1. **Local bone mask**: pixels of the body brighter than their body-normalised Gaussian
   surround at scale ``s = w / 6`` (``w``: median width of the body across its rows), i.e.
   ``g - G_s(g 1_body) / G_s(1_body) > 0``. A global threshold fails on wrists, where the thick
   soft tissue is as bright as the bones of the hand.
2. **Carpus location**: the bone mask is closed with a disk of ``0.02 w`` (bridging every joint
   space), its holes filled and opened with a disk of ``0.04 w`` (cutting off thin bones); the
   carpus is taken as the thickest part of what remains, the maximum of its Euclidean distance
   transform (centre ``c``, inscribed radius ``R``). The carpal mass is the thickest bone in a
   wrist or hand radiograph; bridging the gaps first makes the location the same whether the
   carpus is fused or not.
3. **Gap (valley) map** inside the region of interest (the disk of radius ``roi * R`` around
   ``c``): Sato's tubeness filter for *dark* ridges (:func:`skimage.filters.sato`,
   ``black_ridges=True``) at the widths of a joint space (sigmas ``gap_sigmas * R``: the
   gaps scale with the carpus; a carpus with ``R`` over 60 px is analysed on a copy reduced to
   ``R = 48`` px, which keeps them several pixels wide and the cost bounded), divided by
   the bone contrast of the region (90th - 10th percentile of its grey levels). A pixel is a gap
   pixel where this relative valley strength exceeds ``valley_threshold`` and the pixel lies in
   the carpal bone mass (the bright class of a two-class Otsu split of the region, closed over
   the gaps).
4. **Pieces**: the bright class minus the gap pixels, cut into connected components, which seed
   a watershed of the valley map over the bone mass (:func:`skimage.segmentation.watershed`),
   giving every bone pixel to a piece. A piece counts as a *carpal bone* when its area is at
   least ``min_piece`` of the region's area, at least ``inside`` of it lies within the region,
   its minor axis is at least ``min_width * R`` (not a sliver along a cortex edge) and its major
   axis (of the inertia ellipse) at most ``max_length * R``: long bones - radius, ulna,
   metacarpals - pass through the region, and a fused block spans the carpus, so neither counts
   as a separable carpal bone.
5. **Gap length per carpal area**: skeleton length of the gap pixels inside the carpal bone mass
   divided by the square root of that mass's area (dimensionless; 0 for a fused block).

Before these steps, :func:`normalise_rendering` maps a bright rendering onto a standard one:
when the median of the normalised grey ``m`` is above ``0.5`` the grey is raised to the power
``p = log 0.5 / log m`` (> 1, so the median becomes 0.5) and re-segmented. A power law is how
a rendering's gamma differs, and this map undoes any pure power change of a bright image
exactly (``(x^k)^(log 0.5 / log m^k) = x^(log 0.5 / log m)``), so the gap threshold, the local
bone mask and the Otsu split see the same grey levels whatever the display gamma. Darker
renderings (``m < 0.5``) are left as they are: the inverse map (``p < 1``) amplifies the noise
of the dark end without bound (slope ``p x^(p-1)``), and on the wrist phantoms (median 0.28-0.33,
``p`` ~ 0.55) it made the background noise fail the segmentation's flat-background test, the
body swallowed the background and 3 of 30 normal phantoms read 1-3 pieces (exploratory run, not
kept). The target 0.5 is mid-grey; the median normalised grey of real radiographs in the data
folder is 0.40 over the 7 MURA examples and 0.61 over 60 knee crops
(``benchmarks/carpal_counts.py --render``).

Input: a :class:`~anatscore.anatomy.segment.Segmentation` (bright = bone). Output:
:class:`CarpalSeparation`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy import ndimage as ndi
from skimage import filters, measure, morphology, segmentation, transform

from .fastmorph import close_diamond, dilate_cross, dilate_disk, erode_disk, fill_holes, open_cross
from .segment import Segmentation, _smooth_large, segment

__all__ = ["CarpalSeparation", "carpal_separation", "local_bone_mask", "locate_carpus", "normalise_rendering"]

#: Median normalised grey a bright rendering is mapped to (see the module docstring).
MEDIAN_TARGET = 0.5


@dataclass(frozen=True)
class CarpalSeparation:
    """Result of :func:`carpal_separation` (coordinates at working resolution, (row, col)).

    Attributes:
        components: number of separable carpal bone pieces (the check's value).
        gap_density: skeleton length of the intercarpal gaps / sqrt(carpal mass area).
        gap_fraction: fraction of the carpal mass covered by gap pixels.
        centre: carpus centre.
        radius: inscribed radius ``R`` of the bridged carpal mass (px).
        roi_radius: radius of the analysed region (px).
        body_width: median width of the body (px); ``radius / body_width`` is about 0.2 on
            real wrists and hands and 0.25 on the phantoms.
        labels: watershed labels of the counted pieces inside the region (0 elsewhere), same
            shape as the working image.
        piece_areas: area (px, working resolution) of each counted piece.
    """

    components: int
    gap_density: float
    gap_fraction: float
    centre: tuple[int, int]
    radius: float
    roi_radius: float
    body_width: float
    labels: np.ndarray
    piece_areas: tuple[int, ...]


def normalise_rendering(seg: Segmentation, target: float = MEDIAN_TARGET) -> Segmentation:
    """``seg`` itself when the median of its grey is at most ``target``; otherwise the
    segmentation of ``grey ** p`` with ``p = log(target) / log(median)`` (> 1), at the same
    working resolution, carrying ``seg``'s scale and full-resolution shape. ``info["render_power"]``
    records ``p``. See the module docstring for why only bright renderings are mapped."""
    m = float(np.median(seg.grey))
    if not (target < m < 1.0):
        return seg
    p = float(np.log(target) / np.log(m))
    out = segment(np.power(np.clip(seg.grey, 0.0, 1.0), p).astype(np.float32), max_side=max(seg.shape),
                  detect_polarity=False)
    out = replace(out, scale=seg.scale, shape_full=seg.shape_full)
    out.info["render_power"] = p
    return out


def _body_width(body: np.ndarray) -> float:
    """Median width (px) of the body over the rows (or columns, whichever axis is longer)."""
    sums = body.sum(axis=1) if body.shape[0] >= body.shape[1] else body.sum(axis=0)
    sums = sums[sums > 0]
    return float(np.median(sums)) if sums.size else float(min(body.shape))


def local_bone_mask(seg: Segmentation) -> tuple[np.ndarray, float]:
    """Bone as locally bright body pixels (step 1 of the module docstring) and the body width."""
    body = seg.body if seg.body.sum() > 0.05 * seg.body.size else np.ones_like(seg.bone)
    w = _body_width(body)
    gs = ndi.gaussian_filter(seg.grey, 1.0)
    s = max(2.0, w / 6.0)
    # Large-sigma blur on a block-averaged copy (the segmentation's helper): ~10x faster.
    wsum = _smooth_large(body.astype(np.float32), s)
    local = _smooth_large(np.where(body, gs, 0).astype(np.float32), s) / np.maximum(wsum, 1e-3)
    bone = body & (gs > local)
    return open_cross(bone), w


def _dilate(mask: np.ndarray, r: float) -> np.ndarray:
    """Binary dilation by a Euclidean disk of radius ``r``: ``distance_transform_edt(~mask) <= r``
    (``scipy.ndimage.binary_dilation`` with a large disk costs ~r times more), computed from the
    disk's chords (:func:`anatscore.anatomy.fastmorph.dilate_disk`, the same mask, faster)."""
    return dilate_disk(mask, r)


def _erode(mask: np.ndarray, r: float) -> np.ndarray:
    """Binary erosion by a Euclidean disk of radius ``r``: ``distance_transform_edt(mask) > r``
    (see :func:`_dilate`)."""
    return erode_disk(mask, r)


def locate_carpus(seg: Segmentation) -> tuple[tuple[int, int], float, float]:
    """Carpus centre (row, col), inscribed radius ``R`` and body width (step 2 of the module docstring)."""
    bone, w = local_bone_mask(seg)
    rc, ro = max(1.0, 0.02 * w), max(1.0, 0.04 * w)
    closed = _erode(_dilate(bone, rc), rc)
    closed = fill_holes(closed | bone)
    closed = _dilate(_erode(closed, ro), ro)
    if not closed.any():
        closed = bone
    # Zero padding: a mass cut by the image border is only as thick as it is seen to be.
    edt = ndi.distance_transform_edt(np.pad(closed, 1))[1:-1, 1:-1]
    r, c = np.unravel_index(int(np.argmax(edt)), edt.shape)
    return (int(r), int(c)), float(edt[r, c]), w


def carpal_separation(
    seg: Segmentation,
    roi: float = 1.5,
    gap_sigmas: tuple[float, ...] = (0.03, 0.045, 0.06),
    valley_threshold: float = 0.04,
    min_piece: float = 0.02,
    inside: float = 0.7,
    max_length: float = 1.8,
    min_width: float = 0.25,
    work_radius: float = 48.0,
) -> CarpalSeparation:
    """Locate the carpus and count its separable bone pieces (see the module docstring).

    Args:
        seg: segmentation of a PA wrist or hand radiograph.
        roi: radius of the analysed region in units of the carpal mass's inscribed radius.
        gap_sigmas: Sato filter scales in units of ``R`` (at least 1 px); a joint space of
            width ``d`` px responds best at sigma ~ d / 2.
        valley_threshold: relative valley strength (Sato response / region contrast) above
            which a pixel is a gap pixel.
        min_piece: smallest counted piece, as a fraction of the region's area.
        inside: fraction of a piece's area that must lie in the region for it to count.
        max_length: longest counted piece (major axis of its inertia ellipse), in units of
            ``R``: longer pieces are long bones or fused blocks. On the GrazPedWri
            radiologist polygons (47 complete carpi, ``benchmarks/carpal_polygons.py``) a limit
            of 1.6 would drop the capitate in 12 of them, 1.8 in 2.
        min_width: thinnest counted piece (minor axis), in units of ``R``.
        work_radius: a carpus with ``R > 1.25 * work_radius`` px is analysed on a copy of its
            box reduced to ``R = work_radius`` (speed; pixel sizes below are at that scale).
    """
    g = seg.grey
    (r0, c0), rad, body_w = locate_carpus(seg)
    rad = max(rad, 4.0)
    big = roi * rad
    rr, cc = np.ogrid[: g.shape[0], : g.shape[1]]
    dist2 = (rr - r0) ** 2 + (cc - c0) ** 2
    region = dist2 <= big**2
    # Work on the bounding box of a somewhat larger disk: pieces crossing the region's edge are
    # seen whole, so the "inside" test can tell long bones from carpal bones.
    ext = 2.2 * big
    b0, b1 = max(0, int(r0 - ext)), min(g.shape[0], int(r0 + ext) + 1)
    a0, a1 = max(0, int(c0 - ext)), min(g.shape[1], int(c0 + ext) + 1)
    box = g[b0:b1, a0:a1]
    reg = region[b0:b1, a0:a1]
    body = seg.body[b0:b1, a0:a1] if seg.body.any() else np.ones_like(reg)
    # A large carpus is analysed on a box reduced so that R ~ work_radius px: the filters cost
    # grows with the box area, while the gaps stay several pixels wide at that scale.
    f = work_radius / rad if rad > 1.25 * work_radius else 1.0
    if f < 1.0:
        full_shape = box.shape
        box = transform.rescale(box, f, anti_aliasing=True, preserve_range=True).astype(np.float32)
        reg = transform.resize(reg.astype(np.float32), box.shape, order=0) > 0.5
        body = transform.resize(body.astype(np.float32), box.shape, order=0) > 0.5
    r_w = rad * f  # R at the analysis scale
    gs = ndi.gaussian_filter(box, 0.7)
    vals = gs[reg & body] if (reg & body).sum() > 20 else gs[reg]
    spread = max(float(np.percentile(vals, 90) - np.percentile(vals, 10)), 1e-3)
    sigmas = [max(1.0, s * r_w) for s in gap_sigmas]
    valley = filters.sato(gs, sigmas=sigmas, black_ridges=True, mode="reflect") / spread
    thr = float(filters.threshold_otsu(vals, nbins=128))
    bright = (gs > thr) & body
    # The carpal mass: bright pixels with the gaps bridged (gaps are darker than the threshold).
    mass = close_diamond(bright) | bright  # closing by disk(2)
    mass = fill_holes(mass) & body
    gaps = (valley > valley_threshold) & mass
    # One pixel of dilation closes the breaks where three gaps meet (weaker tubeness there).
    cores = open_cross(bright & ~dilate_cross(gaps))
    markers = measure.label(cores, connectivity=1)
    lab = segmentation.watershed(valley, markers, mask=mass)
    n = int(lab.max())
    area = np.bincount(lab.ravel(), minlength=n + 1)
    area_in = np.bincount(lab[reg], minlength=n + 1)
    min_area = min_piece * float(reg.sum())
    keep = (area >= min_area) & (area_in >= inside * np.maximum(area, 1))
    keep[0] = False
    # A piece longer than max_length * R is a long bone passing by or a fused block spanning
    # the carpus, not a separable carpal bone; one thinner than min_width * R is a sliver
    # between two parallel valley responses (a cortex edge), not a bone.
    for rp in measure.regionprops(np.where(keep[lab], lab, 0)):
        if rp.axis_major_length > max_length * r_w or rp.axis_minor_length < min_width * r_w:
            keep[rp.label] = False
    counted = np.where(keep[lab], lab, 0)
    carp = mass & reg
    gap_in = gaps & carp
    skel = morphology.skeletonize(gap_in) if gap_in.any() else gap_in
    carp_area = max(int(carp.sum()), 1)
    labels = np.zeros(g.shape, np.int32)
    if f < 1.0:
        counted = transform.resize(counted, full_shape, order=0, preserve_range=True, anti_aliasing=False)
    labels[b0:b1, a0:a1] = counted
    return CarpalSeparation(
        components=int(keep.sum()),
        gap_density=float(skel.sum() / np.sqrt(carp_area)),
        gap_fraction=float(gap_in.sum() / carp_area),
        centre=(r0, c0),
        radius=rad,
        roi_radius=big,
        body_width=body_w,
        labels=labels,
        piece_areas=tuple(int(round(a / f**2)) for a in area[keep]),
    )

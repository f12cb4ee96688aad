"""Weight-free layout detectors: photo of a film, multi-panel grid, greyscale sanity.

DALL-E 2, asked for a CT or MRI, often drew a *photograph* of a printed exam (a film on a light
box, a sheet on a table, a monitor) or a *grid* of slices (Adams et al., 2022). These checks find
both from the image alone, without weights:

``layout.film_photo``
    Cues: (1) a colour cast over the whole image where a medical image should be grey; (2) the
    film's border: long straight edges inside the frame, tilted off the image axes (perspective,
    rotation) in both directions, that are not the two converging edges of an ultrasound fan;
    (3) a background around the film whose colour differs from the film's. The value is a score
    in [0, 1]; the verdict fails when the border is found, or when a colour cast comes with a
    tilted edge or a coloured surround.
``layout.multi_panel``
    Seams along columns (rows): gutters (bands of columns that are uniform over the full height)
    and full-height straight edges, at regularly spaced positions. The value is the number of
    panels, ``extra`` has rows and cols.
``layout.greyscale``
    Colour in what should be a grey image: a global cast (per-channel median offset from grey) versus
    local colour (Doppler, annotations, palettes), which is normal for ultrasound.

Everything runs on a copy downsampled to at most :data:`WORK_SIDE` pixels on the long side and is
memoised per image (``image.memo``) so the three checks share it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np
from scipy import ndimage as ndi
from skimage import feature, transform

from ..anatomy.polarity import image_inverted
from ..types import CheckResult, LoadedImage
from . import CheckContext

#: long side (pixels) of the working copy for the film-photo cues
WORK_SIDE = 256
#: long side for seam detection (thin gutters must survive the downsampling)
GRID_SIDE = 768

# ---- thresholds (measured on ../shared/data and rendered cases; see benchmarks/modality_accuracy.py)
CAST_MIN = 0.04  # median relative per-channel deviation from grey above which the image has a colour cast
TILT_MIN_DEG = 1.5  # an edge tilted less than this is "axis-aligned"
TILT_MAX_DEG = 30.0  # edges further off an axis belong to neither the horizontal nor vertical family
LINE_MIN_FRAC = 0.40  # a border edge spans at least this fraction of the image side
PARALLEL_DEG = 6.0  # two edges of one family within this many degrees are opposite film sides
FAN_MIN_SPREAD_DEG = 20.0  # two near-vertical edges converging by more than this form a fan
STEP_MIN = 0.03  # a border step: values 3 px either side differ by at least this ([0, 1] scale)
SURROUND_DELTA = 0.06  # chroma difference between surround and centre that counts as a background


# ------------------------------------------------------------------------------------------------
# shared measurements


@dataclass(frozen=True)
class Line:
    """A straight edge found by the Hough transform (normal form ``x cos t + y sin t = rho``).

    ``family`` is ``h`` (within :data:`TILT_MAX_DEG` of horizontal) or ``v``; ``tilt`` its signed
    deviation from that axis in degrees; ``support`` the longest consistent step along it as a
    fraction of the image side.
    """

    angle: float
    rho: float
    family: str
    tilt: float
    support: float
    pos: float  # where the line crosses the image's middle row (v) or column (h), as a fraction


@dataclass(frozen=True)
class ColourStats:
    """Colour statistics of the colour image, over pixels brighter than 0.1 (values in [0, 1]).

    ``cast`` is the largest per-channel median of the relative deviation (channel / grey - 1):
    a tint (a gain per channel, as a light box, a white balance or a monitor gives) shifts every
    pixel the same way in proportion to its brightness and survives the median, whereas sensor,
    JPEG or diffusion colour noise averages out and local colour (Doppler, annotations) touches
    too few pixels to move it.
    ``chroma_median`` is the median of (max - min) over R, G, B, ``coloured_frac`` the fraction of
    pixels with chroma > 0.1.
    """

    cast: float
    chroma_median: float
    coloured_frac: float
    offset: tuple[float, float, float]  # per-channel median of (channel / grey - 1)

@dataclass
class FilmCues:
    """The film-photo cues of one image (see the module docstring)."""

    colour: Optional[ColourStats]
    lines: list[Line] = field(default_factory=list)
    fan: bool = False
    surround_delta: float = 0.0

    @property
    def tilted(self) -> list[Line]:
        return [ln for ln in self.lines if abs(ln.tilt) >= TILT_MIN_DEG]

    @property
    def border(self) -> bool:
        """A film border: tilted edges in both families (adjacent sides of a quadrilateral), or
        two nearly parallel tilted edges of one family (opposite sides), and no ultrasound fan."""
        if self.fan:
            return False
        tilted = self.tilted
        if {ln.family for ln in tilted} == {"h", "v"}:
            return True
        return any(
            a.family == b.family and abs(a.tilt - b.tilt) <= PARALLEL_DEG and abs(a.pos - b.pos) >= 0.15
            for i, a in enumerate(tilted)
            for b in tilted[i + 1 :]
        )

    @property
    def cast(self) -> bool:
        return self.colour is not None and self.colour.cast >= CAST_MIN

    def score(self) -> float:
        """Score in [0, 1]: mean of the cast, border and surround cue strengths."""
        cast = 0.0 if self.colour is None else min(1.0, self.colour.cast / (2 * CAST_MIN))
        border = 1.0 if self.border else (0.5 if self.tilted and not self.fan else 0.0)
        surround = min(1.0, self.surround_delta / (2 * SURROUND_DELTA))
        return float((cast + border + surround) / 3.0)

    def flagged(self) -> bool:
        if self.border:
            return True
        if self.cast and ((self.tilted and not self.fan) or self.surround_delta >= SURROUND_DELTA):
            return True
        return False

    def reasons(self) -> list[str]:
        out = []
        if self.cast and self.colour is not None:
            r, g, b = self.colour.offset
            out.append(f"colour cast (median R/G/B relative to grey {r:+.3f}/{g:+.3f}/{b:+.3f})")
        if self.tilted:
            tilts = ", ".join(f"{ln.family}{ln.tilt:+.1f}deg" for ln in self.tilted[:4])
            kind = "film border" if self.border else ("ultrasound fan edges" if self.fan else "tilted edge")
            out.append(f"{kind}: {len(self.tilted)} long tilted edge(s) ({tilts})")
        if self.surround_delta >= SURROUND_DELTA:
            out.append(f"coloured surround differs from the centre by {self.surround_delta:.3f} chroma")
        return out


def _rgb(image: LoadedImage) -> Optional[np.ndarray]:
    """Float RGB in [0, 1] or None for single-channel sources (or RGB with identical channels)."""
    if image.colour is None or image.colour.ndim != 3 or image.colour.shape[2] < 3:
        return None
    return image.colour[..., :3].astype(np.float32) / 255.0


def _small(arr: np.ndarray, side: int) -> np.ndarray:
    """Block-mean downsampling by the integer factor that brings the long side to <= ``side``.

    scikit-image's ``downscale_local_mean`` on the image cropped to a multiple of the factor:
    area averaging (thin gutters and edges survive as fainter lines) at a fraction of the cost
    of an anti-aliased ``resize``; never upsamples.
    """
    h, w = arr.shape[:2]
    f = int(np.ceil(max(h, w) / side))
    if f <= 1:
        return arr.astype(np.float32)
    crop = arr[: h // f * f, : w // f * f]
    factors = (f, f) + (1,) * (arr.ndim - 2)
    return transform.downscale_local_mean(crop.astype(np.float32), factors).astype(np.float32)


def _small_grey(image: LoadedImage, side: int) -> np.ndarray:
    """Memoised :func:`_small` of ``image.grey``."""
    return image.memo(f"layout.grey{side}", lambda: _small(image.grey, side))


def _small_rgb(image: LoadedImage, side: int) -> Optional[np.ndarray]:
    """Memoised :func:`_small` of the float RGB image (None for single-channel sources)."""

    def compute() -> Optional[np.ndarray]:
        rgb = _rgb(image)
        return None if rgb is None else _small(rgb, side)

    return image.memo(f"layout.rgb{side}", compute)


def colour_stats(image: LoadedImage) -> Optional[ColourStats]:
    """Chroma statistics of ``image.colour`` (None when the source had one channel)."""

    def compute() -> Optional[ColourStats]:
        rgb = _small_rgb(image, WORK_SIDE)
        if rgb is None:
            return None
        grey = rgb.mean(axis=2)
        lit = grey > 0.1
        if not lit.any():
            return ColourStats(0.0, 0.0, 0.0, (0.0, 0.0, 0.0))
        chroma = rgb.max(axis=2) - rgb.min(axis=2)
        off = np.median((rgb / np.maximum(grey, 1e-3)[..., None] - 1.0)[lit], axis=0)
        return ColourStats(
            cast=float(np.abs(off).max()),
            chroma_median=float(np.median(chroma[lit])),
            coloured_frac=float((chroma > 0.1).mean()),
            offset=(float(off[0]), float(off[1]), float(off[2])),
        )

    return image.memo("layout.colour_stats", compute)


def _edge_map(image: LoadedImage) -> np.ndarray:
    """Canny edges of the working copy, on grey and on each colour channel (OR-ed).

    Colour channels matter: a film on a table of the same brightness differs only in hue.
    """
    grey = _small_grey(image, WORK_SIDE)
    edges = feature.canny(grey, sigma=2.0, low_threshold=0.04, high_threshold=0.1)
    small = _small_rgb(image, WORK_SIDE)
    if small is not None:
        for c in range(3):
            edges |= feature.canny(small[..., c], sigma=2.0, low_threshold=0.04, high_threshold=0.1)
    return edges


def _step_run(
    stack: np.ndarray, near_edge: np.ndarray, theta: float, rho: float, family: str, offset: float = 2.0
) -> int:
    """Longest stretch (pixels) of the line ``x cos t + y sin t = rho`` that is a consistent step.

    ``stack`` is (C, H, W): smoothed grey and colour channels. At each point of the line the
    values ``offset`` pixels to either side are compared; a film border is one unbroken step of
    the same sign (film darker or brighter than the background, or a different hue) in at least
    one channel, lying on Canny edge pixels (``near_edge``: edges dilated by one pixel), whereas
    speckle and trabecular texture give steps of random sign and curved anatomy leaves the line
    after a short stretch. Gaps up to 3 samples are bridged.
    """
    _, h, w = stack.shape
    if family == "v":
        ys = np.arange(h, dtype=float)
        xs = (rho - ys * np.sin(theta)) / np.cos(theta)
    else:
        xs = np.arange(w, dtype=float)
        ys = (rho - xs * np.cos(theta)) / np.sin(theta)
    nx, ny = np.cos(theta), np.sin(theta)
    ok = (xs >= offset) & (xs < w - 1 - offset) & (ys >= offset) & (ys < h - 1 - offset)
    if ok.sum() < 2:
        return 0
    xs, ys = xs[ok], ys[ok]
    on_edge = near_edge[np.round(ys).astype(int), np.round(xs).astype(int)]
    best = 0
    for ch in stack:
        a = ndi.map_coordinates(ch, [ys + offset * ny, xs + offset * nx], order=1)
        b = ndi.map_coordinates(ch, [ys - offset * ny, xs - offset * nx], order=1)
        step = a - b
        for sign in (1.0, -1.0):
            on = (sign * step >= STEP_MIN) & on_edge
            run = gap = cur = 0
            for v in on:
                if v:
                    cur += 1 + gap if cur else 1
                    gap = 0
                elif cur:
                    gap += 1
                    if gap > 3:
                        cur = gap = 0
                run = max(run, cur)
            best = max(best, run)
    return best


def _channels(image: LoadedImage) -> np.ndarray:
    """(C, H, W) smoothed grey and colour channels of the working copy (memoised)."""

    def compute() -> np.ndarray:
        chans = [_small_grey(image, WORK_SIDE)]
        rgb = _small_rgb(image, WORK_SIDE)
        if rgb is not None:
            chans += [rgb[..., c] for c in range(3)]
        return np.stack([ndi.gaussian_filter(c, 1.0) for c in chans])

    return image.memo("layout.channels", compute)


def long_lines(edges: np.ndarray, stack: np.ndarray, max_lines: int = 12) -> list[Line]:
    """Long straight edges within :data:`TILT_MAX_DEG` of either image axis.

    Uses scikit-image's Hough transform for candidates; a candidate is kept when an unbroken
    stretch of it is a consistent intensity or colour step (see :func:`_step_run`) and covers at least :data:`LINE_MIN_FRAC` of the image
    side it runs along. Axis-aligned lines hugging the image frame (within 2% of it) are dropped:
    those are the frame itself, not a border inside it.
    """
    h, w = edges.shape
    near_v = np.deg2rad(np.arange(-TILT_MAX_DEG, TILT_MAX_DEG + 0.01, 0.5))
    near_h = near_v + np.pi / 2
    theta = np.concatenate([near_v, near_h])
    acc, angles, dists = transform.hough_line(edges, theta=theta)
    near_edge = ndi.binary_dilation(edges, structure=np.ones((3, 3), bool))
    out: list[Line] = []
    _, pk_angles, pk_dists = transform.hough_line_peaks(
        acc, angles, dists, min_distance=6, min_angle=4, threshold=LINE_MIN_FRAC * min(h, w), num_peaks=max_lines
    )
    for ang, rho in zip(pk_angles, pk_dists):
        deg = float(np.rad2deg(ang))
        if abs(deg) <= TILT_MAX_DEG + 0.01:  # normal near horizontal -> the line is near vertical
            family, tilt, side, extent = "v", deg, h, w
            pos = rho / max(np.cos(ang), 1e-6)  # x where the line crosses y = 0
        else:
            family, tilt, side, extent = "h", deg - 90.0, w, h
            pos = rho / max(np.sin(ang), 1e-6)
        if (pos < 0.02 * extent or pos > 0.98 * extent) and abs(tilt) < TILT_MIN_DEG:
            continue
        run = _step_run(stack, near_edge, float(ang), float(rho), family)
        if run < LINE_MIN_FRAC * side:
            continue
        if family == "v":
            mid = (rho - 0.5 * h * np.sin(ang)) / np.cos(ang) / w
        else:
            mid = (rho - 0.5 * w * np.cos(ang)) / np.sin(ang) / h
        out.append(Line(angle=deg, rho=float(rho), family=family, tilt=tilt, support=run / side, pos=float(mid)))
    return out


def _is_fan(lines: list[Line]) -> bool:
    """Two near-vertical edges of opposite tilt converging by > FAN_MIN_SPREAD_DEG (a sector)."""
    v = [ln.tilt for ln in lines if ln.family == "v" and abs(ln.tilt) >= TILT_MIN_DEG]
    return any(a * b < 0 and abs(a - b) >= FAN_MIN_SPREAD_DEG for a in v for b in v)


def _surround_delta(image: LoadedImage) -> float:
    """Chroma difference between the image's outer ring (6% wide) and its central half.

    A film photographed on a coloured background has a surround whose hue differs from the film's
    (grey-ish, or tinted by the cast); a native image's black or grey surround has chroma ~0.
    """
    small = _small_rgb(image, WORK_SIDE)
    if small is None:
        return 0.0
    h, w = small.shape[:2]
    b = max(2, int(0.06 * min(h, w)))
    ring = np.ones((h, w), bool)
    ring[b:-b, b:-b] = False
    centre = np.zeros((h, w), bool)
    centre[h // 4 : 3 * h // 4, w // 4 : 3 * w // 4] = True
    chroma_vec = small - small.mean(axis=2, keepdims=True)  # colour direction per pixel
    d = np.abs(np.median(chroma_vec[ring], axis=0) - np.median(chroma_vec[centre], axis=0))
    return float(d.max() * 2.0)


def film_cues(image: LoadedImage) -> FilmCues:
    """All film-photo cues of ``image`` (memoised)."""

    def compute() -> FilmCues:
        lines = long_lines(_edge_map(image), _channels(image))
        return FilmCues(colour_stats(image), lines, _is_fan(lines), _surround_delta(image))

    return image.memo("layout.film_cues", compute)


# ------------------------------------------------------------------------------------------------
# multi-panel grids


@dataclass(frozen=True)
class AxisSeams:
    """Seams found along one axis: positions (fraction of the side) and the fitted panel count."""

    positions: tuple[float, ...]
    panels: int
    gutters: tuple[float, ...] = ()  # the positions found as gutter bands (not abutting steps)


def _straight_band(grey: np.ndarray, x0: int, x1: int, level: float, tol: float = 0.03) -> bool:
    """Whether the flat band of columns ``x0..x1`` at ``level`` has straight side edges.

    A drawn gutter is a rectangle: in almost every row the run of pixels within ``tol`` of its
    level ends at the same column on each side. A saturated bright structure (the spine and
    mediastinum of an over-exposed chest film) is flat inside the band but its edges wander from
    row to row. Edge position per row = where the run containing the band's centre stops;
    straight = the median absolute deviation of both edges is at most 1.5 px and the edges
    agree with the band in at least 75% of rows (a gutter's neighbours may share its level in a
    few rows, e.g. a white label).
    """
    h, w = grey.shape
    near = np.abs(grey - level) < tol
    c = (x0 + x1) // 2
    left = np.full(h, x0, float)
    right = np.full(h, x1, float)
    for y in range(h):
        row = near[y]
        if not row[c]:
            left[y] = right[y] = np.nan
            continue
        off = np.flatnonzero(~row[:c][::-1])
        left[y] = c - (off[0] if off.size else c)
        off = np.flatnonzero(~row[c:])
        right[y] = c + (off[0] if off.size else w - c) - 1
    ok = np.isfinite(left)
    if ok.mean() < 0.9:
        return False
    l, r = left[ok], right[ok]
    mad = max(float(np.median(np.abs(l - np.median(l)))), float(np.median(np.abs(r - np.median(r)))))
    agree = float(np.mean((np.abs(l - x0) <= 2) & (np.abs(r - x1) <= 2)))
    return mad <= 1.5 and agree >= 0.75


def _seam_kinds(grey: np.ndarray) -> tuple[list[float], list[float]]:
    """Candidate seam positions (fraction of width) between columns of ``grey``.

    A seam is the centre of an interior band of columns that are nearly constant over the full
    height (within 0.03 of the column's median in at least 92% of rows, so a panel label or JPEG
    ringing does not break a gutter; two panels' black surrounds meeting count too) at the dark
    or bright extreme of the image (a bright spine down a chest film is not a gutter), or a column
    boundary whose median absolute step over all rows is an outlier (panels abutting without a
    gutter).
    """
    h, w = grey.shape
    med = np.median(grey, axis=0)
    flat_frac = (np.abs(grey - med[None, :]) < 0.03).mean(axis=0)
    lo, hi = np.percentile(grey, [2, 98])
    extreme = (med <= lo + 0.06) | (med >= hi - 0.06)  # gutters are black or white, not mid-grey anatomy
    uniform = (flat_frac >= 0.92) & extreme
    seams: list[float] = []
    lab, n = ndi.label(uniform)
    for k in range(1, n + 1):
        idx = np.flatnonzero(lab == k)
        if idx[0] == 0 or idx[-1] == w - 1:
            continue  # margins at the image edge are not seams
        if med[idx].mean() >= hi - 0.06 and not _straight_band(grey, idx[0], idx[-1], float(med[idx].mean())):
            continue  # a saturated spine/mediastinum down a chest film: bright, flat, but ragged edges
        seams.append((idx[0] + idx[-1] + 1) / 2.0 / w)
    step = np.median(np.abs(np.diff(grey, axis=1)), axis=0)
    base = float(np.median(step)) + 1e-4
    strong = np.flatnonzero((step > 0.05) & (step > 8 * base))
    steps: list[float] = []
    for x in strong:
        if 0.03 * w < x < 0.97 * w:
            steps.append((x + 1) / w)
    return seams, steps


def _merge_close(seams: list[float], tol: float = 0.03) -> list[float]:
    """Sorted seam positions with neighbours closer than ``tol`` merged into their mean."""
    merged: list[float] = []
    for s in seams:
        if merged and s - merged[-1] < tol:
            merged[-1] = (merged[-1] + s) / 2
        else:
            merged.append(s)
    return merged


def _fit_panels(seams: list[float], max_panels: int = 12, tol: float = 0.12) -> int:
    """The number of equal panels whose boundaries the seams fall on (1 when none fits).

    For ``n`` panels the ideal seams are ``k / n``; a detected seam within ``tol`` of a panel
    width from one of them matches it. A fit needs at least 75% of the ideal seams found and at
    most half of the detected seams unmatched (edges of letterboxed content inside panels); the
    fit with the highest ``coverage - unmatched fraction / 2`` wins, ties to the smaller ``n``.
    """
    if not seams:
        return 1
    arr = np.asarray(seams)
    best, best_score = 1, -np.inf
    for n in range(2, max_panels + 1):
        ideal = np.arange(1, n) / n
        d = np.abs(arr[:, None] - ideal[None, :])
        matched = d.min(axis=1) <= tol / n
        cov = float(np.mean(d.min(axis=0) <= tol / n))
        unmatched = 1.0 - float(matched.mean())
        if cov < 0.75 or unmatched > 0.5 + 1e-9:
            continue
        score = cov - 0.5 * unmatched
        if score > best_score + 1e-9:
            best, best_score = n, score
    return best


def _plot_area(g: np.ndarray, tol: float = 0.05, content: float = 0.5) -> np.ndarray:
    """``g`` cropped to its plot area when it sits in a plain figure surround.

    A figure (a matplotlib strip of GAN samples, a paper's panel) puts the panels inside a
    plain white or black surround that also carries tick labels and captions; those few dark
    marks break every gutter's "constant over the full height" test. The surround colour is the
    median of the outermost 2-px frame, accepted as plain when 90 % of the frame is within
    ``tol`` of it; content rows (columns) are those where at least ``content`` of the pixels
    differ from it, and the crop spans the first to the last content row and column (gutters of
    the surround colour between panels stay inside it). Without a plain surround, or when the crop would keep under a quarter of a side,
    ``g`` is returned unchanged. Positions found on the crop are fractions of the crop.
    """
    h, w = g.shape
    if min(h, w) < 16:
        return g
    frame = np.concatenate([g[:2].ravel(), g[-2:].ravel(), g[:, :2].ravel(), g[:, -2:].ravel()])
    level = float(np.median(frame))
    if np.mean(np.abs(frame - level) < tol) < 0.9:
        return g
    differs = np.abs(g - level) >= tol

    def extent(mask: np.ndarray) -> tuple[int, int]:
        idx = np.flatnonzero(mask)
        return (int(idx[0]), int(idx[-1]) + 1) if idx.size else (0, 0)

    r0, r1 = extent(differs.mean(axis=1) >= content)
    c0, c1 = extent(differs.mean(axis=0) >= content)
    if r1 - r0 < h / 4 or c1 - c0 < w / 4:
        return g
    return g[r0:r1, c0:c1]


def grid_layout(image: LoadedImage) -> tuple[AxisSeams, AxisSeams]:
    """(row seams, column seams) of ``image`` (memoised), read on the positive: a film that its
    region's polarity layout reads as a negative (:func:`anatscore.anatomy.polarity.image_inverted`)
    is flipped first, so the saturated spine of a negative chest, a flat dark column with ragged
    edges, is not taken for a black gutter (a bright one must have straight edges)."""

    def axis(arr: np.ndarray) -> tuple[AxisSeams, int]:
        gutters, steps = _seam_kinds(arr)
        gutters = _merge_close(sorted(gutters))
        seams = _merge_close(sorted(gutters + steps))
        by_gutters = _fit_panels(gutters)
        panels = by_gutters if by_gutters > 1 else _fit_panels(seams)
        shown = gutters if by_gutters > 1 else seams
        return AxisSeams(tuple(shown), panels, tuple(gutters)), by_gutters

    def compute() -> tuple[AxisSeams, AxisSeams]:
        g = _small_grey(image, GRID_SIDE)
        if image_inverted(image):
            g = 1.0 - g
        (rows, _), (cols, _) = axis(g.T), axis(g)
        if rows.panels * cols.panels == 1:
            # A figure: panels inside a plain surround with tick labels or captions, which break
            # the full-height gutter test. Look again inside the plot area, trusting only a grid
            # that its gutter bands alone fit (gutters are the strong evidence).
            crop = _plot_area(g)
            if crop.shape != g.shape and min(crop.shape[0] / g.shape[0], crop.shape[1] / g.shape[1]) >= 0.5:
                (r2, gr), (c2, gc) = axis(crop.T), axis(crop)
                # three or more panels: a hand's palm and fingers, cropped, can show one
                # digit-to-digit gap that looks like a gutter
                if max(gr, gc) > 1 and r2.panels * c2.panels >= 3:
                    return r2, c2
        return rows, cols

    return image.memo("layout.grid", compute)


# ------------------------------------------------------------------------------------------------
# the checks


def film_photo(image: LoadedImage, ctx: CheckContext) -> CheckResult:
    """``layout.film_photo``: is this a photograph of a film / light box / monitor?"""
    cues = film_cues(image)
    reasons = cues.reasons()
    flagged = cues.flagged()
    if flagged:
        reason = "looks like a photo of a film: " + "; ".join(reasons)
    else:
        reason = "native image layout" + (f" (weak cues: {'; '.join(reasons)})" if reasons else "")
    return CheckResult.judge(
        "layout.film_photo",
        round(cues.score(), 4),
        not flagged,
        reason,
        cast=None if cues.colour is None else round(cues.colour.cast, 4),
        tilted_edges=len(cues.tilted),
        border=cues.border,
        fan=cues.fan,
        surround=round(cues.surround_delta, 4),
    )


def multi_panel(image: LoadedImage, ctx: CheckContext) -> CheckResult:
    """``layout.multi_panel``: is this a grid of several slices or views? value = panels."""
    rows, cols = grid_layout(image)
    n = rows.panels * cols.panels
    if n > 1:
        reason = f"grid of {rows.panels} x {cols.panels} panels (seams at rows {_fmt(rows.positions)}, cols {_fmt(cols.positions)})"
    else:
        reason = "single panel"
    return CheckResult.judge("layout.multi_panel", float(n), n == 1, reason, rows=rows.panels, cols=cols.panels)


def greyscale(image: LoadedImage, ctx: CheckContext) -> CheckResult:
    """``layout.greyscale``: colour where the image should be grey (value = the cast).

    A global cast (see :class:`ColourStats`) fails; local colour passes with a note, since
    Doppler, palettes and annotations are normal in ultrasound. Value = the cast.
    """
    st = colour_stats(image)
    if st is None:
        return CheckResult.judge("layout.greyscale", 0.0, True, "single-channel image", coloured_frac=0.0)
    extra = {"coloured_frac": round(st.coloured_frac, 4), "chroma_median": round(st.chroma_median, 4)}
    if st.cast >= CAST_MIN:
        r, g, b = st.offset
        return CheckResult.judge(
            "layout.greyscale", round(st.cast, 4), False,
            f"colour cast over the whole image (median R/G/B relative to grey {r:+.3f}/{g:+.3f}/{b:+.3f}, limit {CAST_MIN})",
            **extra,
        )
    note = f"grey; {100 * st.coloured_frac:.1f}% of pixels coloured (overlays/Doppler)" if st.coloured_frac > 0.001 else "grey"
    return CheckResult.judge("layout.greyscale", round(st.cast, 4), True, note, **extra)


def _fmt(pos: tuple[float, ...]) -> str:
    return "[" + ", ".join(f"{p:.2f}" for p in pos) + "]"

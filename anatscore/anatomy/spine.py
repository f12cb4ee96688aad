"""Weight-free vertebral-body counting along the spine axis of a frontal (AP/PA) spine film,
and spine phantoms with known counts.

Method: the spine is the densest vertical column of a frontal film. On a working grid of height
``WORK_H`` the axis is traced as the per-row argmax of a heavily smoothed image inside the
central 60 % of the width, fitted by a quadratic ``x(y)``. The intensity along the axis (mean over
a band of +-``band`` px) gives a profile whose bright runs are vertebral bodies and dark dips are
disc spaces. After removing the slow trend (Gaussian of ``sigma = 2 x`` the dominant period from
the autocorrelation) the bodies are (when the autocorrelation at that period is at least ``MIN_PERIODICITY``) the peaks with prominence >= ``0.5 sd`` of the profile and at
least ``0.55`` periods apart (``scipy.signal.find_peaks``). Spacing regularity is the largest
relative deviation of a body-to-body interval from the linear trend of the intervals.

There is no real spine series in the workplace data: this detector is validated on phantoms only
(see ``spine_phantom``), and says so in the README.

:func:`chest_column_period` measures the vertebral period of the thoracic spine seen through the
mediastinum of a frontal chest film (column placed between the lung fields of
:mod:`anatscore.anatomy.chest`). It is measured on the real chests by
``benchmarks/spine_chest.py`` (a clear period on 80 of 135 films, agreeing with anatomy; blind to
one level removed or repeated, since neither changes the period) and backs no registered check.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np
from scipy import ndimage as ndi
from scipy import signal
from skimage import transform

from .chest import LungField

WORK_H = 512

#: Minimum normalised autocorrelation at the period for the profile to count as a vertebral
#: column: phantoms give 0.26 (fused level) to 0.6, uniform noise about 0.1.
MIN_PERIODICITY = 0.2


@dataclass
class SpineProfile:
    """Result of :func:`analyse_spine` (coordinates on the working grid)."""

    count: int
    peaks: list[int]
    intervals: list[float]
    irregularity: float  # max |interval / median - 1| (0 = perfectly regular)
    period: Optional[float]
    periodicity: float = 0.0  # normalised autocorrelation at the period
    axis_x: list[float] = field(default_factory=list)


def _dominant_period(p: np.ndarray, lo: int, hi: int) -> tuple[Optional[float], float]:
    """Shortest autocorrelation peak lag in ``[lo, hi]`` reaching half the highest, and the
    normalised autocorrelation there (``(None, 0.0)`` if there is no peak)."""
    q = p - p.mean()
    ac = np.correlate(q, q, mode="full")[len(q) - 1:]
    if ac[0] <= 0:
        return None, 0.0
    ac = ac / ac[0]
    hi = min(hi, len(ac) - 1)
    if hi <= lo:
        return None, 0.0
    pk, _ = signal.find_peaks(ac[lo:hi + 1])
    if pk.size == 0:
        return None, 0.0
    vals = ac[lo:hi + 1][pk]
    if vals.max() <= 0:  # no positive correlation at any lag: no period (a featureless column)
        return None, float(vals.max())
    # the first peak that reaches half the strongest: a fused level or a missing disc makes a
    # multiple of the true period strong too, the shortest strong lag is the period
    best = pk[np.flatnonzero(vals >= 0.5 * vals.max())[0]]
    return float(best + lo), float(ac[best + lo])


def _irregularity(iv: np.ndarray) -> float:
    """Largest relative residual of body-to-body intervals from their linear trend down the spine.

    Vertebral bodies grow gradually caudally, so the trend (least squares line through the
    intervals, Theil-Sen so that the outlier being looked for cannot bend it) is removed first: ``max_i |iv_i - fit_i| / fit_i``. ``inf`` with fewer than 3 intervals.
    """
    if iv.size < 3:
        return float("inf")
    from scipy.stats import theilslopes

    k = np.arange(iv.size)
    slope, icpt, _, _ = theilslopes(iv, k)  # robust: one fused level must not bend the trend
    fit = icpt + slope * k
    return float(np.max(np.abs(iv - fit) / np.maximum(fit, 1e-9)))


def analyse_spine(grey: np.ndarray, band_frac: float = 0.05) -> SpineProfile:
    """Count vertebral bodies along the spine axis of a frontal film (grey [0, 1], bright = bone)."""
    h, w = grey.shape
    H = WORK_H
    W = max(32, int(round(w * H / h)))
    g = np.asarray(grey, dtype=np.float64)
    fy, fx = max(1, h // H), max(1, w // W)
    if fy > 1 or fx > 1:  # block mean first: cheap anti-aliasing for large films
        g = transform.downscale_local_mean(g, (fy, fx))
    g = transform.resize(g, (H, W), anti_aliasing=g.shape[0] > 2 * H, preserve_range=True, order=1)
    lo, hi = np.percentile(g, [1, 99])
    g = np.clip((g - lo) / (hi - lo + 1e-6), 0, 1)
    c0, c1 = int(0.2 * W), int(0.8 * W)
    sm = ndi.gaussian_filter(g, (H / 32, W / 40))
    ys = np.arange(int(0.03 * H), int(0.97 * H))
    xs = np.argmax(sm[ys, c0:c1], axis=1) + c0
    coef = np.polyfit(ys, xs, 2)
    axis = np.polyval(coef, np.arange(H))
    band = max(2, int(band_frac * W))
    cols = np.clip(np.round(axis).astype(int)[:, None] + np.arange(-band, band + 1)[None, :], 0, W - 1)
    prof = g[np.arange(H)[:, None], cols].mean(1)
    prof = ndi.gaussian_filter1d(prof, 1.0)
    period, strength = _dominant_period(prof - ndi.gaussian_filter1d(prof, H / 8), lo=int(H / 40), hi=int(H / 2.5))
    if period is None or strength < MIN_PERIODICITY:
        return SpineProfile(0, [], [], float("inf"), None, strength, axis.tolist())
    d = prof - ndi.gaussian_filter1d(prof, 2 * period)
    # bodies are flat-topped; smoothing by a sixth of the period turns each plateau into one
    # peak at its centre (noise would otherwise pick a point anywhere on the plateau)
    d = ndi.gaussian_filter1d(d, period / 6)
    sd = float(d.std()) or 1.0
    peaks, _ = signal.find_peaks(d, prominence=0.5 * sd, distance=max(1, int(0.55 * period)))
    edge = int(0.25 * period)
    peaks = peaks[(peaks >= edge) & (peaks < H - edge)]
    iv = np.diff(peaks).astype(float)
    irr = _irregularity(iv)
    return SpineProfile(int(peaks.size), peaks.tolist(), iv.tolist(), irr, period, strength, axis.tolist())


def spine_phantom(
    n: int = 5,
    height: int = 512,
    width: int = 384,
    seed: int = 0,
    fuse: Optional[int] = None,
    jitter: float = 0.04,
    noise: float = 0.02,
    tilt: float = 0.0,
) -> np.ndarray:
    """Synthetic frontal spine film with ``n`` vertebral bodies (known count), grey [0, 1].

    Bodies are rounded rectangles of slightly increasing height down the column, separated by
    dark disc spaces (``disc = 0.28 x body height``), with pedicle ovals, on a soft-tissue body
    of smooth density, blurred and with Gaussian noise. ``fuse=k`` removes the disc between
    bodies ``k`` and ``k + 1`` (a block vertebra: one body twice as tall), ``jitter`` varies body
    heights by that relative s.d., ``tilt`` bends the column sideways by that fraction of the width.
    """
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    img = 0.25 + 0.15 * np.exp(-((xx - width / 2) / (0.35 * width)) ** 2)
    img += 0.05 * yy / height
    margin = 0.04 * height
    grow = np.linspace(1.0, 1.25, n)
    hts = grow * (1 + jitter * rng.standard_normal(n))
    unit = (height - 2 * margin) / (hts.sum() * 1.28)
    bodies = hts * unit
    discs = 0.28 * bodies
    if fuse is not None and 0 <= fuse < n - 1:
        discs[fuse] = 0.0
    y = margin + 0.5 * discs[0]
    bw = 0.22 * width
    for i in range(n):
        y0, y1 = y, y + bodies[i]
        cx = width / 2 + tilt * width * np.sin(np.pi * (y0 + y1) / 2 / height)
        wi = bw * (0.9 + 0.2 * i / max(1, n - 1))
        r = 0.15 * min(bodies[i], wi)
        dx = np.clip(np.abs(xx - cx) - (wi / 2 - r), 0, None)
        dy = np.clip(np.abs(yy - (y0 + y1) / 2) - (bodies[i] / 2 - r), 0, None)
        inside = np.hypot(dx, dy) <= r
        img[inside] += 0.35 + 0.03 * rng.standard_normal()
        for sx in (-1, 1):  # pedicles: brighter rings inside the body
            ped = ((xx - (cx + sx * 0.3 * wi)) / (0.08 * wi)) ** 2 + ((yy - (y0 + 0.35 * bodies[i])) / (0.18 * bodies[i])) ** 2
            img[(ped <= 1) & inside] += 0.1
        y = y1 + discs[i]
    img = ndi.gaussian_filter(img, 1.5)
    img += noise * rng.standard_normal(img.shape)
    return np.clip(img, 0, 1).astype(np.float32)


# --- the spine column of a frontal chest film ------------------------------------------------------

#: Rows of the working grid for the chest column analysis (JSRT films are 1024 px high: full resolution).
COLUMN_H = 1024

#: Column centres tried around the lungs' medial-edge midpoint, in fractions of the width; the
#: one with the most periodic profile is kept. On the even JSRT films the offsets -0.02, 0, +0.02
#: raise the films with a clear period (autocorrelation >= 0.3) from 24 to 41 of 64; the price,
#: a maximum over three tries on a film without a periodic column, is measured by the
#: ``spine_column_erased`` cases of ``benchmarks/spine_chest.py``.
COLUMN_OFFSETS = (-0.02, 0.0, 0.02)


@dataclass
class ColumnPeriod:
    """Vertebral period along the spine column of a frontal chest (rows of a ``COLUMN_H`` grid).

    ``levels`` = lung span / period: vertebral levels between the lung apex and the lowest lung
    base (about T1 to T10-T11 on a PA film in inspiration). ``strength`` is the normalised
    autocorrelation of the column profile at the period (1 = perfectly periodic).
    """

    centre_x: float  # column centre (working-grid column)
    top: int  # lung apex row
    bottom: int  # lowest lung base row
    period: Optional[float]
    strength: float
    levels: Optional[float]
    profile: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))
    segment: tuple[int, int] = (0, 0)  # rows of the profile used
    peaks: list[int] = field(default_factory=list)  # disc rows (dark dips), working grid
    irregularity: float = float("inf")


def _to_height(grey: np.ndarray, h: int) -> np.ndarray:
    """Anti-aliased resize of ``grey`` to height ``h`` keeping the aspect (float64)."""
    g = np.asarray(grey, dtype=np.float64)
    if g.shape[0] == h:
        return g
    w = max(32, int(round(g.shape[1] * h / g.shape[0])))
    f = max(1, g.shape[0] // h)
    if f > 1:  # block mean first: the anti-aliasing, and cheap for 2-4k films
        g = transform.downscale_local_mean(g, (f, f))
    return transform.resize(g, (h, w), anti_aliasing=g.shape[0] > 2 * h, preserve_range=True, order=1)


def column_profile(g: np.ndarray, centre_x: float, top: int, bottom: int, band_frac: float = 0.04,
                   seg: tuple[float, float] = (0.3, 1.1)) -> tuple[np.ndarray, tuple[int, int]]:
    """Detrended intensity profile down the spine column of a chest on the working grid ``g``.

    The film is smoothed anisotropically (Gaussian sigma 3 px down, 9 px across on the 1024 grid:
    horizontal endplate/disc lines survive, oblique rib edges and noise are damped), averaged
    over the band ``centre_x +- band_frac * W`` (about the vertebral body width), and the slow
    trend (Gaussian of 2 % of the height: mediastinum, heart, diaphragm) is subtracted. Rows
    ``top + seg * span`` are kept: from 30 % of the lung span (below the dense upper mediastinum,
    clavicles and first ribs) to 10 % of the span below the lowest lung base (the vertebrae
    behind the heart and diaphragm show best on the even JSRT films).
    """
    h, w = g.shape
    span = bottom - top
    s = h / 1024.0
    sm = ndi.gaussian_filter(g, (3 * s, 9 * s))
    hb = max(2, int(band_frac * w))
    c0, c1 = max(0, int(centre_x - hb)), min(w, int(centre_x + hb) + 1)
    prof = sm[:, c0:c1].mean(1)
    prof = prof - ndi.gaussian_filter1d(prof, 0.02 * h)
    y0, y1 = max(0, int(top + seg[0] * span)), min(h, int(top + seg[1] * span))
    return prof[y0:y1], (y0, y1)


def _strongest_period(p: np.ndarray, lo: int, hi: int) -> tuple[Optional[float], float]:
    """Lag of the highest autocorrelation peak of ``p`` in ``[lo, hi]`` and its normalised value.

    Autocorrelation ``r(k) = sum_i q_i q_{i+k} / sum_i q_i^2`` with ``q = p - mean(p)`` (biased
    estimator: long lags are damped, which favours the fundamental over its multiples); the peak
    is refined to sub-pixel lag by a parabola through its neighbours.
    """
    q = p - p.mean()
    ac = signal.correlate(q, q, mode="full", method="fft")[len(q) - 1:]
    if ac[0] <= 0:
        return None, 0.0
    ac = ac / ac[0]
    hi = min(hi, len(ac) - 2)
    if hi <= lo:
        return None, 0.0
    pk, _ = signal.find_peaks(ac[lo:hi + 1])
    if pk.size == 0:
        return None, 0.0
    k = int(pk[np.argmax(ac[lo:hi + 1][pk])] + lo)
    a, b, c = ac[k - 1], ac[k], ac[k + 1]
    den = a - 2 * b + c
    off = 0.5 * (a - c) / den if den < 0 else 0.0
    return float(k + off), float(b)


def chest_column_period(grey: np.ndarray, lungs: dict[str, LungField], grid: int) -> Optional[ColumnPeriod]:
    """Vertebral period along the thoracic spine of a frontal chest (None without both lungs).

    ``lungs``: the lung fields of :func:`anatscore.anatomy.chest.segment_lungs` on a ``grid`` x
    ``grid`` working grid (re-used from the chest checks' memo). The column centre is the median,
    over rows 10-50 % of the lung span, of the midpoint between the two lungs' medial edges (the
    upper mediastinum sits over the spine; lower down the heart shifts the medial edges); of the
    centres ``COLUMN_OFFSETS`` around it, the one whose profile is most periodic is kept. The
    period is the strongest autocorrelation peak of :func:`column_profile` between span/14 and
    span/6 (11 +- 4 levels in the lung span). Disc rows are the profile's dips at least
    0.55 periods apart; ``irregularity`` is :func:`_irregularity` of their intervals.
    """
    if "right" not in lungs or "left" not in lungs:
        return None
    R, L = lungs["right"], lungs["left"]
    g = _to_height(grey, COLUMN_H)
    h, w = g.shape
    sy, sx = h / grid, w / grid
    top, bottom = min(R.top, L.top), max(R.bottom, L.bottom)
    rows = np.arange(int(top + 0.1 * (bottom - top)), int(top + 0.5 * (bottom - top)) + 1)
    mids = [(np.flatnonzero(R.mask[r]).max() + np.flatnonzero(L.mask[r]).min()) / 2.0
            for r in rows if R.mask[r].any() and L.mask[r].any()]
    if not mids:
        return None
    cx = (float(np.median(mids)) + 0.5) * sx - 0.5
    top_y, bot_y = int(round(top * sy)), int(round((bottom + 1) * sy))
    span = bot_y - top_y
    lags = (int(span / 14), int(np.ceil(span / 6)))
    best: Optional[tuple[float, Optional[float], float, np.ndarray, tuple[int, int]]] = None
    for dx in COLUMN_OFFSETS:  # the medial-edge midpoint can miss the spine by a pedicle's width
        x = cx + dx * w
        prof, segment = column_profile(g, x, top_y, bot_y)
        period, strength = _strongest_period(prof, *lags)
        if best is None or strength > best[2]:
            best = (x, period, strength, prof, segment)
    assert best is not None
    cx, period, strength, prof, segment = best
    out = ColumnPeriod(cx, top_y, bot_y, period, strength, None if period is None else span / period,
                       prof, segment)
    if period is not None:
        d = ndi.gaussian_filter1d(prof, period / 8)
        dips, _ = signal.find_peaks(-d, distance=max(1, int(0.55 * period)), prominence=0.5 * float(d.std() or 1.0))
        out.peaks = (dips + segment[0]).tolist()
        out.irregularity = _irregularity(np.diff(dips).astype(float))
    return out

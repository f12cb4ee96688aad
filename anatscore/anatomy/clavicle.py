"""Weight-free clavicle detector for frontal (PA/AP) chest radiographs -- EXPERIMENTAL.

Status: not registered as a check. On the JSRT films it places the band on the SCR clavicle mask
on 79-87 % of sides, but a clavicle removed by realistic inpainting is caught far less often
than the 90 % target at a 5 % false-failure rate (figures: ``benchmarks/chest_clavicles.py``; the
posterior first and second ribs at the apex are bright bands of the same width and contrast).

Display convention as in :mod:`anatscore.anatomy.chest`: the patient's right on the image's left.

Method (working grid ``WORK`` = 256 px, the grid of :func:`anatscore.anatomy.chest.chest_geometry`):

1. Thorax frame from the lung fields: centre ``c`` midway between the lungs' outer edges and
   thorax width ``W`` (outer edge to outer edge).
2. The window-normalised film is smoothed with a Gaussian of ``sigma = BAND_WIDTH * W / 3``.
3. Oriented band filter, per side and elevation angle ``theta`` (0..30 deg, lateral end up):
   ``A = mean of the film along a straight segment of length LINE_LENGTH * W`` (a line kernel,
   FFT convolution) and the band contrast ``C = min(A(p) - A(p + d u), A(p) - A(p - d u))`` with
   ``u`` the upward normal and ``d = BAND_WIDTH * W``: a bright straight band darker on both
   flanks (the clavicle's upper and lower cortex edges are the two opposite-sign steps; a single
   step such as the lung apex border scores zero, where the mean of the two steps would respond).
4. Search region for the segment centre: rows ``ROWS`` (fractions of the image height; the
   lung-field tops of the chest geometry often include the neck and were a worse anchor) and
   ``CENTRE_X`` thorax widths lateral of ``c``. (On the even JSRT films the SCR clavicle height
   varied less relative to the image height, coefficient of variation 0.16, than relative to the
   lung-field top of the chest geometry, 0.36, whose apex often reaches into the neck.)
5. Pair search: the two clavicles lie at nearly the same height and angle (SCR masks: mid-height
   difference within 4.1 % of the lung-field height, angle difference within 9 deg on 98 % of JSRT
   films), so the pair maximising ``C_right + C_left`` with ``|dy| <= PAIR_DY`` and
   ``|dtheta| <= PAIR_DANGLE`` is chosen; each side is "found" when its contrast reaches
   ``FOUND_CONTRAST``.

The constants were chosen on the even-indexed JSRT films only; the odd-indexed films are held out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np
from scipy import ndimage as ndi
from scipy import signal
from skimage import draw

from .chest import ChestGeometry, analyse_chest, chest_geometry, normalise_window, to_work

WORK = 256
#: band (clavicle) thickness as a fraction of the thorax width; also the flank distance
BAND_WIDTH = 0.04
#: length of the straight segment integrated along the band, in thorax widths
LINE_LENGTH = 0.25
#: elevation angles searched (degrees; lateral end higher than the medial end)
ANGLES = tuple(range(0, 31, 3))
#: rows of the segment centre, as fractions of the image height
ROWS = (0.10, 0.23)
#: distance of the segment centre from the thorax centre, in thorax widths
CENTRE_X = (0.14, 0.24)
#: largest left/right difference of the band heights (fraction of the image height) and angles
PAIR_DY = 0.045
PAIR_DANGLE = 9
#: minimum band contrast (window-normalised intensity) for a side to count as found: the 5th
#: percentile of min(right, left) over the even-indexed JSRT films (benchmarks/chest_clavicles.py)
FOUND_CONTRAST = 0.017

SIDES = ("right", "left")  # patient's sides; right = image left
_SIGN = {"right": -1, "left": 1}  # lateral direction in image columns


@dataclass
class ClavicleBand:
    """The best clavicle-like band on one side (working-grid coordinates)."""

    side: str
    found: bool
    contrast: float  # band contrast C (see module docstring)
    angle_deg: float  # elevation of the lateral end over the medial end
    centre: tuple[float, float]  # (row, col)
    medial: tuple[float, float]  # (row, col) of the segment's medial end
    lateral: tuple[float, float]  # (row, col) of the segment's lateral end
    length: float  # segment length in px (the filter length, not a measured bone length)

    def line(self, n: int) -> list[list[float]]:
        """Segment end points ``[[row, col], [row, col]]`` as fractions of the side ``n``."""
        return [[self.medial[0] / n, self.medial[1] / n], [self.lateral[0] / n, self.lateral[1] / n]]


@dataclass
class ClavicleResult:
    """Both sides' bands, or a reason why no search was possible."""

    n: int
    bands: dict[str, ClavicleBand] = field(default_factory=dict)
    thorax_width: Optional[float] = None
    reason: str = ""

    @property
    def found(self) -> int:
        return sum(b.found for b in self.bands.values())


def line_kernel(length: float, angle: float) -> np.ndarray:
    """Normalised 1-px straight-line kernel of ``length`` px at ``angle`` (radians, from +x,
    counter-clockwise as displayed: rows grow downward)."""
    h = max(1, int(np.ceil(length / 2)))
    k = np.zeros((2 * h + 1, 2 * h + 1))
    dx, dy = np.cos(angle) * length / 2, -np.sin(angle) * length / 2
    rr, cc = draw.line(int(round(h - dy)), int(round(h - dx)), int(round(h + dy)), int(round(h + dx)))
    k[rr, cc] = 1.0
    return k / k.sum()


def _side_profiles(s: np.ndarray, side: str, c: float, w: float) -> tuple[np.ndarray, np.ndarray, int]:
    """Band contrast per (angle, row): best over the side's columns, and that column.

    Returns ``(contrast[len(ANGLES), rows], column[len(ANGLES), rows], first_row)``.
    """
    n = s.shape[0]
    sgn = _SIGN[side]
    d = BAND_WIDTH * w
    y0, y1 = int(ROWS[0] * n), int(ROWS[1] * n)
    x0, x1 = sorted((int(round(c + sgn * CENTRE_X[0] * w)), int(round(c + sgn * CENTRE_X[1] * w))))
    x0, x1 = max(0, x0), min(n - 1, x1)
    prof = np.full((len(ANGLES), y1 - y0 + 1), -np.inf)
    cols = np.zeros(prof.shape, dtype=int)
    if x1 <= x0:
        return prof, cols, y0
    for i, a in enumerate(ANGLES):
        th = np.radians(a)
        k = line_kernel(LINE_LENGTH * w, th if sgn > 0 else np.pi - th)
        # scipy's FFT convolution: ~10x faster than ndi.convolve for these 40-60 px kernels
        A = signal.fftconvolve(s, k, mode="same")
        ux, uy = -sgn * np.sin(th), -np.cos(th)  # upward unit normal of the segment
        up = ndi.shift(A, (-uy * d, -ux * d), order=1, mode="nearest")  # A(p + d u)
        dn = ndi.shift(A, (uy * d, ux * d), order=1, mode="nearest")  # A(p - d u)
        # min of the two flank steps = mean step - |up - dn| / 2: zero on a single step edge
        # (the lung apex border), positive only on a band darker on both sides
        C = np.minimum(A - up, A - dn)[y0: y1 + 1, x0: x1 + 1]
        prof[i] = C.max(1)
        cols[i] = x0 + C.argmax(1)
    return prof, cols, y0


def _band(side: str, contrast: float, angle: float, row: float, col: float, w: float) -> ClavicleBand:
    sgn = _SIGN[side]
    half = LINE_LENGTH * w / 2
    th = np.radians(angle)
    tx, ty = sgn * np.cos(th), -np.sin(th)  # lateral-upward unit tangent
    return ClavicleBand(side=side, found=bool(contrast >= FOUND_CONTRAST), contrast=float(contrast),
                        angle_deg=float(angle), centre=(float(row), float(col)),
                        medial=(float(row - ty * half), float(col - tx * half)),
                        lateral=(float(row + ty * half), float(col + tx * half)), length=2 * half)


def detect_clavicles(grey: np.ndarray, geo: Optional[ChestGeometry] = None) -> ClavicleResult:
    """Find the clavicle band on each side of a frontal chest (grey [0, 1], bright = dense).

    ``geo`` is the chest geometry of the same image (computed when None); it supplies the
    thorax centre and width. Without two lung fields no search is made (``reason`` says so).
    """
    if geo is None:
        geo = analyse_chest(grey, WORK)
    n = geo.n
    if not geo.both_lungs:
        return ClavicleResult(n=n, reason="clavicle search needs two lung fields to place the thorax")
    R, L = geo.lungs["right"], geo.lungs["left"]
    w = float(L.outer - R.outer)
    c = (R.outer + L.outer) / 2.0
    if w < 0.3 * n:
        return ClavicleResult(n=n, thorax_width=w, reason=f"thorax only {w / n:.0%} of the image wide")
    s = ndi.gaussian_filter(normalise_window(to_work(grey, n)), BAND_WIDTH * w / 3)
    pr, cr, y0 = _side_profiles(s, "right", c, w)
    pl, cl, _ = _side_profiles(s, "left", c, w)
    dy = int(round(PAIR_DY * n))
    da = PAIR_DANGLE // (ANGLES[1] - ANGLES[0])
    # best left partner within the allowed height/angle difference of every right candidate
    partner = ndi.maximum_filter(pl, size=(2 * da + 1, 2 * dy + 1), mode="constant", cval=-np.inf)
    i, y = np.unravel_index(int(np.argmax(pr + partner)), pr.shape)
    ia, iy = slice(max(0, i - da), i + da + 1), slice(max(0, y - dy), y + dy + 1)
    j, yl = np.unravel_index(int(np.argmax(pl[ia, iy])), pl[ia, iy].shape)
    j, yl = j + ia.start, yl + iy.start
    bands = {"right": _band("right", pr[i, y], ANGLES[i], y + y0, cr[i, y], w),
             "left": _band("left", pl[j, yl], ANGLES[j], yl + y0, cl[j, yl], w)}
    return ClavicleResult(n=n, bands=bands, thorax_width=w)


def clavicles(image: Any) -> ClavicleResult:
    """Memoised :func:`detect_clavicles` of a :class:`~anatscore.types.LoadedImage` (shares the
    chest geometry memo)."""
    return image.memo("anatomy.chest.clavicles", lambda: detect_clavicles(image.grey, chest_geometry(image)))

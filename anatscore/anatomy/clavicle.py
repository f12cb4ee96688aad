"""Weight-free clavicle detector for frontal (PA/AP) chest radiographs -- EXPERIMENTAL.

Status: not registered as a check. It places its band on the SCR clavicle mask on 97-98 % of JSRT
sides, but at the even films' 5 % threshold it fails 12/63 held-out real films (19 %) and catches a
realistically erased clavicle on 62-84 % of films, short of the issue's targets (5 %, 90 %).
Even at the clavicle's true place (the best band placed on the SCR mask) the measure below
separates a real clavicle from its over-lung part erased with the apex's own texture on only
68-88 % of sides at the real sides' 5th percentile. Figures: ``benchmarks/chest_clavicles.py``.

Display convention as in :mod:`anatscore.anatomy.chest`: the patient's right on the image's left.

What distinguishes the clavicle over the lung apex from the posterior ribs it crosses is not its
brightness (a band filter of the bone's width scores ribs, the apex border and the neck's soft
tissue as high) but its two sharp, parallel cortical edges running straight and rising laterally
for a quarter of the thorax width. Method (working grid ``WORK`` = 512 px):

1. Thorax frame from the weight-free lung fields (:func:`anatscore.anatomy.chest.chest_geometry`,
   shared memo): centre ``c`` midway between the lungs' outer edges and thorax width ``W``.
2. Gradient of the window-normalised film (Gaussian derivatives, ``sigma = SMOOTH`` px).
3. Per side and elevation ``theta`` (``ANGLES``, lateral end up): the derivative across the band,
   ``D = grad . n`` (``n`` the downward unit normal), averaged along a straight segment of
   ``LINE_LENGTH * W`` (line kernel, FFT convolution on a crop around the search window).
4. Edge-pair strength of a band of thickness ``t`` (``THICKNESS``, thorax widths) centred at ``p``:
   ``E = min(Dl(p - t/2 n), -Dl(p + t/2 n))``: positive only where the film brightens into the
   band across its upper edge *and* darkens out of it across its lower edge, both along the whole
   segment. A single step (the apex border) or a blurred band scores little.
5. Search window of the segment centre: rows ``ROWS`` (fractions of the image height) and
   ``CENTRE_X`` thorax widths lateral of ``c`` (the SCR clavicles of the even-indexed JSRT films:
   centre-line at 0.3 W from the centre at rows 0.077-0.236 of the height, elevation 0-30 deg,
   thickness 0.037-0.093 W).
6. Pair search: right and left bands chosen together, at most ``PAIR_DY`` of the height and
   ``PAIR_DANGLE`` apart, maximising the sum of their ``E``. A side is found when
   ``E >= FOUND_EDGE``.

Constants (``FOUND_EDGE``, the segment length, ``SMOOTH``) were chosen on the even-indexed JSRT
films only; the odd-indexed films and the 8 other real chests are held out. They live here and not
in the chest region record because the check is not registered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np
from scipy import ndimage as ndi
from scipy import signal
from skimage import draw

from .chest import ChestGeometry, analyse_chest, chest_geometry, normalise_window, to_work

WORK = 512
#: Gaussian derivative scale on the working grid (px); chosen among 0.7, 1.0, 1.5 on the even films
SMOOTH = 1.0
#: length of the straight segment along which the edge derivative is averaged, in thorax widths;
#: chosen among 0.10, 0.14, 0.18, 0.20, 0.28 on the even films (longer segments leave the curved bone)
LINE_LENGTH = 0.18
#: elevation angles searched (degrees; lateral end higher than the medial end)
ANGLES = tuple(range(0, 33, 4))
#: band thicknesses tried (thorax widths): SCR clavicles of the even films, q0.05 / median / q0.95
THICKNESS = (0.045, 0.057, 0.07)
#: rows of the segment centre, as fractions of the image height
ROWS = (0.07, 0.28)
#: distance of the segment centre from the thorax centre, in thorax widths
CENTRE_X = (0.12, 0.30)
#: largest left/right difference of the band heights (fraction of the image height) and angles
PAIR_DY = 0.045
PAIR_DANGLE = 8
#: minimum edge-pair strength for a side to count as found: the 5th percentile of min(right, left)
#: over the even-indexed JSRT films (``benchmarks/chest_clavicles.py`` prints it)
FOUND_EDGE = 0.0122

SIDES = ("right", "left")  # patient's sides; right = image left
_SIGN = {"right": -1, "left": 1}  # lateral direction in image columns


@dataclass
class ClavicleBand:
    """The best clavicle-like band on one side (working-grid coordinates)."""

    side: str
    found: bool
    strength: float  # edge-pair strength E (see module docstring)
    angle_deg: float  # elevation of the lateral end over the medial end
    thickness: float  # band thickness in px (the best of THICKNESS)
    centre: tuple[float, float]  # (row, col)
    medial: tuple[float, float]  # (row, col) of the segment's medial end
    lateral: tuple[float, float]  # (row, col) of the segment's lateral end
    length: float  # segment length in px (the filter length, not a measured bone length)

    def line(self, n: int) -> list[list[float]]:
        """Segment end points ``[[row, col], [row, col]]`` as fractions of the side ``n``."""
        return [[self.medial[0] / n, self.medial[1] / n], [self.lateral[0] / n, self.lateral[1] / n]]

    def mask(self, n: int) -> np.ndarray:
        """The band as a filled quadrilateral (segment x thickness) on an ``n`` x ``n`` grid."""
        th = np.radians(self.angle_deg)
        nx, ny = _SIGN[self.side] * np.sin(th), np.cos(th)  # downward unit normal (col, row)
        h = self.thickness / 2
        (r0, c0), (r1, c1) = self.medial, self.lateral
        rr = [r0 - h * ny, r1 - h * ny, r1 + h * ny, r0 + h * ny]
        cc = [c0 - h * nx, c1 - h * nx, c1 + h * nx, c0 + h * nx]
        m = np.zeros((n, n), dtype=bool)
        pr, pc = draw.polygon(rr, cc, shape=(n, n))
        m[pr, pc] = True
        return m


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


def _side_profiles(gx: np.ndarray, gy: np.ndarray, side: str, c: float, w: float
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Edge-pair strength per (angle, row): best over the side's columns and thicknesses.

    Returns ``(strength[len(ANGLES), rows], column[...], thickness_px[...], first_row)``.
    """
    n = gx.shape[0]
    sgn = _SIGN[side]
    y0, y1 = int(ROWS[0] * n), int(ROWS[1] * n) + 1
    x0, x1 = sorted((int(round(c + sgn * CENTRE_X[0] * w)), int(round(c + sgn * CENTRE_X[1] * w))))
    x0, x1 = max(0, x0), min(n, x1 + 1)
    prof = np.full((len(ANGLES), y1 - y0), -np.inf)
    cols = np.zeros(prof.shape, dtype=int)
    thick = np.zeros(prof.shape)
    if x1 <= x0:
        return prof, cols, thick, y0
    # crop with a margin of half a segment plus a thickness: FFT convolution of the crop only
    m = int(LINE_LENGTH * w / 2 + max(THICKNESS) * w + 4)
    Y0, Y1, X0, X1 = max(0, y0 - m), min(n, y1 + m), max(0, x0 - m), min(n, x1 + m)
    gxc, gyc = gx[Y0:Y1, X0:X1], gy[Y0:Y1, X0:X1]
    for i, a in enumerate(ANGLES):
        th = np.radians(a)
        nx, ny = sgn * np.sin(th), np.cos(th)  # downward unit normal of the segment (col, row)
        D = gxc * nx + gyc * ny
        Dl = signal.fftconvolve(D, line_kernel(LINE_LENGTH * w, th if sgn > 0 else np.pi - th), mode="same")
        for t in THICKNESS:
            h = t * w / 2
            upper = ndi.shift(Dl, (h * ny, h * nx), order=1, mode="nearest")  # Dl(p - h n)
            lower = ndi.shift(Dl, (-h * ny, -h * nx), order=1, mode="nearest")  # Dl(p + h n)
            E = np.minimum(upper, -lower)[y0 - Y0: y1 - Y0, x0 - X0: x1 - X0]
            best = E.max(1)
            better = best > prof[i]
            prof[i] = np.where(better, best, prof[i])
            cols[i] = np.where(better, x0 + E.argmax(1), cols[i])
            thick[i] = np.where(better, 2 * h, thick[i])
    return prof, cols, thick, y0


def _band(side: str, strength: float, angle: float, thickness: float, row: float, col: float,
          w: float) -> ClavicleBand:
    sgn = _SIGN[side]
    half = LINE_LENGTH * w / 2
    th = np.radians(angle)
    tx, ty = sgn * np.cos(th), -np.sin(th)  # lateral-upward unit tangent (col, row)
    return ClavicleBand(side=side, found=bool(strength >= FOUND_EDGE), strength=float(strength),
                        angle_deg=float(angle), thickness=float(thickness), centre=(float(row), float(col)),
                        medial=(float(row - ty * half), float(col - tx * half)),
                        lateral=(float(row + ty * half), float(col + tx * half)), length=2 * half)


def detect_clavicles(grey: np.ndarray, geo: Optional[ChestGeometry] = None) -> ClavicleResult:
    """Find the clavicle band on each side of a frontal chest (grey [0, 1], bright = dense).

    ``geo`` is the chest geometry of the same image (computed when None); it supplies the
    thorax centre and width. Without two lung fields no search is made (``reason`` says so).
    """
    if geo is None:
        geo = analyse_chest(grey)
    n = WORK
    if not geo.both_lungs:
        return ClavicleResult(n=n, reason="clavicle search needs two lung fields to place the thorax")
    R, L = geo.lungs["right"], geo.lungs["left"]
    f = n / geo.n
    w = float(L.outer - R.outer) * f
    c = (R.outer + L.outer) / 2.0 * f
    if w < 0.3 * n:
        return ClavicleResult(n=n, thorax_width=w, reason=f"thorax only {w / n:.0%} of the image wide")
    s = normalise_window(to_work(grey, n))
    gy = ndi.gaussian_filter(s, SMOOTH, order=(1, 0))
    gx = ndi.gaussian_filter(s, SMOOTH, order=(0, 1))
    pr, cr, tr, y0 = _side_profiles(gx, gy, "right", c, w)
    pl, cl, tl, _ = _side_profiles(gx, gy, "left", c, w)
    dy = int(round(PAIR_DY * n))
    da = PAIR_DANGLE // (ANGLES[1] - ANGLES[0])
    # best left partner within the allowed height/angle difference of every right candidate; the
    # pair maximising the sum: a side without a clavicle is searched only near the mirror of the
    # other side's (maximising the weaker side instead let that side pick its best rib anywhere and
    # drag the other along: even films, one whole clavicle erased, 67 % detected against 78 %)
    partner = ndi.maximum_filter(pl, size=(2 * da + 1, 2 * dy + 1), mode="constant", cval=-np.inf)
    i, y = np.unravel_index(int(np.argmax(pr + partner)), pr.shape)
    ia, iy = slice(max(0, i - da), i + da + 1), slice(max(0, y - dy), y + dy + 1)
    j, yl = np.unravel_index(int(np.argmax(pl[ia, iy])), pl[ia, iy].shape)
    j, yl = j + ia.start, yl + iy.start
    bands = {"right": _band("right", pr[i, y], ANGLES[i], tr[i, y], y + y0, cr[i, y], w),
             "left": _band("left", pl[j, yl], ANGLES[j], tl[j, yl], yl + y0, cl[j, yl], w)}
    return ClavicleResult(n=n, bands=bands, thorax_width=w)


def clavicles(image: Any) -> ClavicleResult:
    """Memoised :func:`detect_clavicles` of a :class:`~anatscore.types.LoadedImage` (shares the
    chest geometry memo)."""
    return image.memo("anatomy.chest.clavicles", lambda: detect_clavicles(image.grey, chest_geometry(image)))


def gradients(grey: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(d/dcol, d/drow)`` of the window-normalised film on the working grid (Gaussian ``SMOOTH``)."""
    s = normalise_window(to_work(grey, WORK))
    return ndi.gaussian_filter(s, SMOOTH, order=(0, 1)), ndi.gaussian_filter(s, SMOOTH, order=(1, 0))


def band_strength(grads: tuple[np.ndarray, np.ndarray], side: str, centre: tuple[float, float], angle_deg: float,
                  length: float, thickness: float) -> float:
    """Edge-pair strength ``E`` of one given straight band (working-grid px; ``centre`` = (row, col)).

    ``grads`` = :func:`gradients` of the film. The same measure as the search, sampled along the
    band instead of searched for: the mean of the across-band derivative along the upper edge line,
    and minus that along the lower edge line, the smaller of the two. Used to measure a band placed
    by a reference (e.g. on the SCR mask) with the detector's yardstick.
    """
    gx, gy = grads
    sgn = _SIGN[side]
    th = np.radians(angle_deg)
    tx, ty = sgn * np.cos(th), -np.sin(th)
    nx, ny = sgn * np.sin(th), np.cos(th)
    t = np.linspace(-length / 2, length / 2, max(8, int(length)))
    h = thickness / 2
    out = []
    for k in (-h, h):
        rr, cc = centre[0] + t * ty + k * ny, centre[1] + t * tx + k * nx
        d = (ndi.map_coordinates(gx, [rr, cc], order=1, mode="nearest") * nx
             + ndi.map_coordinates(gy, [rr, cc], order=1, mode="nearest") * ny)
        out.append(float(d.mean()))
    return min(out[0], -out[1])

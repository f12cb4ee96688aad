"""``layout.burned_text``: text and annotations burned into the pixels.

Generators write pseudo-text on radiographs (labels, markers, captions); scanners burn in patient
data, and screenshots carry their viewer's overlays. The detector looks for *lines of glyphs*:

1. top-hat filtering (white top-hat for light text, black top-hat for dark text) with a 9 x 9
   footprint keeps structures thinner than a glyph stroke box and removes anatomy and gradients;
2. pixels whose top-hat response exceeds :data:`CONTRAST` become glyph candidates; connected
   components with glyph-like boxes (height 5-40 px, width 1-40 px, fill 15-95%) are kept;
3. components are chained left-to-right when their heights agree within a factor 2, their
   vertical centres within half a height and the gap is under 1.2 heights; a chain of at least
   :data:`MIN_GLYPHS` components sharing a baseline and a height (see :func:`_aligned`) on a
   plain ground (see :func:`_plain_background`) is a text line.

Works on a copy whose long side is at most 1024 px (glyphs of a few pixels survive). Value = the
number of text lines; the check fails when there is at least one, and reports their boxes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from ..types import CheckResult, LoadedImage
from . import CheckContext

TEXT_SIDE = 1024
CONTRAST = 0.25  # top-hat response (in [0, 1] intensity) of a glyph stroke
MIN_GLYPHS = 3
GROUND_STD = 0.06  # intensity std of the ground the glyphs sit on


@dataclass(frozen=True)
class TextLine:
    """A chain of glyph-like components: box (x0, y0, x1, y1) in original pixels and count."""

    box: tuple[int, int, int, int]
    glyphs: int


def _glyphs(mask: np.ndarray) -> list[tuple[float, float, float, float]]:
    """Glyph-like components of ``mask`` as (x0, y0, x1, y1)."""
    lab, n = ndi.label(mask, structure=np.ones((3, 3), bool))
    out = []
    for k, sl in enumerate(ndi.find_objects(lab), start=1):
        if sl is None:
            continue
        h = sl[0].stop - sl[0].start
        w = sl[1].stop - sl[1].start
        if not (5 <= h <= 40 and 1 <= w <= 40 and w <= 2.5 * h):
            continue
        fill = float((lab[sl] == k).sum()) / (h * w)
        if 0.15 <= fill <= 0.95:
            out.append((float(sl[1].start), float(sl[0].start), float(sl[1].stop), float(sl[0].stop)))
    return out


def _chain(glyphs: list[tuple[float, float, float, float]]) -> list[list[int]]:
    """Chains of glyph indices forming text lines (greedy, left to right)."""
    order = sorted(range(len(glyphs)), key=lambda i: glyphs[i][0])
    used: set[int] = set()
    lines: list[list[int]] = []
    for i in order:
        if i in used:
            continue
        chain = [i]
        used.add(i)
        cur = i
        while True:
            x0, y0, x1, y1 = glyphs[cur]
            h, cy = y1 - y0, (y0 + y1) / 2
            best, best_gap = -1, np.inf
            for j in order:
                if j in used:
                    continue
                a0, b0, a1, b1 = glyphs[j]
                hj = b1 - b0
                gap = a0 - x1
                if gap < -1 or gap > 1.2 * max(h, hj):
                    continue
                if not (0.5 <= hj / h <= 2.0) or abs((b0 + b1) / 2 - cy) > 0.5 * max(h, hj):
                    continue
                if gap < best_gap:
                    best, best_gap = j, gap
            if best < 0:
                break
            chain.append(best)
            used.add(best)
            cur = best
        if len(chain) >= MIN_GLYPHS and _aligned([glyphs[k] for k in chain]):
            lines.append(chain)
    return lines


def _aligned(boxes: list[tuple[float, float, float, float]]) -> bool:
    """Typeset glyphs share a baseline and a height; chained texture blobs do not.

    Bottoms (baseline) must agree within 20% of the median height and heights within 35%
    (coefficient of variation); descenders and punctuation are few enough for the median.
    """
    h = np.array([b[3] - b[1] for b in boxes])
    bottoms = np.array([b[3] for b in boxes])
    med = float(np.median(h))
    dev = np.abs(bottoms - np.median(bottoms))
    return bool(np.median(dev) <= 0.2 * med and h.std() <= 0.35 * h.mean())


def _plain_background(g: np.ndarray, mask: np.ndarray, box: tuple[float, float, float, float]) -> bool:
    """Burned-in text sits on a plain ground (a black margin, a label box): the non-glyph pixels
    of its box (grown by 2 px) vary little (std < :data:`GROUND_STD`), unlike chains of
    trabeculae or speckle that merely look glyph-like."""
    x0, y0, x1, y1 = (int(v) for v in box)
    sl = (slice(max(0, y0 - 2), y1 + 2), slice(max(0, x0 - 2), x1 + 2))
    ground = g[sl][~ndi.binary_dilation(mask[sl], iterations=1)]
    return ground.size > 0 and float(ground.std()) < GROUND_STD


def text_lines(image: LoadedImage) -> list[TextLine]:
    """Text lines burned into ``image`` (memoised); see the module docstring."""

    def compute() -> list[TextLine]:
        g = image.grey.astype(np.float32)
        f = int(np.ceil(max(g.shape) / TEXT_SIDE))
        if f > 1:
            g = g[: g.shape[0] // f * f, : g.shape[1] // f * f].reshape(g.shape[0] // f, f, g.shape[1] // f, f).mean(axis=(1, 3))
        found: list[TextLine] = []
        for hat in (ndi.white_tophat, ndi.black_tophat):
            resp = hat(g, size=(9, 9))
            mask = resp > CONTRAST
            glyphs = _glyphs(mask)
            for chain in _chain(glyphs):
                xs0, ys0, xs1, ys1 = zip(*(glyphs[i] for i in chain))
                if not _plain_background(g, mask, (min(xs0), min(ys0), max(xs1), max(ys1))):
                    continue
                box = (int(min(xs0) * f), int(min(ys0) * f), int(max(xs1) * f), int(max(ys1) * f))
                found.append(TextLine(box, len(chain)))
        return found

    return image.memo("layout.text_lines", compute)


def burned_text(image: LoadedImage, ctx: CheckContext) -> CheckResult:
    """``layout.burned_text``: lines of burned-in text or annotation glyphs (value = lines)."""
    lines = text_lines(image)
    n = len(lines)
    if n:
        glyphs = sum(ln.glyphs for ln in lines)
        reason = f"{n} line(s) of burned-in text ({glyphs} glyphs), first at x,y {lines[0].box[0]},{lines[0].box[1]}"
    else:
        reason = "no burned-in text found"
    return CheckResult.judge(
        "layout.burned_text", float(n), n == 0, reason,
        evidence={"boxes": [list(ln.box) for ln in lines[:20]]} if n else None,
        glyphs=sum(ln.glyphs for ln in lines),
    )

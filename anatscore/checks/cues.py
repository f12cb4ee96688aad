"""``modality.cues``: weight-free geometry cues of the acquisition, and the modality they suggest.

Each modality leaves a shape in the frame, whatever the anatomy:

- ultrasound: a *sector* (fan) of speckle that widens with depth from an apex near the top, on a
  black display;
- axial CT / MR: a roundish *body outline* on a black surround that does not touch the frame;
- radiograph: content running off the frame edges (or to a collimation edge), little black.

Measured on the working copy (long side <= 256): the content mask (grey > 0.06, closed and
hole-filled, largest component), its widths at the top and bottom of its rows, whether it touches
the frame, its solidity, the black fraction, and speckle (median local coefficient of variation
inside the content). The guess is a small decision list (:func:`guess`), reported with the cues.

No verdict (``passed`` is None): on the real images the guesses contradict the true modality too
often (every small MR slice reads as speckle, 14% of ultrasound as radiograph) to fail an image
on them, and they are not accurate enough to fill in missing metadata as an inference check (see
``benchmarks/modality_accuracy.py``). The reference-gallery classifier is the tool for that.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from ..types import CheckResult, LoadedImage
from . import CheckContext
from .layout import WORK_SIDE, _small_grey


@dataclass(frozen=True)
class ModalityCues:
    """Geometry cues of one image (fractions in [0, 1])."""

    black: float  # fraction of pixels <= 0.06
    content: float  # area fraction of the main content component
    touches: int  # how many frame sides the content reaches (0-4)
    taper: float  # content width in its top 15% of rows / width in its bottom 15% (fan: < 0.5)
    solidity: float  # content area / convex hull area
    speckle: float  # median local std / mean inside the content (ultrasound speckle is high)


def modality_cues(image: LoadedImage) -> ModalityCues:
    """Compute :class:`ModalityCues` (memoised)."""

    def compute() -> ModalityCues:
        from skimage.measure import label, regionprops

        g = _small_grey(image, WORK_SIDE)
        h, w = g.shape
        # pad by edge replication so the closing does not erode content that reaches the frame
        padded = np.pad(g > 0.06, 3, mode="edge")
        mask = ndi.binary_fill_holes(ndi.binary_closing(padded, structure=np.ones((5, 5)))[3:-3, 3:-3])
        lab = label(mask)
        if lab.max() == 0:
            return ModalityCues(float((g <= 0.06).mean()), 0.0, 0, 1.0, 1.0, 0.0)
        props = max(regionprops(lab), key=lambda p: p.area)
        comp = lab == props.label
        rows = np.flatnonzero(comp.any(axis=1))
        widths = comp[rows].sum(axis=1).astype(float)
        k = max(1, int(0.15 * len(rows)))
        taper = float(np.median(widths[:k]) / max(np.median(widths[-k:]), 1.0))
        touches = int(comp[0].any()) + int(comp[-1].any()) + int(comp[:, 0].any()) + int(comp[:, -1].any())
        m = ndi.uniform_filter(g, 5)
        sd = np.sqrt(np.maximum(ndi.uniform_filter(g * g, 5) - m * m, 0))
        inner = ndi.binary_erosion(comp, iterations=3)
        speckle = float(np.median(sd[inner] / np.maximum(m[inner], 0.02))) if inner.any() else 0.0
        return ModalityCues(
            black=float((g <= 0.06).mean()),
            content=float(props.area) / (h * w),
            touches=touches,
            taper=taper,
            solidity=float(props.solidity),
            speckle=speckle,
        )

    return image.memo("modality.cues", compute)


def guess(c: ModalityCues) -> tuple[str, str]:
    """(modality guess or "", the cue that decided it). Decision list, first match wins.

    Thresholds were read off the cue distributions of the real images in ``../shared/data``
    (radiograph speckle <= 0.10 at the 95th percentile, ultrasound >= 0.13 at the 25th; CT/MR
    black surround >= 0.15) - the same images the benchmark scores, so the figures there are
    optimistic for unseen sources.
    """
    if c.touches >= 3 and c.black < 0.1 and c.speckle < 0.12:
        return "xray", f"content fills the frame ({c.touches} sides reached, {100 * c.black:.0f}% black), smooth"
    if c.speckle >= 0.15 and (c.taper < 0.6 or c.black >= 0.1 or c.touches >= 3):
        return "us", f"speckle {c.speckle:.2f} (top/bottom width {c.taper:.2f}, {100 * c.black:.0f}% black)"
    if c.black >= 0.15 and c.touches <= 1:
        return "ct/mri", f"body outline on a black surround ({100 * c.black:.0f}% black, {c.touches} sides reached)"
    return "", "no decisive cue"


def cues_check(image: LoadedImage, ctx: CheckContext) -> CheckResult:
    """``modality.cues``: geometry cues and the modality they suggest (informational, no verdict).

    ``extra["guess"]`` is the suggestion ("" when no cue is decisive) and ``extra["agrees"]``
    whether it is consistent with the requested modality (None when either is unknown).
    """
    c = modality_cues(image)
    g, why = guess(c)
    want = image.meta.modality
    agrees = None if not (g and want) else want in g.split("/")
    extra = {
        "guess": g, "agrees": agrees, "black": round(c.black, 3), "touches": c.touches,
        "taper": round(c.taper, 3), "solidity": round(c.solidity, 3), "speckle": round(c.speckle, 3),
    }
    head = f"requested {want}; " if want else ""
    body = f"cues suggest {g}: {why}" if g else why
    return CheckResult("modality.cues", None, None, head + body, extra)

"""Polarity of a radiograph from where its region's dense and lucent structures lie.

The shared segmentation (:mod:`anatscore.anatomy.segment`) decides polarity from air at the image
border; tight crops (the knee crops) and many chest films have none, and an inverted chest or knee
then failed its anatomy checks (the lungs of a negative chest film are bright). For a region whose
layout is known, its record (``anatscore/anatomy/regions/<region>.json``) may carry::

    "polarity": {"bright": [[r0, r1, c0, c1]], "dark": [[r0, r1, c0, c1], ...], "min_gap": 0.05,
                 "note": "where it was measured"}

Boxes are fractions of the image height (``r``) and width (``c``). In a radiograph of normal
polarity (bright = dense) the ``bright`` box (the mediastinum and spine of a PA chest; the bones in
the middle of a knee AP) is brighter than **every** ``dark`` box (each lung; the soft tissue at
either side of the knee); inverted, it is darker than every one. Requiring every dark box keeps one
opacified lung (white, as bright as the mediastinum) from turning the decision: the cue then
abstains instead. The medians are taken on the image scaled to its 1st-99th percentiles at no more
than 256 px.

``judge`` returns ``True`` (inverted), ``False`` (normal) or ``None`` (the gaps are both under
``min_gap``: the layout does not say). The thresholds are measured by
``PYTHONPATH=. OMP_NUM_THREADS=1 python benchmarks/polarity.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Optional

import numpy as np

from .expected import expected

__all__ = ["RegionPolarity", "region_polarity", "polarity_gaps", "judge", "layout_inverted", "image_inverted"]

Box = tuple[float, float, float, float]

#: Long side of the copy the box medians are read on.
WORK_SIDE = 256


@dataclass(frozen=True)
class RegionPolarity:
    """Where the dense (``bright``) and lucent (``dark``) parts of a region's film lie."""

    region: str
    bright: tuple[Box, ...]
    dark: tuple[Box, ...]
    min_gap: float

    @classmethod
    def from_record(cls, region: str, raw: dict[str, Any]) -> "RegionPolarity":
        def boxes(key: str) -> tuple[Box, ...]:
            out = tuple(tuple(float(v) for v in b) for b in raw[key])
            for b in out:
                if len(b) != 4 or not (0 <= b[0] < b[1] <= 1 and 0 <= b[2] < b[3] <= 1):
                    raise ValueError(f"region {region!r}: polarity box {b} is not [r0, r1, c0, c1] within 0..1")
            return out  # type: ignore[return-value]

        return cls(region, boxes("bright"), boxes("dark"), float(raw["min_gap"]))


@lru_cache(maxsize=None)
def region_polarity(region: Optional[str]) -> Optional[RegionPolarity]:
    """The polarity layout of ``region``'s record, or None (no region, no record, no entry)."""
    if not region:
        return None
    try:
        raw = expected(region).raw.get("polarity")
    except KeyError:
        return None
    return RegionPolarity.from_record(region, raw) if raw else None


def _small(grey: np.ndarray) -> np.ndarray:
    g = np.asarray(grey, dtype=np.float32)
    step = max(1, int(np.ceil(max(g.shape) / WORK_SIDE)))
    if step > 1:
        h, w = (g.shape[0] // step) * step, (g.shape[1] // step) * step
        g = g[:h, :w].reshape(h // step, step, w // step, step).mean(axis=(1, 3))
    lo, hi = np.percentile(g, [1.0, 99.0])
    return np.clip((g - lo) / max(float(hi - lo), 1e-6), 0.0, 1.0)


def _median(g: np.ndarray, box: Box) -> float:
    h, w = g.shape
    r0, r1, c0, c1 = box
    part = g[int(r0 * h): max(int(r1 * h), int(r0 * h) + 1), int(c0 * w): max(int(c1 * w), int(c0 * w) + 1)]
    return float(np.median(part))


def polarity_gaps(grey: np.ndarray, layout: RegionPolarity) -> tuple[float, float]:
    """``(normal, inverted)``: how much the bright box's median exceeds the brightest dark box's,
    and how much the darkest dark box's median exceeds the bright box's (grey any range)."""
    g = _small(grey)
    b = float(np.median([_median(g, x) for x in layout.bright]))
    d = [_median(g, x) for x in layout.dark]
    return b - max(d), min(d) - b


def judge(grey: np.ndarray, layout: RegionPolarity) -> tuple[Optional[bool], dict[str, float]]:
    """``(inverted, cue values)``: True / False when one gap reaches ``min_gap``, else None."""
    normal, inverted = polarity_gaps(grey, layout)
    info = {"region_normal_gap": normal, "region_inverted_gap": inverted, "region_min_gap": layout.min_gap}
    if normal >= layout.min_gap:
        return False, info
    if inverted >= layout.min_gap:
        return True, info
    return None, info


def layout_inverted(grey: np.ndarray, region: Optional[str]) -> Optional[bool]:
    """:func:`judge` of ``grey`` by ``region``'s layout (None: no layout, or it does not say)."""
    layout = region_polarity(region)
    return None if layout is None else judge(grey, layout)[0]


def image_inverted(image: Any) -> Optional[bool]:
    """Memoised :func:`layout_inverted` of a :class:`~anatscore.types.LoadedImage` by its region:
    one decision per image, shared by the segmentation, the chest geometry and the grid gate."""
    region = getattr(getattr(image, "meta", None), "region", None)
    if region_polarity(region) is None:
        return None
    return image.memo(f"anatomy.polarity.{region}", lambda: layout_inverted(image.grey, region))

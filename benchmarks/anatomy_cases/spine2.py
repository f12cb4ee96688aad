"""Spine cases on real films (branch spine2): the thoracic spine of the JSRT chests, the KUB, and
controlled corruptions of the chests' spine column.

Real films (expected to pass ``spine.vertebra_count`` and ``spine.spacing`` wherever those apply):
the 127 JSRT PA chests, the 7 torchxrayvision test chests, the pydicom-data CR chest (region
``chest``) and the Vanderbilt KUB (region ``abdomen``).

Corruptions of each JSRT film's spine column (``anatscore.anatomy.corrupt``), placed by this
module's own means, not by the check: the column centre is the midpoint of the SCR lung masks'
medial edges (median over rows 10-50 % of the lung span), the band half-width 4 % of the width;
the period is the strongest periodogram peak (Hann window) of the column's mean high-passed
intensity (high-pass: film minus its Gaussian blur of 2 % of the height) between span/13 and
span/8 of the SCR lung span; the disc row is the darkest row of that profile, smoothed by a
sixth of the period, within half a period of 60 % down the lung span.

* ``vertebral_level_removed``: one level cut out of the column and the gap closed
  (:func:`~anatscore.anatomy.corrupt.remove_vertebral_level`), expected to fail
  ``spine.vertebra_count``;
* ``vertebral_level_duplicated``: one level shown twice (expected to fail ``spine.vertebra_count``);
* ``disc_space_fused``: that disc space filled with bone (expected to fail ``spine.spacing``);
* ``spine_column_smeared``: the column's fine structure smoothed down the column over a band of
  +-7 % of the width (no vertebrae visible; :func:`~anatscore.anatomy.corrupt.smear_spine_column`):
  the null case for the period's confidence, expected to fail ``spine.vertebra_count``.

The even-indexed JSRT films (sorted by name) calibrate constants, the odd-indexed are held out
(``meta["half"]``).
"""

from __future__ import annotations

from functools import lru_cache, partial
from pathlib import Path
from typing import Callable, Iterator, Optional

import numpy as np
from scipy import ndimage as ndi
from scipy import signal

from anatscore.anatomy import corrupt

from . import Case
from .axial import _grey, other_chests

COUNT, SPACING = "spine.vertebra_count", "spine.spacing"
SMEAR_HALF_WIDTH = 0.07  # of the width: covers every column centre the analysis tries
KUB = "real/xray/abdomen/vanderbilt_kub_annotated.png"
CORRUPTIONS: dict[str, tuple[Callable[..., np.ndarray], str]] = {
    "vertebral_level_removed": (corrupt.remove_vertebral_level, COUNT),
    "vertebral_level_duplicated": (corrupt.duplicate_vertebral_level, COUNT),
    "disc_space_fused": (corrupt.fuse_disc_space, SPACING),
    "spine_column_smeared": (corrupt.smear_spine_column, COUNT),
}


def jsrt_films(data: Path) -> list[Path]:
    return sorted((data / "real/xray/chest/jsrt_scr/images").glob("*.png"))


@lru_cache(maxsize=4)
def column_from_masks(image: Path) -> tuple[float, float, float, float]:
    """(centre_x, half_width, disc_row, period) of the spine column, from the SCR lung masks and
    the film (see the module docstring)."""
    masks = image.parent.parent / "masks"
    R = _grey(masks / "right_lung" / image.name) > 0.5
    L = _grey(masks / "left_lung" / image.name) > 0.5
    rows = np.flatnonzero(R.any(1) | L.any(1))
    top, bottom = int(rows[0]), int(rows[-1])
    span = bottom - top
    mids = [(np.flatnonzero(R[r]).max() + np.flatnonzero(L[r]).min()) / 2.0
            for r in range(int(top + 0.1 * span), int(top + 0.5 * span)) if R[r].any() and L[r].any()]
    cx = float(np.median(mids))
    g = _grey(image).astype(np.float64)
    h, w = g.shape
    hw = 0.04 * w
    hp = g - ndi.gaussian_filter(g, 0.02 * h)
    prof = hp[:, int(cx - hw):int(cx + hw) + 1].mean(1)
    y0, y1 = int(top + 0.3 * span), min(h, int(top + 1.1 * span))
    seg = prof[y0:y1] - prof[y0:y1].mean()
    n = 8 * len(seg)  # zero-padded periodogram: fine frequency steps
    f, pxx = signal.periodogram(seg, window="hann", nfft=n)
    ok = (f >= 1.0 / (span / 8)) & (f <= 1.0 / (span / 13))
    period = float(1.0 / f[ok][np.argmax(pxx[ok])])
    d = ndi.gaussian_filter1d(prof, period / 6)
    c = top + 0.6 * span
    lo, hi = int(c - period / 2), int(c + period / 2)
    disc = float(lo + np.argmin(d[lo:hi + 1]))
    return cx, hw, disc, period


def _corrupted(image: Path, kind: str) -> np.ndarray:
    fn, _ = CORRUPTIONS[kind]
    cx, hw, disc, period = column_from_masks(image)
    if kind == "spine_column_smeared":
        return fn(_grey(image), cx, SMEAR_HALF_WIDTH * _grey(image).shape[1], period)
    return fn(_grey(image), cx, hw, disc, period)


def all_cases(data_dir: Optional[Path]) -> Iterator[Case]:
    """Real chests and the KUB (expected to pass), and the corruptions of each JSRT film."""
    if data_dir is None:
        return
    both = {COUNT: True, SPACING: True}
    films = jsrt_films(data_dir)
    for i, p in enumerate(films):
        half = "even" if i % 2 == 0 else "odd"
        yield Case(f"jsrt/{p.name}", "chest", "real", partial(_grey, p), dict(both), view="pa", meta={"half": half})
    for name, p in other_chests(data_dir):
        yield Case(name, "chest", "real", partial(_grey, p), dict(both), view="pa", meta={"half": "other"})
    kub = data_dir / KUB
    if kub.is_file():
        yield Case("abdomen/vanderbilt_kub_annotated.png", "abdomen", "real", partial(_grey, kub), dict(both),
                   view="ap", meta={"half": "other"})
    for i, p in enumerate(films):
        half = "even" if i % 2 == 0 else "odd"
        for kind, (_, check) in CORRUPTIONS.items():
            yield Case(f"jsrt/{p.name}#{kind}", "chest", "corrupt", partial(_corrupted, p, kind), {check: False},
                       failure_type=kind, view="pa", meta={"half": half})


def _spine_checks_apply(region: str) -> bool:
    from anatscore.checks import applies
    from anatscore.registry import check_spec
    from anatscore.types import ImageMeta

    meta = ImageMeta(image_id="-", path="-", modality="xray", region=region)
    return any(applies(check_spec(n), meta)[0] for n in (COUNT, SPACING))


def cases(data_dir: Optional[Path]) -> Iterator[Case]:
    """:func:`all_cases` of the regions where ``spine.*`` is registered (for the shared harness).

    ``spine.*`` does not apply to chests or abdomens (the figures of ``benchmarks/spine_chest.py``
    do not hold): their cases are left out here, otherwise the harness would count the real
    chests a second time for the ``chest.*`` checks and every column corruption as a miss of
    ``anatomy.plausible``. They come back by themselves if the registry lets ``spine.*`` apply there.
    """
    keep: dict[str, bool] = {}
    for case in all_cases(data_dir):
        if case.region not in keep:
            keep[case.region] = _spine_checks_apply(case.region)
        if keep[case.region]:
            yield case

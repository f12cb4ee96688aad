"""Knee AP proportion cases for ``proportions.knee``: the real crops and their warped copies.

Real data: the 100 knee AP crops of ``real/xray/knee_kl`` in sorted order; even-indexed files are
the calibration half (the record's medians and sds, ``benchmarks/knee_proportions.py``),
odd-indexed ones are held out (``meta["split"]``). The real crops are also yielded by
``msk.py`` (for ``joint.space`` and the texture check); here they are scored for
``proportions.knee`` only, so the two modules' tallies do not double-count each other's checks.

Corruptions of every crop (``anatscore/anatomy/corrupt_knee.py``: smooth horizontal warps on one
side of the joint line), each expected to fail ``proportions.knee``:

- ``condyles_too_narrow``: the femur squeezed to 0.8 of its width (tibial plateau unchanged);
- ``condyles_too_wide``: the tibia squeezed to 0.8 (condyles 1.25 times the plateau's width).

Not yielded: ``condyle_enlarged`` (notch moved off-centre, :func:`corrupt_knee.enlarge_condyle`),
whose notch position the check reports but does not judge; ``benchmarks/knee_proportions.py``
prints how the notch rule would fare on it. ``CASE_FACTORS`` holds the factors (the benchmark's
for the enlarged condyle too); ``benchmarks/knee_proportions.py`` prints detection for a range of
factors around them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from anatscore.anatomy import corrupt_knee

from . import Case
from .msk import knee_crops, knee_files, load_grey

__all__ = ["cases", "CASE_FACTORS", "JUDGED", "knee_files", "load_grey", "CHECK"]

CHECK = "proportions.knee"
CASE_FACTORS = {"condyles_too_narrow": 0.8, "condyles_too_wide": 0.8, "condyle_enlarged": 2.4}
#: The failure types yielded as cases (those the check judges).
JUDGED = ("condyles_too_narrow", "condyles_too_wide")


def _corrupted(path: Path, ftype: str, i: int) -> Callable[[], np.ndarray]:
    f = CASE_FACTORS[ftype]

    def make() -> np.ndarray:
        g = load_grey(path)
        if ftype == "condyles_too_narrow":
            return corrupt_knee.squeeze_half(g, f, "femur", seed=i)
        if ftype == "condyles_too_wide":
            return corrupt_knee.squeeze_half(g, f, "tibia", seed=i)
        return corrupt_knee.enlarge_condyle(g, f, "left" if i % 4 < 2 else "right")

    return make


def cases(data_dir: Path | None, step: int = 1) -> Iterator[Case]:
    """The two width corruptions of each real crop; nothing without real data. The real crops
    themselves are yielded once, by ``msk`` (expected to pass this check too), so that
    ``anatomy.plausible`` does not count them twice."""
    if data_dir is None:
        return
    for i, path, name, split in knee_crops(data_dir, step):
        for ftype in JUDGED:
            yield Case(f"{name}#{ftype}", "knee", "corrupt", _corrupted(path, ftype, i), {CHECK: False}, ftype, "ap",
                       meta={"split": split})

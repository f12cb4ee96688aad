"""Knee articular-contour cases: the real knee AP crops and their distorted joint surfaces.

Real data: the 100 knee AP crops of ``real/xray/knee_kl`` (OAI-derived 224² crops, KL 0-4),
sorted; even-indexed = calibration half, odd-indexed = held out (``meta["split"]``), as in
``msk.py``. Each is expected to pass ``joint.contour``.

Corruptions of each crop (expected to fail ``joint.contour``), placed along the corruption's
own joint line (:func:`corrupt.knee_joint_line`, not the check's tracer) at a column drawn per
crop (seeded by its index) in the middle of the image's left (0.22-0.32 W) or right
(0.68-0.78 W) compartment, on the femoral or the tibial surface. A compartment is used only
where the gap is open there (:func:`corrupt.knee_gap_depth` >= ``MIN_GAP``); crops with neither
compartment open get no corruption (severe KL-4 narrowing: a closed joint has no contour to
distort). Amplitudes are fractions of the image height H (224 px here):

- ``contour_bump``: a local dent (away from the gap) or protrusion (into it) of one surface,
  Gaussian of 0.02 H (4.5 px, about half a normal joint-space height) and width sigma 0.03 H
  (:func:`corrupt.bump_joint_surface`);
- ``contour_wavy``: one surface rippled over 0.26 W, amplitude 0.01 H (2.2 px), wavelength
  0.08 H (18 px) (:func:`corrupt.wave_joint_surface`);
- ``contour_distorted``: the project's generic warp :func:`corrupt.distort_joint_contour` with
  the amplitude and width of the joints cases (0.03 of the long side away from the gap,
  sigma 0.06) along the same joint line.

``joint.contour`` is not registered, so ``benchmarks/anatomy_accuracy.py --cases knee_contour``
scores only ``anatomy.plausible`` on these; ``benchmarks/knee_contour.py`` scores them as if it
were registered.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from anatscore.anatomy import corrupt

from . import Case
from .msk import knee_crops, load_grey

CONTOUR = "joint.contour"
#: Least gap depth (corrupt.knee_gap_depth) at the chosen column for a corruption to be placed.
MIN_GAP = 0.3
#: Compartment centres drawn from these ranges (fractions of W): image left, image right.
SIDES = ((0.22, 0.32), (0.68, 0.78))


def placement(g: np.ndarray, index: int) -> tuple[float, int, int, np.ndarray] | None:
    """(column fraction, surface side +1 tibia / -1 femur, sign, joint line) for crop ``index``,
    or None when neither compartment is open. Deterministic in ``index``."""
    rng = np.random.default_rng(index)
    line = corrupt.knee_joint_line(g)
    w = g.shape[1]
    order = rng.permutation(2)
    ats = [float(rng.uniform(*SIDES[k])) for k in order]
    side = int(rng.choice([-1, 1]))
    sign = int(rng.choice([-1, 1]))
    for at in ats:
        if corrupt.knee_gap_depth(g, line, at * w) >= MIN_GAP:
            return at, side, sign, line
    return None


def _bump(g: np.ndarray, at: float, side: int, sign: int, line: np.ndarray) -> np.ndarray:
    return corrupt.bump_joint_surface(g, at, amplitude=0.02 * sign, sigma=0.03, side=side, line_rows=line)


def _wave(g: np.ndarray, at: float, side: int, sign: int, line: np.ndarray) -> np.ndarray:
    return corrupt.wave_joint_surface(g, at - 0.13, at + 0.13, period=0.08, amplitude=0.01 * sign, side=side,
                                      line_rows=line)


def _distort(g: np.ndarray, at: float, side: int, sign: int, line: np.ndarray) -> np.ndarray:
    xy = np.stack([np.arange(g.shape[1], dtype=float), line], axis=1)
    return corrupt.distort_joint_contour(g, xy, at=at, amplitude=0.03, sigma=0.06, side=side)


#: failure type -> corruption(g, at, side, sign, line)
CORRUPTIONS: dict[str, Callable[..., np.ndarray]] = {
    "contour_bump": _bump,
    "contour_wavy": _wave,
    "contour_distorted": _distort,
}


def _lazy(path: Path, index: int, fn: Callable[..., np.ndarray]) -> Callable[[], np.ndarray]:
    def make() -> np.ndarray:
        g = load_grey(path)
        p = placement(g, index)
        assert p is not None
        return fn(g, *p)
    return make


def cases(data_dir: Path | None, step: int = 1) -> Iterator[Case]:
    """The shared harness's cases: :func:`contour_cases` once ``joint.contour`` is registered, and
    nothing while it is not (its detection is below the issue's target), so that the real knee
    crops, already scored by ``msk``, are not counted twice in ``anatomy.plausible``."""
    from anatscore.registry import ANATOMY_CHECKS

    if CONTOUR in {s.name for s in ANATOMY_CHECKS}:
        yield from contour_cases(data_dir, step)


def contour_cases(data_dir: Path | None, step: int = 1) -> Iterator[Case]:
    """Real crops and their contour corruptions (nothing without ``data_dir``); used directly by
    ``benchmarks/knee_contour.py``, which scores ``joint.contour`` added in-process."""
    if data_dir is None:
        return
    for i, path, name, split in knee_crops(data_dir, step):
        meta = {"split": split, "kl": int(path.parent.name), "index": i}
        yield Case(name, "knee", "real", (lambda p=path: load_grey(p)), {CONTOUR: True}, view="ap", meta=meta)
        p = placement(load_grey(path), i)
        if p is None:
            continue
        at, side, sign, _ = p
        where = f"{'femur' if side < 0 else 'tibia'}@{at:.2f}"
        for ftype, fn in CORRUPTIONS.items():
            yield Case(f"{name}#{ftype}:{where}", "knee", "corrupt", _lazy(path, i, fn), {CONTOUR: False}, ftype,
                       "ap", meta={**meta, "at": at, "side": side, "sign": sign})

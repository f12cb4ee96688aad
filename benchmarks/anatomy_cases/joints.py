"""Joint cases beyond the knee: real radiographs (one each), their corruptions, joint phantoms.

Real data (thin: one image per joint, said so in ``meta["split"]``): the MURA wrist PA and
shoulder AP examples, the GrazPedWri paediatric wrist and the pydicom-data distal tibia/ankle
lateral (``RG3_J2KR_display.png``). Their joint lines (radiocarpal, glenohumeral, tibiotalar)
were read off the images by hand (``JOINT_LINES``, (x, y) pixels of the file as stored) and are
used only to place the corruptions, never by the check:

- ``joint_fused``: the joint space along that line filled with textured bone (:func:`fuse_joint`);
- ``contour_distorted``: one articular contour pushed away from / into the gap by a smooth local
  warp (:func:`distort_joint_contour`) - listed for the record; no check claims to catch it.

Not used: the MURA elbow, hand and finger (several joints in one view: fusing one leaves the
others, so "a joint gap is visible" cannot fail on them), and the four infant pelvis films (the
hip joints of infants are cartilaginous: the femoral heads are not ossified, there is no bony
joint space to judge).

Phantoms (:func:`phantoms.joint_phantom`, seeded): per region, an open joint of that region's
shape and direction (expected to pass), the same fused (``joint_closed``). No elbow: its joint
direction depends on view and flexion, and with a full +-90 degree search the finder took other
gaps for the joint in 5 of 10 fused elbow phantoms (measured before the elbow entry was
dropped), so the elbow record has no ``joint`` entry.

``joint.space`` is registered for the knee only, so ``benchmarks/anatomy_accuracy.py --cases
joints`` scores nothing here; ``benchmarks/joints_generic.py`` scores these cases as if
``joint.space`` were registered for their regions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from anatscore.anatomy import corrupt, phantoms

from . import Case
from .msk import load_grey

JOINT = "joint.space"
CONTOUR = "joint.contour"
PHANTOM_SEEDS = range(10)
THIN = {"split": "thin (1 image)"}

#: region -> (file under real/xray, view, joint line as (x, y) points of the stored file).
JOINT_LINES: dict[str, tuple[str, str, list[tuple[float, float]]]] = {
    "wrist": ("msk_mura_examples/WRIST.png", "pa", [(183, 302), (200, 298), (220, 292), (240, 284), (262, 270)]),
    "wrist#graz": ("wrist_grazpedwri/0001_1297860395_01_WRI-L1_M014.png", "pa",
                   [(232, 290), (270, 268), (300, 250), (340, 232), (380, 218), (420, 204), (445, 198)]),
    "ankle": ("pydicom_data/RG3_J2KR_display.png", "lateral", [(730, 1415), (780, 1405), (830, 1402), (880, 1410)]),
    "shoulder": ("msk_mura_examples/SHOULDER.png", "ap", [(322, 165), (317, 200), (320, 240)]),
}

#: region -> joint_phantom keyword arguments (shape and direction of that region's joint).
PHANTOM_SHAPES: dict[str, dict[str, float]] = {
    "wrist": {"curvature": -0.4, "angle": 0.0},
    "ankle": {"curvature": 1.0, "angle": 0.0},
    "shoulder": {"curvature": 2.5, "angle": 90.0},
    "finger": {"curvature": -0.2, "angle": 0.0},
}


def _lazy(fn: Callable[..., np.ndarray], path: Path, **kw: object) -> Callable[[], np.ndarray]:
    return lambda: fn(load_grey(path), **kw)


def _identity(g: np.ndarray) -> np.ndarray:
    return g


def real_cases(data_dir: Path) -> Iterator[Case]:
    """The real joint radiographs and their fused / distorted corruptions."""
    for key, (rel, view, pts) in JOINT_LINES.items():
        path = data_dir / "real" / "xray" / rel
        if not path.is_file():
            continue
        region = key.split("#")[0]
        line = np.asarray(pts, dtype=float)
        name = rel
        yield Case(name, region, "real", _lazy(_identity, path), {JOINT: True}, view=view, meta=THIN)
        yield Case(f"{name}#joint_fused", region, "corrupt", _lazy(corrupt.fuse_joint, path, line_xy=line),
                   {JOINT: False}, "joint_fused", view, meta=THIN)
        for k, (at, amp) in enumerate(((0.35, 0.03), (0.65, -0.015))):
            yield Case(f"{name}#contour_distorted{k}", region, "corrupt",
                       _lazy(corrupt.distort_joint_contour, path, line_xy=line, at=at, amplitude=amp),
                       {CONTOUR: False}, "contour_distorted", view, meta=THIN)


def phantom_cases() -> Iterator[Case]:
    """Open and fused joint phantoms of every region's joint shape."""
    for region, kw in PHANTOM_SHAPES.items():
        for seed in PHANTOM_SEEDS:
            yield Case(f"{region}-joint-phantom-open-{seed:02d}", region, "phantom",
                       lambda s=seed, k=kw: phantoms.joint_phantom(**k, seed=s), {JOINT: True})
            yield Case(f"{region}-joint-phantom-fused-{seed:02d}", region, "phantom",
                       lambda s=seed, k=kw: phantoms.joint_phantom(**k, gap=0.0, seed=s), {JOINT: False},
                       "joint_closed")


def cases(data_dir: Path | None) -> Iterator[Case]:
    """All joint cases (phantoms only when ``data_dir`` is None)."""
    yield from phantom_cases()
    if data_dir is not None:
        yield from real_cases(data_dir)

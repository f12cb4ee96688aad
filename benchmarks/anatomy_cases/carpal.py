"""Carpus cases for ``benchmarks/anatomy_accuracy.py``: PA wrist phantoms, real wrists, fused corruptions.

Check scored: ``wrist.carpal_separation`` (expected to pass on normal wrists, to fail on fused ones).

Phantoms (:func:`anatscore.anatomy.phantoms.wrist_phantom`, seeded: random layout jitter,
gap width 0.6-1.0 % of the image height, rotation -20..20 degrees, left/right flip, exposure,
blur, noise; image heights 320-512 px): ``normal`` (7 separable carpal outlines + the
overlapping pisiform, expected to pass), ``partial`` (5 bones merged: 3 outlines),
``rows`` (each row one block: 2 outlines) and ``all`` (one block) - expected to fail
(failure types ``carpus_fused_partial``, ``carpus_fused_rows``, ``carpus_fused_all``).

Real images (thin data, said so in ``meta["split"]``): the MURA wrist and hand examples and the
GrazPedWri paediatric wrist (14-year-old male by its file name; its carpus is cut by the top
edge of the film). Each is corrupted into a fused carpus by
:func:`anatscore.anatomy.corrupt.fuse_carpal_gaps` at three closing sizes (0.10, 0.15, 0.20 of
the carpus radius; failure type ``carpus_gaps_closed``). The carpus disks below were marked by eye
on each image (centre as row/col fractions, radius as a fraction of the shorter side); they are
the corruption's ground truth, not something the check reads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from anatscore.anatomy import corrupt, phantoms

from . import Case
from .msk import load_grey

CHECK = "wrist.carpal_separation"
NORMAL_SEEDS = range(30)
FUSED_SEEDS = range(10)
FUSION_TYPES = {"partial": "carpus_fused_partial", "rows": "carpus_fused_rows", "all": "carpus_fused_all"}
CLOSING_SIZES = (0.10, 0.15, 0.20)

#: Real PA wrists/hands: relative path, region, carpus disk (centre (row, col) fractions, radius).
REAL: dict[str, tuple[str, str, tuple[float, float], float]] = {
    "mura/WRIST.png": ("real/xray/msk_mura_examples/WRIST.png", "wrist", (0.46, 0.45), 0.17),
    "mura/HAND.png": ("real/xray/msk_mura_examples/HAND.png", "hand", (0.80, 0.60), 0.17),
    "grazpedwri/0001_1297860395_01_WRI-L1_M014.png": (
        "real/xray/wrist_grazpedwri/0001_1297860395_01_WRI-L1_M014.png", "wrist", (0.19, 0.55), 0.35),
}


def _size(seed: int) -> int:
    return 320 + 32 * (seed % 7)  # 320 .. 512


def phantom_cases() -> Iterator[Case]:
    for seed in NORMAL_SEEDS:
        yield Case(f"wrist-phantom-normal-{seed:02d}", "wrist", "phantom",
                   lambda s=seed: phantoms.wrist_phantom("none", size=_size(s), seed=s), {CHECK: True}, view="pa")
    for fusion, ftype in FUSION_TYPES.items():
        for seed in FUSED_SEEDS:
            s2 = 1000 + seed
            yield Case(f"wrist-phantom-fused-{fusion}-{seed:02d}", "wrist", "phantom",
                       lambda f=fusion, s=s2: phantoms.wrist_phantom(f, size=_size(s), seed=s), {CHECK: False},
                       ftype, "pa")


def real_cases(data_dir: Path) -> Iterator[Case]:
    for name, (rel, region, centre, radius) in REAL.items():
        path = data_dir / rel
        if not path.is_file():
            continue
        meta = {"split": "thin (3 real images)"}
        yield Case(name, region, "real", lambda p=path: load_grey(p), {CHECK: True}, view="pa", meta=meta)
        for k in CLOSING_SIZES:
            yield Case(f"{name}#carpus_gaps_closed@{k:.2f}", region, "corrupt",
                       lambda p=path, c=centre, r=radius, k=k: corrupt.fuse_carpal_gaps(load_grey(p), c, r, gap=k),
                       {CHECK: False}, "carpus_gaps_closed", "pa", meta=meta)


def cases(data_dir: Path | None) -> Iterator[Case]:
    """Phantoms always; the real wrists and their corruptions when ``data_dir`` is given."""
    yield from phantom_cases()
    if data_dir is not None:
        yield from real_cases(data_dir)

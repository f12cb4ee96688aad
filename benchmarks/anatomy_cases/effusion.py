"""Pleural effusions on real chest films: pathology, not an anatomy failure.

Every JSRT PA film (SCR masks place the fluid) gets a free pleural effusion
(:func:`anatscore.anatomy.corrupt_chest.pleural_effusion`) on the right, the left or both sides,
small (mean fluid height 20-25 % of the lung height) or large (45-55 %), the size drawn per film
from those ranges. The fluid has the density of the film's heart (median over the SCR heart
mask). Such a film is a plausible radiograph, so the cases are of kind ``pathology``: every chest
check should pass or abstain (n/a), and none may fail; the harness prints them in their own table
(``benchmarks/anatomy_accuracy.py --cases effusion``). What each check is expected to do:

* ``chest.heart_laterality``: pass, or n/a when the situs score points to an opacified base; never
  "mirrored image or dextrocardia".
* ``chest.symmetry``: a large effusion really makes the lung fields unequal; the check should
  abstain (the shorter field ends on a meniscus) rather than call the hemithorax small.
* ``chest.ctr``: pass, or n/a when the heart border beside the fluid is hidden.
* ``chest.lung_fields``: pass (the aerated part of each lung is still a lung field).
* ``proportions.lung_aspect``: pass, or n/a when short lung fields sit on opacified bases.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Iterator

import numpy as np

from . import Case
from .axial import CHEST_CHECKS, _grey

SIZES = {"small": (0.20, 0.25), "large": (0.45, 0.55)}
SIDES = ("right", "left", "both")


def effusion_size(index: int, size: str) -> float:
    """Fluid height (fraction of the lung height) of film ``index``: spread over the size's range."""
    lo, hi = SIZES[size]
    return lo + (hi - lo) * ((index * 37) % 100) / 99.0


def effusion_film(path: Path, masks: Path, side: str, size: float) -> np.ndarray:
    """The JSRT film at ``path`` with a pleural effusion placed from its SCR masks."""
    from anatscore.anatomy.corrupt_chest import pleural_effusion

    g = _grey(path)
    right, left, heart = (_grey(masks / k / path.name) > 0.5 for k in ("right_lung", "left_lung", "heart"))
    return pleural_effusion(g, right, left, side, size, fluid=float(np.median(g[heart])))


def jsrt_films(data: Path) -> list[Path]:
    return sorted((data / "real/xray/chest/jsrt_scr/images").glob("*.png"))


def effusion_cases(data: Path) -> Iterator[Case]:
    masks = data / "real/xray/chest/jsrt_scr/masks"
    for i, p in enumerate(jsrt_films(data)):
        for size in SIZES:
            for side in SIDES:
                frac = effusion_size(i, size)
                yield Case(f"jsrt/{p.name}#effusion_{size}_{side}", "chest", "pathology",
                           partial(effusion_film, p, masks, side, frac), {c: True for c in CHEST_CHECKS},
                           failure_type=f"effusion_{size}_{side}", view="pa", meta={"index": i, "size": frac})


def cases(data_dir: Path | None) -> Iterator[Case]:
    if data_dir is not None:
        yield from effusion_cases(data_dir)

"""Lower-leg cases for ``leg.two_bones`` (tibia and fibula; the paper's missing fibula).

Real data is one film: the pydicom-data distal tibia/ankle radiograph ``RG3`` (CR, 1760², with
wide white collimator shutters; the tibia and the thin fibula are separate along the shaft).
It is expected to pass. No real corruption of it is yielded: the limb corruptions of
:mod:`anatscore.anatomy.corrupt` locate bones with an Otsu guess that, on this film, takes the
talus and the tibia's cortices and misses the fibula, so "fibula removed" could not be made
without drawing on the checks' own segmentation.

Phantoms (seeded, random exposure and limb angle -60..60 degrees): AP legs with a tibia and a
fibula 0.4-0.5 of its width (expected to pass) and with the tibia alone (``fibula_missing``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from anatscore.anatomy import phantoms

from . import Case
from .msk import load_grey

TWO_BONES = "leg.two_bones"
PHANTOM_SEEDS = range(20)


def cases(data_dir: Path | None) -> Iterator[Case]:
    for seed in PHANTOM_SEEDS:
        yield Case(f"leg-phantom-2-bones-{seed:02d}", "leg", "phantom",
                   lambda s=seed: phantoms.leg_phantom(2, seed=s), {TWO_BONES: True}, view="ap")
        yield Case(f"leg-phantom-fibula-missing-{seed:02d}", "leg", "phantom",
                   lambda s=seed: phantoms.leg_phantom(1, seed=s), {TWO_BONES: False}, "fibula_missing", "ap")
    if data_dir is None:
        return
    path = data_dir / "real" / "xray" / "pydicom_data" / "RG3_J2KR_display.png"
    if path.is_file():
        yield Case("pydicom/RG3_J2KR_display.png", "leg", "real", load_grey(path), {TWO_BONES: True},
                   view="ap", meta={"split": "thin (1 image)"})

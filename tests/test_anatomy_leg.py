"""``leg.two_bones`` (tibia and fibula) and the collimator-penumbra handling it needed.

Known answers: leg phantoms with two bones pass and with the tibia alone fail (every seed); the
one real leg film in ../shared/data (pydicom-data RG3, CR with wide white shutters) passes, and
its shutters, penumbra ramps included, are set aside rather than read as bone.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import anatscore
from anatscore.anatomy.phantoms import leg_phantom
from anatscore.anatomy.segment import segment


@pytest.mark.parametrize("seed", range(6))
def test_leg_phantoms_two_bones_pass_missing_fibula_fails(seed: int) -> None:
    two = anatscore.run_check("leg.two_bones", leg_phantom(2, seed=seed), region="leg", modality="xray")
    one = anatscore.run_check("leg.two_bones", leg_phantom(1, seed=seed), region="leg", modality="xray")
    assert (two.passed, two.value) == (True, 2.0), two.reason
    assert (one.passed, one.value) == (False, 1.0), one.reason
    assert "tibia and fibula" in one.reason


def test_leg_check_only_applies_to_legs() -> None:
    r = anatscore.run_check("leg.two_bones", leg_phantom(2, seed=0), region="knee", modality="xray")
    assert r.passed is None and "region leg" in r.reason


@pytest.fixture(scope="module")
def rg3(shared_data: Path) -> np.ndarray:
    path = shared_data / "real" / "xray" / "pydicom_data" / "RG3_J2KR_display.png"
    if not path.is_file():
        pytest.skip(f"{path} absent")
    return np.asarray(Image.open(path).convert("L"), np.float32) / 255.0


def test_real_leg_passes(rg3: np.ndarray) -> None:
    r = anatscore.run_check("leg.two_bones", rg3, region="leg", modality="xray")
    assert (r.passed, r.value) == (True, 2.0), r.reason


def test_shutter_penumbra_is_not_bone(rg3: np.ndarray) -> None:
    """RG3's shutters ramp from 1.0 down to ~0.7 over ~30 px before the collimator edge; the
    flat-region test alone left those ramps as two full-height 'bones' beside the leg."""
    seg = segment(rg3)
    w = seg.shape[1]
    # the leg lies in the middle third; the outer quarter on each side is shutter/penumbra/air
    outer = np.r_[0: w // 4, w - w // 4: w]
    assert seg.bone[:, outer].mean() < 0.01
    assert seg.excluded[:, : w // 5].mean() > 0.9 and seg.excluded[:, -w // 5:].mean() > 0.9

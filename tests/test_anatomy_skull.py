"""head.skull_vault: phantom with known answers, gating, and the real cephalograms."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from anatscore.anatomy.skull import analyse_vault, skull_phantom
from anatscore.checks import CheckContext, applies
from anatscore.registry import check_spec, resolve
from anatscore.types import ImageMeta, LoadedImage


def _run(grey: np.ndarray, region: str = "head", modality: str = "xray", view: str = "lateral"):
    meta = ImageMeta(image_id="x", path="x", modality=modality, region=region, view=view)
    spec = check_spec("head.skull_vault")
    ok, why = applies(spec, meta)
    if not ok:
        return None, why
    return resolve(spec.target)(LoadedImage(meta=meta, grey=grey), CheckContext()), ""


def test_phantom_intact_vault_passes():
    v = analyse_vault(skull_phantom())
    assert v.reason is None and v.sector_rays >= 40
    assert v.gap < 0.1 and v.waviness < 0.02
    res, _ = _run(skull_phantom())
    assert res.passed is True, res.reason


@pytest.mark.parametrize("transform", [lambda g: 1.0 - g, lambda g: 0.3 + 0.4 * g ** 2],
                         ids=["inverted", "window-gamma"])
def test_phantom_verdicts_survive_polarity_and_exposure(transform):
    assert analyse_vault(transform(skull_phantom())).gap < 0.1
    assert analyse_vault(transform(skull_phantom(gap_deg=50.0))).gap > 0.2


def test_phantom_aspect_known():
    # the phantom's vault ellipse has semi-axes 0.38 n (horizontal) and 0.42 n (vertical)
    v = analyse_vault(skull_phantom())
    assert v.aspect == pytest.approx(0.38 / 0.42, abs=0.02)


def test_phantom_rippled_vault_fails():
    res, _ = _run(skull_phantom(ripple=0.05))
    assert res.passed is False and ("wavy" in res.reason or "dented" in res.reason)


def test_phantom_vault_gap_fails():
    v = analyse_vault(skull_phantom(gap_deg=50.0))
    assert v.gap > 0.2  # 50 of ~180 traced degrees
    res, _ = _run(skull_phantom(gap_deg=50.0))
    assert res.passed is False and "interrupted" in res.reason


def test_gating_other_regions_and_modalities():
    g = skull_phantom()
    assert _run(g, region="chest")[0] is None
    assert _run(g, modality="ct")[0] is None
    res, why = _run(g, view="pa")
    assert res is None and "lateral" in why  # frontal views: not applicable (the registry's views)
    assert _run(g, view="")[0].passed is True  # unknown view: judged


def _cephalograms(shared_data: Path) -> list[Path]:
    files = sorted((shared_data / "real/xray/head_cephalogram/images_half").glob("*.png"))
    if not files:
        pytest.skip("no cephalograms in shared data")
    return files


@pytest.mark.slow
def test_real_cephalograms_false_failures(shared_data):
    from PIL import Image

    fails = []
    for p in _cephalograms(shared_data):
        grey = np.asarray(Image.open(p).convert("L"), dtype=np.float32) / 255.0
        res, _ = _run(grey)
        if res.passed is False:
            fails.append(p.name)
        mirrored, _ = _run(np.ascontiguousarray(grey[:, ::-1]))  # facing left: same verdict
        assert mirrored.passed == res.passed, p.name
    # measured (benchmarks/skull_vault.py): 0/31 since branch skull2 (skin and vault chosen by
    # dynamic programming along the rays; before: 041.png and 045.png failed); no regression allowed
    assert not fails, fails


@pytest.mark.slow
def test_corruptions_detected_on_held_out_films(shared_data):
    from benchmarks.anatomy_cases.skull import cephalograms, erase_vault_segment, nasion, wavy_vault, _grey

    pairs = cephalograms(shared_data)[1::2]  # odd-indexed: held out from calibration
    if not pairs:
        pytest.skip("no cephalograms with landmarks in shared data")
    erased = wavy = 0
    for img, lm in pairs:
        g, n = _grey(img), nasion(lm)
        erased += _run(erase_vault_segment(g, n))[0].passed is False
        wavy += _run(wavy_vault(g, n))[0].passed is False
    # measured: erased 15/15, wavy 13/15 before branch ripple, 14/15 since
    assert erased >= 14
    assert wavy >= 13


def test_ct_head_slice_not_applicable():
    meta = ImageMeta(image_id="ct", path="ct", modality="ct", region="head")
    ok, why = applies(check_spec("head.skull_vault"), meta)
    assert not ok and "modality" in why

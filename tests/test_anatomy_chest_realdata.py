"""Chest checks against the JSRT SCR masks (real films; skipped without ../shared/data).

Figures on the full set (``PYTHONPATH=. python benchmarks/chest_scr.py``): lung Dice mean 0.879
(right) / 0.847 (left), heart 0.701; situs (undecided band |score| < 0.75 and the cue-agreement gate
abstain) fails 4/127 real films and detects 116/127 mirrored films; CTR vs the SCR CTR median
|error| 0.041, Pearson r 0.57.
This test uses every 8th film (16) and asserts bounds a little below those.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

# benchmarks/ is a folder of scripts at the repository root, not part of the installed package
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from anatscore.anatomy.chest import WORK, analyse_chest, reference_geometry, to_work  # noqa: E402
from anatscore.anatomy.expected import expected  # noqa: E402
from anatscore.checks import CheckContext  # noqa: E402
from anatscore.registry import check_spec, resolve  # noqa: E402
from anatscore.types import ImageMeta, LoadedImage  # noqa: E402
from benchmarks.anatomy_cases.axial import _erase_lung, _grey, _squashed, _squashed_half  # noqa: E402

pytestmark = pytest.mark.realdata


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    return float(2 * (a & b).sum() / max(1, a.sum() + b.sum()))


@pytest.fixture(scope="module")
def jsrt(shared_data: Path) -> list[Path]:
    d = shared_data / "real/xray/chest/jsrt_scr/images"
    files = sorted(d.glob("*.png"))
    if len(files) < 100:
        pytest.skip(f"JSRT films absent from {d}")
    return files[::8]


@pytest.fixture(scope="module")
def results(jsrt: list[Path]) -> list[dict]:
    out = []
    for p in jsrt:
        g = _grey(p)
        masks = p.parent.parent / "masks"
        ref = {k: to_work(_grey(masks / k / p.name), WORK) > 0.5 for k in ("right_lung", "left_lung", "heart")}
        geo = analyse_chest(g)
        mir = analyse_chest(g[:, ::-1])
        z = np.zeros((WORK, WORK), bool)
        out.append({
            "dice_r": _dice(geo.lungs["right"].mask if "right" in geo.lungs else z, ref["right_lung"]),
            "dice_l": _dice(geo.lungs["left"].mask if "left" in geo.lungs else z, ref["left_lung"]),
            "dice_h": _dice(geo.heart if geo.heart is not None else z, ref["heart"]),
            "situs": geo.laterality, "situs_mirrored": mir.laterality,
            "ctr": geo.ctr, "ctr_scr": reference_geometry(ref["right_lung"], ref["left_lung"], ref["heart"])["ctr"],
        })
    return out


def test_lung_dice_against_scr(results: list[dict]) -> None:
    dr = np.array([r["dice_r"] for r in results])
    dl = np.array([r["dice_l"] for r in results])
    assert dr.mean() >= 0.82 and dl.mean() >= 0.80, (dr.mean(), dl.mean())
    assert (np.concatenate([dr, dl]) < 0.6).sum() <= 2


def test_heart_dice_against_scr(results: list[dict]) -> None:
    # full set: heart Dice mean 0.701, median 0.718 (previous lung-edge mask: 0.596, 0.683)
    dh = np.array([r["dice_h"] for r in results])
    print("heart dice mean", dh.mean(), "median", np.median(dh))
    assert dh.mean() >= 0.62 and np.median(dh) >= 0.65, dh


def test_laterality_and_mirror(results: list[dict]) -> None:
    margin = expected("chest")["situs_score"].min
    s = np.array([np.nan if r["situs"] is None else r["situs"] for r in results])
    m = np.array([np.nan if r["situs_mirrored"] is None else r["situs_mirrored"] for r in results])
    print("false failures", (s < -margin).sum(), "mirrored detected", (m < -margin).sum())
    # full set, score margin only: false failures 5/127, mirrored detected 116/127 (benchmarks/chest_scr.py)
    assert (s < -margin).sum() <= 1, s  # of 16
    assert (m < -margin).sum() >= 13, m  # measured 14 of 16


def test_ctr_against_scr(results: list[dict]) -> None:
    # full set: median |CTR - CTR_SCR| 0.041, Pearson r 0.57 (benchmarks/chest_scr.py); the
    # previous lung-edge estimator had 0.066 and r 0.11
    pairs = np.array([(r["ctr"], r["ctr_scr"]) for r in results if r["ctr"] is not None])
    assert len(pairs) >= 15
    err = np.abs(pairs[:, 0] - pairs[:, 1])
    print("CTR median |err|", np.median(err), "r", np.corrcoef(pairs.T)[0, 1])
    assert np.median(err) <= 0.06, err
    assert np.corrcoef(pairs.T)[0, 1] >= 0.3


def test_opacified_lung_is_detected(jsrt: list[Path]) -> None:
    fn = resolve(check_spec("chest.lung_fields").target)
    hits = 0
    for p in jsrt[:6]:
        side = "left_lung"
        g = _erase_lung(p, p.parent.parent / "masks" / side / p.name)
        img = LoadedImage(meta=ImageMeta(image_id=p.name, path=p.name, modality="xray", region="chest"), grey=g)
        r = fn(img, CheckContext())
        hits += r.passed is False
        # the untouched film passes
        img0 = LoadedImage(meta=ImageMeta(image_id=p.name, path=p.name, modality="xray", region="chest"), grey=_grey(p))
        assert fn(img0, CheckContext()).passed is True
    assert hits >= 5


def _check(name: str, g: np.ndarray, image_id: str = "x"):
    img = LoadedImage(meta=ImageMeta(image_id=image_id, path=image_id, modality="xray", region="chest"), grey=g)
    return resolve(check_spec(name).target)(img, CheckContext())


def test_proportion_checks_on_real_films_and_their_distortions(jsrt: list[Path]) -> None:
    """Every 8th JSRT film (16): the untouched films pass symmetry and lung aspect, one
    hemithorax at half height fails symmetry, the thorax squashed to 0.55 fails lung aspect.

    Full set (``benchmarks/anatomy_accuracy.py --cases axial``): false failures 1/134 (symmetry,
    n/a 1) and 1/135 (aspect) on real chests; detected 120/127 half-height hemithoraces and
    116/127 squashed films (branch chestsym, before the hazy-base gate and the both-lungs aspect:
    2/135, 2/135, 122, 122). Every 8th film is even-indexed (the calibration half), so this is not
    held out; measured here: 0 false failures, 14 and 14 of 16 detected.
    """
    ff = det_half = det_sq = 0
    for i, p in enumerate(jsrt):
        masks = p.parent.parent / "masks"
        g = _grey(p)
        ff += _check("chest.symmetry", g).passed is False
        ff += _check("proportions.lung_aspect", g).passed is False
        det_half += _check("chest.symmetry", _squashed_half(p, masks, ("right", "left")[i % 2])).passed is False
        det_sq += _check("proportions.lung_aspect", _squashed(p, masks)).passed is False
    print("false failures", ff, "half-height detected", det_half, "squashed detected", det_sq)
    assert ff <= 1
    assert det_half >= 14 and det_sq >= 14


def test_hazy_films_keep_both_lung_fields(shared_data: Path) -> None:
    """JPCLN042 and JPCNN044 lost a lung field before the background-level fallback of
    ``segment_lungs`` (their lungs joined the background at the first level)."""
    d = shared_data / "real/xray/chest/jsrt_scr/images"
    for nm in ("JPCLN042.png", "JPCNN044.png"):
        if not (d / nm).is_file():
            pytest.skip(f"{d / nm} absent")
        r = _check("chest.lung_fields", _grey(d / nm), nm)
        assert r.passed is True, (nm, r.reason)


def test_hazy_base_and_one_sided_short_lung_are_not_failures(shared_data: Path) -> None:
    """Two real false failures of branch chestsym, by their measured cause.

    JSRT JPCNN081: the left lung field stops in a dense lower left hemithorax (breast shadow) with
    hazy lung below (base step 0.12, real chests' median 0.48), so ``chest.symmetry`` abstains
    instead of failing. The torchxrayvision COVID film: pneumonia stops the right field at
    mid-height (aspect z about -4.4) while the left is only mildly short, so the both-lungs
    ``proportions.lung_aspect`` passes.
    """
    jsrt = shared_data / "real/xray/chest/jsrt_scr/images/JPCNN081.png"
    covid = shared_data / "real/xray/chest/torchxrayvision_tests/covid-19-pneumonia-58-prior.jpg"
    for p in (jsrt, covid):
        if not p.is_file():
            pytest.skip(f"{p} absent")
    r = _check("chest.symmetry", _grey(jsrt), jsrt.name)
    assert r.passed is None and "not a diaphragm edge" in r.reason, r.reason
    assert r.extra["height_ratio"] < 0.7  # the fields really are unequal: the gate, not the ratio, decides
    r = _check("proportions.lung_aspect", _grey(covid), covid.name)
    assert r.passed is True and r.extra["z_right"] < -3.0, r.reason

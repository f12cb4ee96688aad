"""head.skull_vault hardening (branch skull2): the ray-path choices of skin and vault, and the
bone-only ripple corruption on the held-out cephalograms."""

from __future__ import annotations

import numpy as np
import pytest

from anatscore.anatomy.skull import _dp_path, _skin_path, _vault_path, analyse_vault, skull_phantom
from anatscore.checks import CheckContext
from anatscore.registry import check_spec, resolve
from anatscore.types import ImageMeta, LoadedImage


def _check(grey: np.ndarray):
    meta = ImageMeta(image_id="x", path="x", modality="xray", region="head", view="lateral")
    return resolve(check_spec("head.skull_vault").target)(LoadedImage(meta=meta, grey=grey), CheckContext())


def test_dp_path_passes_a_short_excursion_and_follows_a_true_step():
    # 12 rays with candidates at radius 50 (cost 0) and 70 (cost 3); on rays 4..6 the first
    # candidate is at 30 and 50 is second (cost 3 each): the path keeps 50 on every ray (passing
    # costs 3 x 3 = 9, the excursion to 30 two jumps of 20)
    radii = [np.array([50.0, 70.0]) for _ in range(12)]
    for i in (4, 5, 6):
        radii[i] = np.array([30.0, 50.0])
    cost = [np.array([0.0, 3.0]) for _ in range(12)]
    path = _dp_path(radii, cost)
    assert [radii[i][j] for i, j in enumerate(path)] == [50.0] * 12
    # a real step (the radius changes for good) is followed: one jump is cheaper than 3 per ray
    radii2 = [np.array([50.0]) if i < 6 else np.array([60.0]) for i in range(12)]
    path2 = _dp_path(radii2, [np.zeros(1)] * 12)
    assert [radii2[i][j] for i, j in enumerate(path2)] == [50.0] * 6 + [60.0] * 6


def test_skin_path_skips_a_sinus_opening():
    # 20 rays reaching air; on rays 8..10 a dark opening (sinus joined to the outside) starts at
    # sample 40 before the open air at sample 80: the skin stays at the air on every ray
    t = np.arange(0.0, 100.0, 1.0)
    cand = [np.array([80]) for _ in range(20)]
    for i in (8, 9, 10):
        cand[i] = np.array([40, 80])
    has = np.ones(20, bool)
    first = _skin_path(cand, has, t, np.linspace(0, 2 * np.pi, 20, endpoint=False), 1.0)
    assert (first == 80).all()


def test_vault_path_prefers_the_outer_ridge_continuous_with_its_neighbours():
    # outer table at radius 60 on every ray (skin at 63); on rays 5..7 the outer ridge is missing
    # and only an inner ridge (radius 50) is there: those rays become "none" (short gap), the
    # trace does not step in; elsewhere an extra inner ridge at 52 is never chosen
    cands = [[(60.0, 1.0), (52.0, 1.2)] for _ in range(15)]
    for i in (5, 6, 7):
        cands[i] = [(50.0, 1.0)]
    r, s = _vault_path(cands, np.full(15, 63.0), 1.0)
    assert np.isnan(r[5:8]).all() and (s[5:8] == 0).all()
    assert np.all(r[np.r_[0:5, 8:15]] == 60.0)


def test_phantom_verdicts_unchanged_by_path_choice():
    assert _check(skull_phantom()).passed is True
    assert _check(skull_phantom(gap_deg=50.0)).passed is False
    assert _check(skull_phantom(ripple=0.05)).passed is False
    v = analyse_vault(skull_phantom())
    assert len(v.skin) == v.sector_rays  # the outline points are reported


@pytest.mark.slow
def test_bone_only_ripple_detected_on_held_out_films(shared_data):
    from benchmarks.anatomy_cases.skull import _grey, cephalograms, nasion
    from benchmarks.anatomy_cases.skull2 import bone_wavy_vault

    pairs = cephalograms(shared_data)[1::2]  # odd-indexed: held out from calibration
    if not pairs:
        pytest.skip("no cephalograms with landmarks in shared data")
    caught = sum(_check(bone_wavy_vault(_grey(img), nasion(lm))).passed is False for img, lm in pairs)
    # measured (benchmarks/skull_vault.py): 10/15 before branch ripple, 15/15 since (the outer
    # outline dent judged on both outline estimates, bound 0.016 set on the even half)
    assert caught >= 14, caught

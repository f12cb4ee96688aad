"""Axial anatomy checks on phantoms with known answers (no real data needed)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from anatscore.anatomy.chest import analyse_chest, chest_phantom, situs_score
from anatscore.anatomy.expected import expected, regions
from anatscore.anatomy.spine import analyse_spine, spine_phantom
from anatscore.checks import CheckContext, applies
from anatscore.registry import ANATOMY_CHECKS, check_spec, resolve
from anatscore.types import ImageMeta, LoadedImage

# benchmarks/ is a folder of scripts at the repository root, not part of the installed package
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.anatomy_cases.axial import _squash_band  # noqa: E402

AXIAL = ("chest.lung_fields", "chest.heart_laterality", "chest.ctr", "chest.symmetry",
         "proportions.lung_aspect", "spine.vertebra_count", "spine.spacing")


def _image(grey: np.ndarray, region: str) -> LoadedImage:
    return LoadedImage(meta=ImageMeta(image_id="x", path="x", modality="xray", region=region), grey=grey)


def _run(name: str, grey: np.ndarray, region: str):
    return resolve(check_spec(name).target)(_image(grey, region), CheckContext())


def test_registered_and_resolvable() -> None:
    names = [s.name for s in ANATOMY_CHECKS]
    for n in AXIAL:
        assert n in names
        resolve(check_spec(n).target)


def test_region_records_present_and_consistent() -> None:
    for r in ("chest", "spine", "cervical_spine", "thoracic_spine", "lumbar_spine", "pelvis", "shoulder",
              "head", "abdomen", "femur", "humerus"):
        assert r in regions()
        rec = expected(r)
        assert rec.region == r and rec.source and rec.structures
    for seg in ("spine", "cervical_spine", "thoracic_spine", "lumbar_spine"):
        cnt = expected(seg)["vertebra_count"]
        assert cnt.min is not None and cnt.max is not None and cnt.min <= cnt.max
    assert expected("lumbar_spine")["vertebra_count"].contains(5)
    assert not expected("lumbar_spine")["vertebra_count"].contains(9)


def test_applies_by_region() -> None:
    spec = check_spec("chest.lung_fields")
    assert applies(spec, ImageMeta(image_id="a", path="a", modality="xray", region="chest"))[0]
    ok, why = applies(spec, ImageMeta(image_id="a", path="a", modality="xray", region="knee"))
    assert not ok and "chest" in why
    assert applies(check_spec("spine.spacing"), ImageMeta(image_id="a", path="a", modality="xray",
                                                           region="lumbar_spine"))[0]


@pytest.mark.parametrize("n", [5, 7, 12])
@pytest.mark.parametrize("seed", [1, 2])
def test_spine_phantom_count(n: int, seed: int) -> None:
    p = analyse_spine(spine_phantom(n=n, seed=seed, tilt=0.03 * seed))
    assert p.count == n
    assert p.irregularity <= 0.3


def test_spine_fused_level_is_irregular() -> None:
    p = analyse_spine(spine_phantom(n=7, seed=1, fuse=3))
    assert p.irregularity > 0.3
    r = _run("spine.spacing", spine_phantom(n=7, seed=1, fuse=3), "lumbar_spine")
    assert r.passed is False and "irregular" in r.reason


def test_spine_count_check_uses_segment_record() -> None:
    ok = _run("spine.vertebra_count", spine_phantom(n=5, seed=3), "lumbar_spine")
    assert ok.passed is True and ok.value == 5
    bad = _run("spine.vertebra_count", spine_phantom(n=9, seed=3), "lumbar_spine")
    assert bad.passed is False and "found 9" in bad.reason
    # the same 9 bodies are plausible for an unknown segment
    assert _run("spine.vertebra_count", spine_phantom(n=9, seed=3), "spine").passed is True


def test_blank_spine_film_fails_count() -> None:
    flat = np.full((400, 300), 0.5, np.float32) + np.random.default_rng(0).normal(0, 0.01, (400, 300)).astype(np.float32)
    r = _run("spine.vertebra_count", flat, "lumbar_spine")
    assert r.passed is False


def test_situs_score_is_antisymmetric() -> None:
    a = situs_score(0.05, 0.8, 0.1, 0.08)
    b = situs_score(-0.05, -0.8, -0.1, -0.08)
    assert a is not None and b is not None
    assert a > 0 and b == pytest.approx(-a)
    assert situs_score(None, 0.8, 0.1, 0.08) is None


def test_chest_phantom_geometry_and_mirror() -> None:
    g = chest_phantom(heart_side="left")
    geo = analyse_chest(g)
    assert set(geo.lungs) == {"right", "left"}
    assert geo.laterality is not None and geo.laterality > 0
    assert geo.lungs["left"].area_frac < geo.lungs["right"].area_frac  # the heart takes room
    mir = analyse_chest(g[:, ::-1])
    assert mir.laterality is not None and mir.laterality == pytest.approx(-geo.laterality, abs=0.5)
    assert 0.3 < geo.ctr < 0.6  # heart ellipse 0.30 wide in a thorax ~0.68 wide -> ~0.45


def test_chest_checks_on_phantoms() -> None:
    good = chest_phantom(heart_side="left")
    for name in ("chest.lung_fields", "chest.heart_laterality", "chest.ctr", "chest.symmetry"):
        r = _run(name, good, "chest")
        assert r.passed is True, (name, r.reason)
    r = _run("chest.heart_laterality", chest_phantom(heart_side="right"), "chest")
    assert r.passed is False and "right" in r.reason
    r = _run("chest.lung_fields", chest_phantom(lungs=(True, False)), "chest")
    assert r.passed is False and r.value == 1.0 and "no left lung field" in r.reason
    # with one lung field the laterality/symmetry checks abstain instead of guessing
    assert _run("chest.heart_laterality", chest_phantom(lungs=(True, False)), "chest").passed is None
    assert _run("chest.symmetry", chest_phantom(lungs=(False, True)), "chest").passed is None


def test_squash_band_row_map() -> None:
    # a row ramp: rows above the band unchanged, the band at half height (every 2nd source row),
    # the rows below stretched down to halfway to the foot, the rest unchanged
    g = np.tile(np.arange(100, dtype=np.float32)[:, None], (1, 3))
    out = _squash_band(g, 20, 60, 0.5)[:, 0]
    assert np.allclose(out[:20], np.arange(20))
    assert np.allclose(out[21:39], np.arange(22, 58, 2), atol=0.05)
    assert out[40] == pytest.approx(60, abs=0.05)
    assert np.all(np.diff(out) > 0) and np.allclose(out[80:], np.arange(80, 100))


# the phantom's lung ellipses span rows 0.14..0.76 of the side (chest_phantom)
_LUNG_ROWS = (int(0.14 * 512), int(0.76 * 512))


def test_symmetry_catches_a_half_height_hemithorax_phantom() -> None:
    good = chest_phantom(heart_side="left")
    r = _run("chest.symmetry", good, "chest")
    assert r.passed is True and abs(r.value) < 1.0, r.reason
    for side, cols, sign in (("right", slice(0, 256), 1), ("left", slice(256, 512), -1)):
        bad = good.copy()
        bad[:, cols] = _squash_band(good[:, cols], *_LUNG_ROWS, 0.5)
        r = _run("chest.symmetry", bad, "chest")
        # area and height ratio both halve: S = (ln 2 / 0.148 + ln 2 / 0.124) / 2 ~ 5 in size
        assert r.passed is False and sign * r.value > 3.0, (side, r.reason)
        other = "left" if side == "right" else "right"
        assert f"{other} lung field too large" in r.reason


def test_lung_aspect_catches_a_squashed_phantom() -> None:
    good = chest_phantom(heart_side="left")
    r = _run("proportions.lung_aspect", good, "chest")
    assert r.passed is True and abs(r.value) < 1.5, r.reason
    r = _run("proportions.lung_aspect", _squash_band(good, *_LUNG_ROWS, 0.55), "chest")
    # ln 0.55 / 0.12 ~ -5
    assert r.passed is False and r.value < -3.0 and "too short" in r.reason, r.reason


def test_chest_checks_share_one_geometry() -> None:
    img = _image(chest_phantom(), "chest")
    ctx = CheckContext()
    for name in ("chest.lung_fields", "chest.ctr"):
        resolve(check_spec(name).target)(img, ctx)
    # one geometry, and the polarity layout's reading that it was computed from
    assert sorted(img.cache) == ["anatomy.chest.geometry", "anatomy.polarity.chest"]


def test_plausible_aggregates_axial_failures() -> None:
    img = _image(chest_phantom(heart_side="right"), "chest")
    ctx = CheckContext()
    for spec in ANATOMY_CHECKS:
        if applies(spec, img.meta)[0]:
            ctx.prior[spec.name] = resolve(spec.target)(img, ctx)
    r = resolve(check_spec("anatomy.plausible").target)(img, ctx)
    assert r.passed is False and "chest.heart_laterality" in r.reason


def _symmetric_pelvis_like(seed: int = 0) -> np.ndarray:
    """Smooth random bone-like blobs mirrored about the centre column (a symmetric 'pelvis')."""
    from scipy import ndimage as ndi

    rng = np.random.default_rng(seed)
    half = ndi.gaussian_filter(rng.random((256, 128)), 6)
    half = (half - half.min()) / (np.ptp(half) + 1e-9)
    img = np.concatenate([half, half[:, ::-1]], axis=1)
    return np.clip(img + 0.02 * rng.standard_normal(img.shape), 0, 1).astype(np.float32)


def test_pelvis_symmetry_known_answers() -> None:
    sym = _symmetric_pelvis_like()
    r = _run("pelvis.symmetry", sym, "pelvis")
    assert r.passed is True and r.value > 0.9
    assert abs(r.extra["axis_frac"] - 0.5) < 0.03
    cut = sym.copy()
    cut[:128, 140:] = 0.0  # remove the upper right quadrant's "bone"
    r = _run("pelvis.symmetry", cut, "pelvis")
    assert r.passed is False and "upper" in r.reason
    noise = np.random.default_rng(1).random((300, 300)).astype(np.float32)
    r = _run("pelvis.symmetry", noise, "pelvis")
    assert r.passed is False and "mirror" in r.reason


def test_spine_noise_has_no_vertebral_pattern() -> None:
    noise = np.random.default_rng(2).random((400, 250)).astype(np.float32)
    r = _run("spine.vertebra_count", noise, "lumbar_spine")
    assert r.passed is False and "no periodic" in r.reason


def test_base_step_tells_a_diaphragm_from_hazy_lung() -> None:
    """``base_step``: dense abdomen below a dark field gives a large step, hazy lung below a small one."""
    from anatscore.anatomy.chest import base_step

    s = np.full((100, 100), 0.9)  # dense soft tissue / abdomen
    mask = np.zeros((100, 100), bool)
    mask[20:60, 30:60] = True
    s[mask] = 0.2  # aerated lung
    # field height 40: the band is rows 61..70 under columns 30..59
    assert base_step(s, mask, 20, 59) == pytest.approx(0.7)
    hazy = s.copy()
    hazy[60:80, 30:60] = 0.3  # hazy lung below where the field stopped
    assert base_step(hazy, mask, 20, 59) == pytest.approx(0.1)
    # a field that reaches the film's foot has no band below it
    assert np.isnan(base_step(s, mask, 20, 99))


def test_symmetry_abstains_when_the_short_field_stops_in_hazy_lung() -> None:
    """The left lung's lower half hazy (a little denser than lung, far less than soft tissue): its
    field stops at mid-lung with hazy lung below, so the height ratio is not the hemithorax's: n/a."""
    good = chest_phantom(heart_side="left")
    n = good.shape[0]
    yy, xx = np.mgrid[0:n, 0:n] / n
    lung = ((xx - 0.69) / 0.15) ** 2 + ((yy - 0.45) / 0.31) ** 2 <= 1
    hazy = good.copy()
    hazy[lung & (yy > 0.42)] = 0.4  # aerated lung is 0.25..0.35, soft tissue 0.75
    geo = analyse_chest(hazy)
    assert geo.lungs["left"].height < 0.7 * geo.lungs["right"].height  # the field did stop short
    r = _run("chest.symmetry", hazy, "chest")
    assert r.passed is None and "not a diaphragm edge" in r.reason, r.reason
    # the half-height hemithorax ends at dense tissue: still a failure (see the test above)
    bad = good.copy()
    bad[:, 256:] = _squash_band(good[:, 256:], *_LUNG_ROWS, 0.5)
    assert _run("chest.symmetry", bad, "chest").passed is False


def test_lung_aspect_needs_both_lungs_short() -> None:
    """One lung field short (one-sided base disease) is not a squashed film: the both-lungs z is the
    other lung's (about 0); the mean of the two z-scores, used before, was about -2.5."""
    good = chest_phantom(heart_side="left")
    one = good.copy()
    one[:, :256] = _squash_band(good[:, :256], *_LUNG_ROWS, 0.55)
    r = _run("proportions.lung_aspect", one, "chest")
    assert r.passed is True and abs(r.value) < 0.5 and r.extra["z_right"] < -3.0, r.reason

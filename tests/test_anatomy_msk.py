"""Limb anatomy: segmentation robustness, phantoms with known answers, corruption detection.

Fast tier (phantoms and tiny arrays only; no real data). Real-data figures are in
``test_anatomy_msk_realdata.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

from anatscore.anatomy import corrupt
from anatscore.anatomy.expected import expected
from anatscore.anatomy.jointspace import horizontal_joint_space
from anatscore.anatomy.phantoms import Exposure, forearm_phantom, hand_phantom, knee_phantom
from anatscore.anatomy.segment import segment, segment_image
from anatscore.anatomy.texture import trabecular_texture
from anatscore.checks import CheckContext, applies
from anatscore.registry import ANATOMY_CHECKS, check_spec, resolve
from anatscore.types import ImageMeta, LoadedImage

SEEDS = range(6)


def _img(arr: np.ndarray, region: str = "knee") -> LoadedImage:
    return LoadedImage(meta=ImageMeta(image_id="x", path="x", modality="xray", region=region), grey=arr)


def _run(name: str, arr: np.ndarray, region: str = "knee"):
    return resolve(check_spec(name).target)(_img(arr, region), CheckContext())


# --- segmentation ---------------------------------------------------------------------------


def _disc_phantom() -> np.ndarray:
    """Air 0.05, soft-tissue disc 0.35, bone bar 0.85 inside it, text marker on air."""
    y, x = np.mgrid[:128, :128]
    img = np.full((128, 128), 0.05, np.float32)
    img[(x - 64) ** 2 + (y - 64) ** 2 < 50**2] = 0.35
    img[(np.abs(x - 64) < 10) & (np.abs(y - 64) < 40)] = 0.85
    img[5:15, 5:9] = 1.0  # an "L" marker on air
    img[12:15, 5:14] = 1.0
    rng = np.random.default_rng(0)
    return np.clip(img + 0.01 * rng.standard_normal(img.shape), 0, 1).astype(np.float32)


def _agree(seg, truth_bone: np.ndarray) -> float:
    inter = (seg.bone & truth_bone).sum()
    return 2 * inter / (seg.bone.sum() + truth_bone.sum())


def test_segment_known_masks_and_text_marker() -> None:
    img = _disc_phantom()
    seg = segment(img)
    y, x = np.mgrid[:128, :128]
    bone = (np.abs(x - 64) < 10) & (np.abs(y - 64) < 40)
    assert _agree(seg, bone) > 0.9
    assert seg.background[64, 3] and seg.background[120, 120]
    assert seg.soft[64, 30] and not seg.bone[64, 30]
    assert seg.excluded[8, 6], "burned-in marker on air must be set aside"
    assert not seg.bone[8, 6]


@pytest.mark.parametrize("gain,offset,gamma", [(1.0, 0.0, 1.0), (0.4, 0.3, 1.0), (1.0, 0.0, 0.5), (1.0, 0.0, 2.0)])
def test_segment_exposure_invariant(gain: float, offset: float, gamma: float) -> None:
    img = _disc_phantom()
    y, x = np.mgrid[:128, :128]
    bone = (np.abs(x - 64) < 10) & (np.abs(y - 64) < 40)
    seg = segment(np.clip(img * gain + offset, 0, 1) ** gamma)
    assert _agree(seg, bone) > 0.9


def test_segment_inverted_polarity_is_detected() -> None:
    img = _disc_phantom()
    y, x = np.mgrid[:128, :128]
    bone = (np.abs(x - 64) < 10) & (np.abs(y - 64) < 40)
    seg = segment(1.0 - img)
    assert seg.inverted
    assert _agree(seg, bone) > 0.9
    assert not segment(img).inverted


def test_segment_collimation_is_excluded() -> None:
    img = _disc_phantom()
    img[:, 110:] = 0.97  # bright collimator shutter along the right border
    seg = segment(img)
    assert seg.excluded[:, 115:].mean() > 0.9
    assert not seg.bone[:, 115:].any()
    assert not seg.inverted  # the air inside the field vetoes "inverted"


def test_segment_downscales_large_images_and_maps_back() -> None:
    big = np.kron(_disc_phantom(), np.ones((8, 8), np.float32))  # 1024^2
    seg = segment(big, max_side=256)
    assert seg.shape == (256, 256) and seg.scale == pytest.approx(0.25)
    assert seg.to_full(seg.bone).shape == big.shape


def test_segment_memoised_per_image() -> None:
    im = _img(_disc_phantom())
    assert segment_image(im) is segment_image(im)


def test_segment_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        segment(np.zeros((8, 8)))


# --- phantoms: known answers ----------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_joint_space_phantom_open_vs_fused(seed: int) -> None:
    open_js = horizontal_joint_space(segment(knee_phantom(gap=0.05, seed=seed)))
    fused_js = horizontal_joint_space(segment(knee_phantom(gap=0.0, seed=seed)))
    lo = expected("knee")["joint_space_depth"].min
    assert open_js.depth_median > lo > fused_js.depth_median
    assert open_js.open_fraction > 0.9
    # The joint line is found at the drawn joint (0.47..0.53 of the height).
    assert 0.4 * 224 < np.median(open_js.line_rows) < 0.6 * 224


@pytest.mark.parametrize("seed", SEEDS)
def test_texture_phantom_oriented_vs_random(seed: int) -> None:
    lo = expected("knee")["trabecular_anisotropy"].min
    oriented = trabecular_texture(segment(knee_phantom(texture="oriented", seed=seed)))
    random = trabecular_texture(segment(knee_phantom(texture="random", seed=seed)))
    assert oriented.anisotropy > lo > random.anisotropy
    assert oriented.coherence > random.coherence
    # Streaks are vertical: the gradient (structure tensor's dominant direction) is horizontal.
    assert abs(oriented.dominant_angle_deg) < 20


def test_checks_on_phantoms_and_inverted_exposure() -> None:
    rng = np.random.default_rng(3)
    good = knee_phantom(seed=11, exposure=Exposure.random(rng))
    assert _run("joint.space", good).passed is True
    assert _run("texture.trabecular_anisotropy", good).passed is True
    fused = _run("joint.space", knee_phantom(gap=0.0, seed=11))
    assert fused.passed is False and "closed or fused" in fused.reason
    rnd = _run("texture.trabecular_anisotropy", knee_phantom(texture="random", seed=11))
    assert rnd.passed is False and "random trabecular pattern" in rnd.reason


def test_hand_phantom_shape_and_range() -> None:
    img = hand_phantom(digits=6, seed=1)
    assert img.dtype == np.float32 and img.ndim == 2
    assert 0.0 <= img.min() and img.max() <= 1.0
    with pytest.raises(ValueError):
        hand_phantom(digits=5, phalanges=(2, 3))


# --- corruptions of a phantom are detected --------------------------------------------------
# (patch shuffling is measured on real crops only: the phantom's streaks are longer than a patch)


@pytest.mark.parametrize("seed", SEEDS)
def test_corruptions_detected_on_phantom(seed: int) -> None:
    base = knee_phantom(seed=seed)
    assert _run("joint.space", corrupt.close_joint_space(base)).passed is False
    assert _run("texture.trabecular_anisotropy", corrupt.scramble_texture_phase(base, seed=seed)).passed is False


# --- registry / applicability ---------------------------------------------------------------


def test_limb_checks_registered_and_region_gated() -> None:
    names = {s.name for s in ANATOMY_CHECKS}
    assert {"joint.space", "texture.trabecular_anisotropy"} <= names
    spec = check_spec("joint.space")
    assert applies(spec, ImageMeta(image_id="a", path="a", modality="xray", region="knee"))[0]
    ok, why = applies(spec, ImageMeta(image_id="a", path="a", modality="xray", region=""))
    assert not ok and "unknown" in why


def test_flat_image_is_not_applicable() -> None:
    res = _run("joint.space", np.full((64, 64), 0.5, np.float32))
    assert res.passed is None


# --- hand: digit count ----------------------------------------------------------------------


@pytest.mark.parametrize("digits", [4, 5, 6])
@pytest.mark.parametrize("seed", range(4))
def test_digit_count_phantom_exact(digits: int, seed: int) -> None:
    from anatscore.anatomy.hand import analyse_hand

    assert analyse_hand(segment(hand_phantom(digits, seed=seed))).digit_count == digits


def test_digit_count_rotated_and_inverted_phantom() -> None:
    from anatscore.anatomy.hand import analyse_hand

    img = hand_phantom(5, seed=7)
    assert analyse_hand(segment(np.rot90(img))).digit_count == 5  # fingertips to the left
    assert analyse_hand(segment(img[::-1])).digit_count == 5  # fingertips at the bottom
    inv = hand_phantom(5, seed=7, exposure=Exposure(invert=True))
    seg = segment(inv)
    assert seg.inverted and analyse_hand(seg).digit_count == 5


def test_digit_count_check_verdicts() -> None:
    assert _run("hand.digit_count", hand_phantom(5, seed=2), "hand").passed is True
    six = _run("hand.digit_count", hand_phantom(6, seed=2), "hand")
    assert six.passed is False and six.value == 6 and "extra digit" in six.reason
    four = _run("hand.digit_count", hand_phantom(4, seed=2), "hand")
    assert four.passed is False and "missing digit" in four.reason


# --- forearm: two long bones ----------------------------------------------------------------


@pytest.mark.parametrize("bones", [1, 2])
@pytest.mark.parametrize("seed", range(4))
def test_long_bone_count_phantom_exact(bones: int, seed: int) -> None:
    from anatscore.anatomy.longbones import count_long_bones

    assert count_long_bones(segment(forearm_phantom(bones, seed=seed))).count == bones


def test_two_bones_check_and_corruptions_on_phantom() -> None:
    img = forearm_phantom(2, angle_deg=35.0, seed=5)
    assert _run("forearm.two_bones", img, "forearm").passed is True
    one = _run("forearm.two_bones", forearm_phantom(1, seed=5), "forearm")
    assert one.passed is False and one.value == 1 and "missing or fused" in one.reason
    assert _run("forearm.two_bones", corrupt.remove_forearm_bone(img), "forearm").passed is False
    assert _run("forearm.two_bones", corrupt.fuse_forearm_bones(img), "forearm").passed is False

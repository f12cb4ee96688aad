"""``proportions.knee``: knee AP proportions (femoral vs tibial width judged; notch reported).

Known answers on a drawn knee (bone widths and notch placed by construction, a tilted joint),
the corruptions' geometry on tiny arrays, the check's wiring and registration, and on real crops
(skipped without ``../shared/data``): the calibration half's statistics match the record, and the
measured false-failure and detection rates on the held-out half, with a stated tolerance.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import ndimage as ndi

from anatscore.anatomy import corrupt_knee
from anatscore.anatomy.expected import expected
from anatscore.anatomy.jointspace import horizontal_joint_space
from anatscore.anatomy.knee_proportions import knee_proportions
from anatscore.anatomy.polarity import layout_inverted
from anatscore.anatomy.segment import segment
from anatscore.checks import CheckContext
from anatscore.checks.knee_proportions import NAME, knee_proportions_check
from anatscore.types import ImageMeta, LoadedImage


def drawn_knee(femur: float = 0.84, tibia: float = 0.84, notch: float = 0.5, size: int = 224,
               seed: int = 0) -> np.ndarray:
    """A knee AP drawing: femur (rows above 0.55 H) of width ``femur * W`` with a dark notch of
    width 0.16 of the femur centred at ``notch`` of its width in its lowest 0.1 H; a dark joint
    space; a tibia of width ``tibia * W`` below; soft tissue 0.3, bone 0.75, fine noise and a faint mottle."""
    rng = np.random.default_rng(seed)
    h = w = size
    g = np.full((h, w), 0.3, dtype=np.float32)
    c = (w - 1) / 2
    jr = int(0.55 * h)
    x = np.arange(w)
    fl, fr = c - femur * w / 2, c + femur * w / 2
    g[: jr - 4, (x >= fl) & (x <= fr)] = 0.75
    xn = fl + notch * (fr - fl)
    nw = 0.08 * (fr - fl)
    g[jr - 4 - int(0.1 * h): jr - 4, (x >= xn - nw) & (x <= xn + nw)] = 0.35
    tl, tr = c - tibia * w / 2, c + tibia * w / 2
    g[jr + 4:, (x >= tl) & (x <= tr)] = 0.75
    # fine noise plus a faint coarse mottle, so that no region is flat (the segmentation reads
    # large flat regions at the border as air or collimator shutters)
    tex = 0.01 * rng.normal(size=g.shape) + 0.6 * ndi.gaussian_filter(rng.normal(size=g.shape), 3.0)
    g = ndi.gaussian_filter(g, 1.0) + tex.astype(np.float32)
    return np.clip(g, 0, 1).astype(np.float32)


def measure(g: np.ndarray):
    seg = segment(g, inverted=layout_inverted(g, "knee"))  # as the check segments a knee
    return knee_proportions(seg, horizontal_joint_space(seg))


def run_check(g: np.ndarray):
    img = LoadedImage(meta=ImageMeta(image_id="k", path="k", modality="xray", region="knee", view="ap"), grey=g)
    return knee_proportions_check(img, CheckContext())


# --- measurement on drawings with known answers ---------------------------------------------

@pytest.mark.parametrize("femur,tibia", [(0.84, 0.84), (0.70, 0.84), (0.84, 0.68), (0.6, 0.6)])
def test_widths_of_drawn_knee(femur: float, tibia: float) -> None:
    kp = measure(drawn_knee(femur, tibia))
    w = 224
    assert kp.femur_width == pytest.approx(femur * w, abs=3)
    assert kp.tibia_width == pytest.approx(tibia * w, abs=3)
    assert kp.width_ratio == pytest.approx(femur / tibia, abs=0.03)
    assert kp.clipped == ()


@pytest.mark.parametrize("notch", [0.35, 0.5, 0.62])
def test_notch_of_drawn_knee(notch: float) -> None:
    kp = measure(drawn_knee(notch=notch))
    assert kp.notch_position == pytest.approx(notch, abs=0.02)
    p = notch
    assert kp.condyle_ratio == pytest.approx(max(p, 1 - p) / min(p, 1 - p), rel=0.1)


def test_bone_to_the_border_is_clipped() -> None:
    kp = measure(drawn_knee(femur=1.2))  # femur wider than the image
    assert {"femur_left", "femur_right"} <= set(kp.clipped)


def test_bands_follow_a_tilted_joint_line() -> None:
    """The joint line tilted by 0.08 H across the image (sheared drawing): the tibial band is
    placed by each side's own joint row, so the widths are still the drawn ones."""
    g = drawn_knee(0.84, 0.70)
    h, w = g.shape
    shift = np.linspace(-0.04 * h, 0.04 * h, w)
    yy, xx = np.mgrid[0:h, 0:w].astype(float)
    tilted = ndi.map_coordinates(g, [yy - shift[None, :], xx], order=1, mode="nearest")
    kp = measure(tilted)
    assert kp.joint_row_right - kp.joint_row_left == pytest.approx(0.08 * h * 0.55, abs=3)
    assert kp.femur_width == pytest.approx(0.84 * w, abs=3)
    assert kp.tibia_width == pytest.approx(0.70 * w, abs=3)


# --- check verdicts ---------------------------------------------------------------------------

def test_check_registered_for_frontal_knees() -> None:
    from anatscore.registry import ANATOMY_CHECKS
    from benchmarks.anatomy_cases.knee_proportions import cases

    spec = {s.name: s for s in ANATOMY_CHECKS}[NAME]
    assert spec.regions == ("knee",) and spec.views == ("pa", "ap")
    assert list(cases(None)) == []  # no real data, no cases


def test_check_passes_matching_knee_and_fails_mismatches() -> None:
    ok = run_check(drawn_knee())
    assert ok.passed is True, ok.reason
    assert abs(ok.extra["z_width"]) < 4.5 and abs(ok.extra["z_notch"]) < 4.5
    assert set(ok.evidence) == {"femur_edges", "tibia_edges", "notch"}
    narrow = run_check(drawn_knee(femur=0.66, tibia=0.84))
    assert narrow.passed is False and "too narrow" in narrow.reason and narrow.value < -4.5
    wide = run_check(drawn_knee(femur=0.84, tibia=0.66))
    assert wide.passed is False and "too wide" in wide.reason and wide.value > 4.5
    # the notch is reported, not judged: far off-centre, the check still passes
    off = run_check(drawn_knee(notch=0.72))
    assert off.passed is True and off.extra["z_notch"] > 4.5, off.reason


def test_clipped_femur_not_applicable_unless_already_too_wide() -> None:
    # femur past the border, tibia as wide as the image allows: the width ratio is only a lower bound
    r = run_check(drawn_knee(femur=1.2, tibia=0.97))
    assert r.passed is None and "border" in r.reason
    r = run_check(drawn_knee(femur=1.2, tibia=0.6))  # lower bound 1.6 is already too wide
    assert r.passed is False and "too wide" in r.reason


def test_no_bone_not_applicable() -> None:
    r = run_check(np.full((128, 128), 0.4, dtype=np.float32))
    assert r.passed is None


# --- corruptions: geometry on drawings --------------------------------------------------------

def test_squeeze_femur_narrows_femur_only() -> None:
    g = drawn_knee()
    kp0 = measure(g)
    kp = measure(corrupt_knee.squeeze_half(g, 0.8, "femur"))
    assert kp.femur_width / kp0.femur_width == pytest.approx(0.8, abs=0.03)
    assert kp.tibia_width == pytest.approx(kp0.tibia_width, abs=2)
    kp = measure(corrupt_knee.squeeze_half(g, 0.8, "tibia"))
    assert kp.tibia_width / kp0.tibia_width == pytest.approx(0.8, abs=0.03)
    assert kp.femur_width == pytest.approx(kp0.femur_width, abs=2)


def test_enlarge_condyle_moves_notch_keeps_widths() -> None:
    g = drawn_knee()
    kp0 = measure(g)
    left = measure(corrupt_knee.enlarge_condyle(g, 2.0, "left"))
    right = measure(corrupt_knee.enlarge_condyle(g, 2.0, "right"))
    assert left.notch_position > kp0.notch_position + 0.08
    assert right.notch_position < kp0.notch_position - 0.08
    # the outer ends of the warped span are fixed at the border, so the drawn bone's own edges
    # (inside the span) move a little: the widths stay within 4 %
    assert left.femur_width == pytest.approx(kp0.femur_width, rel=0.04)
    assert left.tibia_width == pytest.approx(kp0.tibia_width, rel=0.04)


def test_corruptions_leave_far_rows_alone_and_keep_range() -> None:
    g = drawn_knee()
    out = corrupt_knee.squeeze_half(g, 0.8, "femur")
    assert out.shape == g.shape and out.dtype == np.float32 and 0 <= out.min() and out.max() <= 1
    np.testing.assert_allclose(out[-30:], g[-30:], atol=1e-6)  # tibia rows untouched
    out = corrupt_knee.squeeze_half(g, 0.8, "tibia")
    np.testing.assert_allclose(out[:60], g[:60], atol=1e-6)  # femur rows untouched
    with pytest.raises(ValueError):
        corrupt_knee.squeeze_half(g, 1.3)
    with pytest.raises(ValueError):
        corrupt_knee.enlarge_condyle(g, 0.5)


def test_squeeze_restores_margin_grain() -> None:
    """The stretched soft tissue keeps its fine grain (no smooth, streaky margin)."""
    rng = np.random.default_rng(1)
    g = np.clip(drawn_knee() + rng.normal(0, 0.03, (224, 224)).astype(np.float32), 0, 1)
    out = corrupt_knee.squeeze_half(g, 0.8, "femur", seed=2)

    def grain(a: np.ndarray) -> float:
        d = a - ndi.gaussian_filter(a, 1.0)
        return float(d[10:100, 2:20].std())

    assert grain(out) == pytest.approx(grain(g), rel=0.25)


# --- real crops --------------------------------------------------------------------------------

def _real(shared_data, step: int):
    from benchmarks.anatomy_cases.knee_proportions import knee_files, load_grey

    files = knee_files(shared_data)
    return [(i, load_grey(p)) for i, p in enumerate(files) if i % step == 0]


def test_real_calibration_statistics_match_record(shared_data) -> None:
    """Median and robust sd of the calibration half (even files) are the record's (to 3 %)."""
    from benchmarks.anatomy_cases.knee_proportions import knee_files, load_grey

    files = knee_files(shared_data)
    assert len(files) == 100
    lw, nt = [], []
    for p in files[0::2]:
        kp = measure(load_grey(p))
        lw.append(math.log(kp.width_ratio))
        nt.append(kp.notch_position)
    rec = expected("knee").raw["expect"]
    for v, key in ((np.array(lw), "knee_width_ratio"), (np.array(nt), "knee_notch_position")):
        med = float(np.median(v))
        sd = float(1.4826 * np.median(np.abs(v - med)))
        assert med == pytest.approx(rec[key]["median"], abs=0.03 * rec[key]["sd"] + 1e-4)
        assert sd == pytest.approx(rec[key]["sd"], rel=0.03)


def test_real_held_out_false_failures_and_detection(shared_data) -> None:
    """The held-out half (odd files, 50 crops). Measured (benchmarks/knee_proportions.py): false
    failures 1/50; detection at the case factors (0.8): condyles too narrow 49/50, too wide
    48/50. Pinned with a tolerance of 1-2 crops: at most 2 false failures, at least 47 and 46
    detections (the issue's targets, <= 5 % and >= 90 %, with room)."""
    from benchmarks.anatomy_cases.knee_proportions import CASE_FACTORS, knee_files, load_grey

    items = [(i, load_grey(p)) for i, p in enumerate(knee_files(shared_data)) if i % 2 == 1]
    assert len(items) == 50
    fails = sum(run_check(g).passed is False for _, g in items)
    narrow = sum(run_check(corrupt_knee.squeeze_half(g, CASE_FACTORS["condyles_too_narrow"], "femur", seed=i)).passed
                 is False for i, g in items)
    wide = sum(run_check(corrupt_knee.squeeze_half(g, CASE_FACTORS["condyles_too_wide"], "tibia", seed=i)).passed
               is False for i, g in items)
    assert fails <= 2 and narrow >= 47 and wide >= 46, (fails, narrow, wide)

"""Branch ripple: the bone's outer-surface trace of ``head.skull_vault`` and the cell balance of
``pelvis.symmetry`` (known answers on phantoms; real films and their corruptions)."""

from __future__ import annotations

import numpy as np
import pytest

from anatscore.anatomy.pelvis import analyse_pelvis
from anatscore.anatomy.skull import SkullVault, analyse_vault, skull_phantom
from anatscore.checks import CheckContext
from anatscore.registry import check_spec, resolve
from anatscore.types import ImageMeta, LoadedImage


def _run(name: str, grey: np.ndarray, region: str, view: str):
    meta = ImageMeta(image_id="x", path="x", modality="xray", region=region, view=view)
    return resolve(check_spec(name).target)(LoadedImage(meta=meta, grey=grey), CheckContext())


def _rho(points: list[tuple[float, float]], n: int = 256) -> np.ndarray:
    """Elliptic radius of (row, col) points in ``skull_phantom``'s frame (1 = the skin)."""
    p = np.asarray(points)
    return np.hypot((p[:, 0] - 0.5 * n) / 0.42, (p[:, 1] - 0.5 * n) / 0.38) / n


def _bone_ripple_phantom(ripple: float, n: int = 256, seed: int = 0) -> np.ndarray:
    """``skull_phantom`` geometry, but only the bone band's radius modulated by
    ``1 + ripple sin(8 phi)`` over the upper half; the skin (rho = 1) stays a smooth ellipse."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:n, :n].astype(float)
    rho = np.hypot((yy - 0.5 * n) / 0.42, (xx - 0.5 * n) / 0.38) / n
    phi = np.arctan2(-(yy - 0.5 * n), xx - 0.5 * n)
    rb = rho / (1.0 + ripple * np.sin(8 * phi) * (phi > 0))
    g = np.full((n, n), 0.1)
    g[rho < 1.0] = 0.35
    g[(rb <= 0.90) & (rho < 1.0)] = 0.55
    g[(rb > 0.90) & (rb < 0.96) & (rho < 1.0)] = 0.85
    return np.clip(g + rng.normal(0, 0.01, g.shape), 0, 1).astype(np.float32)


def test_bone_surface_lies_on_the_band_outer_edge_and_the_skin_outside_it():
    v = analyse_vault(skull_phantom())
    assert len(v.surface) >= 0.9 * v.sector_rays
    radius = 0.40 * 256  # mean semi-axis: 1 unit of rho is about this many px
    # the bone band ends at rho 0.96 (bone 0.85 -> scalp 0.35), the skin at rho 1.0 (0.35 -> air 0.1)
    assert np.median(np.abs(_rho(v.surface) - 0.96)) * radius < 1.0
    assert np.median(np.abs(_rho(v.skin) - 1.00)) * radius < 1.5
    assert v.surface_concavity < 0.005 and v.outline_concavity < 0.005


def test_bone_surface_sees_a_ripple_under_a_smooth_skin():
    smooth, rippled = analyse_vault(_bone_ripple_phantom(0.0)), analyse_vault(_bone_ripple_phantom(0.04))
    assert smooth.surface_concavity < 0.005
    assert rippled.surface_concavity > 0.02  # the bone surface dents between the crests
    assert rippled.skin_concavity < 0.005  # the skin does not move
    # the judged outline dent is the smaller estimate: where the scalp is a visible layer of its
    # own (as here, not on the cephalograms) a bone-only ripple is left to the ridge measures
    assert rippled.outline_concavity == pytest.approx(rippled.skin_concavity)


def test_outline_concavity_is_the_smaller_finite_estimate():
    nan = float("nan")
    v = SkullVault((0.0, 0.0), 20, 0, 0.0, 0.0, 0.0, 0.03, nan, 1.0, surface_concavity=0.01)
    assert v.outline_concavity == 0.01
    v.surface_concavity = nan
    assert v.outline_concavity == 0.03
    v.skin_concavity = nan
    assert np.isnan(v.outline_concavity)


def _mirror_pair(seed: int = 0) -> np.ndarray:
    """Smooth random bone-like blobs mirrored about the centre column."""
    from scipy import ndimage as ndi

    rng = np.random.default_rng(seed)
    half = ndi.gaussian_filter(rng.random((256, 128)), 6)
    half = (half - half.min()) / (np.ptp(half) + 1e-9)
    img = np.concatenate([half, half[:, ::-1]], axis=1)
    return np.clip(img + 0.02 * rng.standard_normal(img.shape), 0, 1).astype(np.float32)


def test_pelvis_axis_stays_when_one_lower_quadrant_is_erased():
    img = _mirror_pair()
    assert abs(analyse_pelvis(img).axis_frac - 0.5) < 0.02
    assert min(analyse_pelvis(img).cell_balance) > 0.9
    cut = img.copy()
    cut[150:, 150:] = float(np.median(img))  # a 'femur' gone: flat tissue in the lower right
    p = analyse_pelvis(cut)
    assert abs(p.axis_frac - 0.5) < 0.02  # the median of the three bands' axes ignores the lower band
    assert min(p.cell_balance) < 0.3 and p.worst_cell[0].startswith("lower")
    r = _run("pelvis.symmetry", cut, "pelvis", "ap")
    assert r.passed is False and "lower" in r.reason


def test_pelvis_tilted_film_is_measured_upright():
    from scipy import ndimage as ndi

    img = _mirror_pair()
    tilted = ndi.rotate(img, -7.5, reshape=False, order=1, mode="nearest")  # a tilt the search tries
    p = analyse_pelvis(tilted)
    assert p.tilt == 7.5  # rotated back upright
    assert min(p.cell_balance) > 0.8
    assert _run("pelvis.symmetry", tilted, "pelvis", "ap").passed is True


def test_pelvis_real_films_pass_and_erasures_fail(shared_data):
    from benchmarks.anatomy_cases.axial import pelvis_cases

    cases = list(pelvis_cases(shared_data))
    if not cases:
        pytest.skip("no pelvis films in shared data")
    real = [c for c in cases if c.kind == "real"]
    fails = [c.name for c in real if _run("pelvis.symmetry", c.array(), "pelvis", "ap").passed is not True]
    mirrored = [c.name for c in real
                if _run("pelvis.symmetry", np.ascontiguousarray(c.array()[:, ::-1]), "pelvis", "ap").passed is not True]
    from scipy import ndimage as ndi

    rotated = [c.name for c in real  # patient or detector rotated by 5 degrees
               if _run("pelvis.symmetry", ndi.rotate(c.array(), 5.0, reshape=False, mode="nearest"), "pelvis",
                       "ap").passed is not True]
    missed = [c.name for c in cases if c.kind == "corrupt"
              and _run("pelvis.symmetry", c.array(), "pelvis", "ap").passed is not False]
    # measured (benchmarks/pelvis_symmetry.py): real 0/4 fail, also mirrored and rotated 5 deg
    # (2/4 failed rotated before the tilt search); erasures 16/16 detected (real cell balance
    # 0.72..0.86, erasures 0.25..0.52, bound 0.62)
    assert not fails and not mirrored and not rotated, (fails, mirrored, rotated)
    assert not missed, missed

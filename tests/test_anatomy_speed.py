"""The fast paths of the weight-free anatomy measurements give exactly what the plain ones gave.

Each optimisation that replaced a library call or a Python loop by an equivalent computation is
checked here against the original formulation on random inputs with known-equal answers (no
timing is asserted: ``benchmarks/anatomy_accuracy.py`` prints the speed, and
``benchmarks/anatomy_golden.py`` compares every check's output on the harness cases).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi

from anatscore.anatomy.scanlines import rotate, rotate_mask, run_counts, runs

ANGLES = (0.0, 90.0, -90.0, 180.0, 45.0, -45.0, 135.0, 1e-3, 89.999, -163.56, 12.3456)


def _random_masks(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    for i in range(n):
        h, w = (int(v) for v in rng.integers(16, 160, 2))
        m = ndi.gaussian_filter(rng.random((h, w)), rng.uniform(0.5, 3.0)) > rng.uniform(0.35, 0.65)
        if i % 7 == 0:  # a single pixel
            m[:] = False
            m[rng.integers(0, h), rng.integers(0, w)] = True
        yield m


@pytest.mark.parametrize("angle", ANGLES)
def test_rotate_mask_equals_skimage_rotate(angle):
    # 45-degree multiples put source coordinates on half pixels: the rounding must match too.
    for m in _random_masks(12, seed=int(abs(angle) * 1000) % 97):
        ref = rotate(m, angle, 0) > 0.5
        out = rotate_mask(m, angle)
        assert out.shape == ref.shape
        assert out.dtype == bool
        np.testing.assert_array_equal(out, ref)


def test_rotate_mask_of_empty_mask_is_empty():
    out = rotate_mask(np.zeros((20, 30), bool), 30.0)
    assert out.shape == (rotate(np.zeros((20, 30)), 30.0, 0)).shape
    assert not out.any()


def test_run_counts_equals_runs_per_row():
    for m in _random_masks(20, seed=3):
        for min_len in (1, 2, 5):
            want = np.array([len(runs(r, min_len)) for r in m])
            np.testing.assert_array_equal(run_counts(m, min_len), want)


def test_run_counts_known_rows():
    m = np.zeros((3, 12), bool)
    m[0, [0, 1, 2, 6, 7, 8]] = True  # two runs of 3 (gap of 3 > bridge 2)
    m[1, [0, 1, 4, 5]] = True  # gap of 2: bridged into one run of 6
    m[2, [5]] = True  # one run of 1
    np.testing.assert_array_equal(run_counts(m, 1), [2, 1, 1])
    np.testing.assert_array_equal(run_counts(m, 3), [2, 1, 0])
    np.testing.assert_array_equal(run_counts(m, 4), [0, 1, 0])


# --- fastmorph: cross-shaped binary morphology by array shifts --------------------------------


def _masks_for_morphology(n: int = 150, seed: int = 1):
    rng = np.random.default_rng(seed)
    for i in range(n):
        h, w = (int(v) for v in rng.integers(1, 50, 2))
        m = ndi.gaussian_filter(rng.random((h, w)), rng.uniform(0.3, 2.0)) > rng.uniform(0.3, 0.7)
        if i % 10 == 0:
            m[:] = bool(rng.random() < 0.5)  # all False / all True
        yield m


def test_fastmorph_equals_scipy():
    from skimage import morphology

    from anatscore.anatomy.fastmorph import close_diamond, dilate_cross, erode_cross, fill_holes, open_cross

    for m in _masks_for_morphology():
        pairs = [
            (erode_cross(m), ndi.binary_erosion(m)),
            (erode_cross(m, 3), ndi.binary_erosion(m, iterations=3)),
            (dilate_cross(m), ndi.binary_dilation(m)),
            (dilate_cross(m, 2), ndi.binary_dilation(m, morphology.disk(2))),
            (dilate_cross(m, 8), ndi.binary_dilation(m, iterations=8)),
            (open_cross(m), ndi.binary_opening(m, morphology.disk(1))),
            (close_diamond(m), ndi.binary_closing(m, morphology.disk(2))),
            (fill_holes(m), ndi.binary_fill_holes(m)),
        ]
        for got, want in pairs:
            np.testing.assert_array_equal(got, want)


def test_fastmorph_known_answers():
    from anatscore.anatomy.fastmorph import erode_cross, fill_holes, open_cross

    ring = np.zeros((7, 7), bool)
    ring[1:6, 1:6] = True
    ring[3, 3] = False  # one hole
    assert fill_holes(ring)[3, 3] and fill_holes(ring).sum() == 25
    block = np.ones((5, 5), bool)
    # Outside the image counts as False: erosion removes the outer frame.
    assert erode_cross(block).sum() == 9
    speck = np.zeros((9, 9), bool)
    speck[4, 4] = True
    assert not open_cross(speck).any()


# --- segment: border labelling and the text-marker search on the candidates' box -------------


def _border_connected_reference(mask):
    from skimage import measure

    lab = measure.label(mask, connectivity=1)
    edge = np.unique(np.concatenate([lab[0], lab[-1], lab[:, 0], lab[:, -1]]))
    return np.isin(lab, edge[edge > 0])


def _text_mask_reference(g):
    """The text-marker search over the whole image (before it was limited to the candidates' box)."""
    from skimage import measure, morphology

    bright = g > 0.93
    if not bright.any():
        return np.zeros_like(bright)
    lab = measure.label(ndi.binary_dilation(bright, morphology.disk(2)), connectivity=2)
    n = int(lab.max())
    areas = np.bincount(lab.ravel(), minlength=n + 1)
    cand = (areas <= 0.015 * g.size) & (areas >= 0.0002 * g.size)
    cand[0] = False
    if not cand.any():
        return np.zeros_like(bright)
    lab = np.where(cand[lab], lab, 0)
    near4 = ndi.maximum_filter(lab, size=9)
    near1 = ndi.maximum_filter(lab, size=3)
    ring = (near1 == 0) & (near4 > 0)
    rl, rv = near4[ring], g[ring]
    cnt = np.bincount(rl, minlength=n + 1).astype(float)
    safe = np.maximum(cnt, 1)
    dark_frac = np.bincount(rl, weights=(rv < 0.25).astype(float), minlength=n + 1) / safe
    mid_frac = np.bincount(rl, weights=((rv > 0.15) & (rv < 0.6)).astype(float), minlength=n + 1) / safe
    ring_mean = np.bincount(rl, weights=rv, minlength=n + 1) / safe
    core = lab * bright
    core_mean = np.bincount(core.ravel(), weights=g.ravel(), minlength=n + 1) / np.maximum(
        np.bincount(core.ravel(), minlength=n + 1), 1)
    is_text = (cnt > 0) & (dark_frac >= 0.75) & (mid_frac < 0.3) & (core_mean - ring_mean > 0.6)
    is_text[0] = False
    return is_text[lab]


def test_border_connected_equals_reference():
    from anatscore.anatomy.segment import _border_connected

    for m in _masks_for_morphology(80, seed=5):
        np.testing.assert_array_equal(_border_connected(m), _border_connected_reference(m))


def test_text_mask_equals_whole_image_search():
    from anatscore.anatomy.segment import _text_mask

    rng = np.random.default_rng(7)
    found = 0
    for i in range(40):
        h, w = (int(v) for v in rng.integers(40, 120, 2))
        g = (0.1 + 0.05 * rng.random((h, w))).astype(np.float32)  # air
        if i % 2:
            g[h // 3:, w // 4: 3 * w // 4] = 0.5  # a limb (soft tissue) some markers sit on
        for _ in range(int(rng.integers(0, 5))):  # bright markers, some at the image edge
            r, c = int(rng.integers(0, h - 3)), int(rng.integers(0, w - 3))
            g[r:r + int(rng.integers(2, 6)), c:c + int(rng.integers(2, 6))] = 0.97
        out = _text_mask(g)
        np.testing.assert_array_equal(out, _text_mask_reference(g))
        found += int(out.any())
    assert found >= 5  # the comparison covered images where markers were found


@pytest.mark.parametrize("r", (1.0, 2.5, 4.0, 5.7, 8.0, 11.4, 12.0))
def test_disk_morphology_equals_thresholded_edt(r):
    from anatscore.anatomy.fastmorph import dilate_disk, erode_disk

    for m in _masks_for_morphology(60, seed=int(r * 10)):
        if m.any():
            np.testing.assert_array_equal(dilate_disk(m, r), ndi.distance_transform_edt(~m) <= r)
        else:
            assert not dilate_disk(m, r).any()
        np.testing.assert_array_equal(erode_disk(m, r), ndi.distance_transform_edt(m) > r)

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

"""Limb anatomy, second part: fibula evidence on knee crops and the fibula remover; phalanges
per digit on hand phantoms (:mod:`anatscore.anatomy.phalanges`, not registered either: it
misreads the one real hand, see ``PYTHONPATH=. python -m benchmarks.msk_phalanges``).

Known answers on phantoms (a knee with and without a fibular head; the remover's edits confined
to the lateral lower corner) and, on the real knee crops (skipped without ``../shared/data``),
the measured separation of real crops from fibula-removed copies. No ``knee.fibula_present``
check is registered: the measured separation (``PYTHONPATH=. python -m benchmarks.msk_fibula``:
held-out false failures 12.0 %, detection 58.0 %, AUC 0.827) is far from the issue's targets;
these tests pin that baseline so a future detector can be compared with it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from anatscore.anatomy.corrupt import remove_fibula
from anatscore.anatomy.fibula import corner_contrast, side_from_name
from anatscore.anatomy.phalanges import analyse_phalanges
from anatscore.anatomy.phantoms import hand_phantom, knee_phantom
from anatscore.anatomy.segment import segment

SEEDS = range(6)


def test_side_from_name() -> None:
    assert side_from_name("knee_kl/0/9135902L.png") == "right"
    assert side_from_name("9781589R.png") == "left"
    assert side_from_name("knee.png") is None


@pytest.mark.parametrize("seed", SEEDS)
def test_corner_contrast_sees_phantom_fibula(seed: int) -> None:
    with_fib = corner_contrast(knee_phantom(seed=seed))
    without = corner_contrast(knee_phantom(fibula=False, seed=seed))
    assert with_fib.value > 0.3, with_fib
    assert without.value < 0.1, without
    # The side picked when none is given is the one the fibula is drawn on: removing it there
    # lowers the measure by more than half.
    removed = remove_fibula(knee_phantom(seed=seed), with_fib.side)
    assert corner_contrast(removed, with_fib.side).value < 0.5 * with_fib.value


def test_remove_fibula_touches_only_the_lateral_lower_corner() -> None:
    g = knee_phantom(seed=3)
    side = corner_contrast(g).side
    out = remove_fibula(g, side)
    h, w = g.shape
    assert out.shape == g.shape and out.dtype == np.float32
    assert 0.0 <= out.min() and out.max() <= 1.0
    top = int(0.62 * h)
    assert np.array_equal(out[:top], g[:top])
    medial = slice(0, w // 2) if side == "right" else slice(w // 2, w)
    lateral = slice(w - w // 8, w) if side == "right" else slice(0, w // 8)
    assert np.allclose(out[:, medial], g[:, medial], atol=1e-6)
    assert not np.allclose(out[top + 10:, lateral], g[top + 10:, lateral], atol=0.02)
    # Deep inside the edit the content is the mirrored medial soft tissue (texture, not a
    # constant row fill): no horizontal streaks.
    outer = slice(w - w // 16, w) if side == "right" else slice(0, w // 16)
    assert np.allclose(out[-10:, outer], g[-10:, ::-1][:, outer], atol=1e-3)


def test_remove_fibula_rejects_bad_side() -> None:
    with pytest.raises(ValueError):
        remove_fibula(knee_phantom(seed=0), "lateral")


@pytest.mark.realdata
def test_real_knees_vs_fibula_removed_baseline(shared_data: Path) -> None:
    """Measured baseline on the 100 real crops: removal lowers the measure on most crops, and
    the calibrated threshold separates them only partly (see the module docstring)."""
    from benchmarks.anatomy_cases.msk import knee_files, load_grey

    files = [f for f in knee_files(shared_data) if side_from_name(f.name)]
    if len(files) < 100:
        pytest.skip(f"expected 100 knee crops with L/R in the name, found {len(files)}")
    real, removed = [], []
    for f in files:
        g, side = load_grey(f), side_from_name(f.name)
        real.append(corner_contrast(g, side).value)
        removed.append(corner_contrast(remove_fibula(g, side), side).value)
    a, b = np.array(real), np.array(removed)
    assert np.mean(b < a) >= 0.8  # measured 0.93
    thr = np.percentile(a[::2], 5)
    assert np.mean(a[1::2] < thr) <= 0.15  # measured 0.12
    assert np.mean(b[1::2] < thr) >= 0.5  # measured 0.58
    assert np.mean(a[:, None] > b[None, :]) >= 0.78  # measured AUC 0.827


def _counts(phalanges: tuple[int, ...], seed: int) -> list[tuple[bool, int]]:
    """(is_thumb, phalanges) per digit found, thumb first (the phantom's thumb is digit 0)."""
    a = analyse_phalanges(segment(hand_phantom(5, phalanges=phalanges, seed=seed)))
    digits = sorted(a.digits, key=lambda d: not d.is_thumb)
    return [(d.is_thumb, d.phalanges) for d in digits]


@pytest.mark.slow
def test_phalanges_on_phantoms() -> None:
    """Measured on seeds 0-9: normal hands read exactly 9/10 (seed 3 reads one finger as 4);
    every thumb with 3 and every finger with 4 phalanges is flagged; a finger with 2 is
    flagged 9/10. The assertions allow one miss per 10, as measured."""
    normal_exact = sum(_counts((2, 3, 3, 3, 3), s) == [(True, 2)] + [(False, 3)] * 4 for s in range(10))
    assert normal_exact >= 9
    extra = sum(any(n == 4 for _, n in _counts((2, 3, 3, 4, 3), s)) for s in range(10))
    assert extra >= 9
    thumb3 = sum(_counts((3, 3, 3, 3, 3), s)[0] == (True, 3) for s in range(10))
    assert thumb3 >= 9
    fused = sum(any(n == 2 and not t for t, n in _counts((2, 3, 2, 3, 3), s)) for s in range(10))
    assert fused >= 8


@pytest.mark.realdata
def test_fibula_remover_leaves_no_streaks(shared_data: Path) -> None:
    """The older row-wise remover is betrayed by horizontal streaks (measured AUC 0.933 against
    real crops); the mirrored remover is not (measured 0.49)."""
    from benchmarks.msk_fibula import edit_visibility

    if not (shared_data / "real" / "xray" / "knee_kl").is_dir():
        pytest.skip("no knee crops")
    vis = edit_visibility(shared_data)
    assert vis["remove_lateral_bone (older)"][0] >= 0.85
    assert 0.35 <= vis["remove_fibula"][0] <= 0.65

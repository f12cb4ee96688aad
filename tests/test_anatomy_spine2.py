"""Spine column on chest films (branch spine2): the period estimator on a synthetic column with a
known period, the column corruptions on spine phantoms with known counts, and the real JSRT
chests (skips without ../shared/data)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage as ndi
from scipy import signal

from anatscore.anatomy import corrupt
from anatscore.anatomy.chest import WORK, chest_phantom, segment_lungs, to_work
from anatscore.anatomy.spine import analyse_spine, chest_column_period, spine_phantom

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.anatomy_cases import spine2  # noqa: E402


def _padded_phantom(seed: int) -> np.ndarray:
    """Six-body spine phantom with soft tissue below the column (room for a level to move into)."""
    return np.pad(spine_phantom(n=6, seed=seed, height=416), ((16, 112), (0, 0)), mode="edge")


def _discs(g: np.ndarray) -> tuple[np.ndarray, float]:
    """Disc rows of a phantom (dips of the central column's mean) and their median spacing,
    found independently of the detector under test."""
    w = g.shape[1]
    prof = ndi.gaussian_filter1d(g[:, int(0.42 * w):int(0.58 * w)].mean(1), 2)
    dips, _ = signal.find_peaks(-prof, prominence=0.05)
    return dips, float(np.median(np.diff(dips)))


@pytest.mark.parametrize("seed", [0, 3, 6])
def test_column_corruptions_change_the_phantom_count(seed: int) -> None:
    g = _padded_phantom(seed)
    w = g.shape[1]
    dips, period = _discs(g)
    assert analyse_spine(g).count == 6
    args = (w / 2, 0.15 * w, float(dips[2]), period)
    assert analyse_spine(corrupt.remove_vertebral_level(g, *args)).count == 5
    assert analyse_spine(corrupt.duplicate_vertebral_level(g, *args)).count == 7
    fused = analyse_spine(corrupt.fuse_disc_space(g, *args))
    assert fused.count == 5 or fused.irregularity > 0.3  # the fused pair reads as one tall body
    smeared = analyse_spine(corrupt.smear_spine_column(g, w / 2, 0.2 * w, period))
    # no periodic column left (before the fix in _dominant_period this raised IndexError: every
    # autocorrelation peak in the lag range was negative)
    assert smeared.period is None


def test_corruptions_leave_the_film_outside_the_band() -> None:
    g = _padded_phantom(1)
    w = g.shape[1]
    dips, period = _discs(g)
    out = corrupt.remove_vertebral_level(g, w / 2, 0.1 * w, float(dips[1]), period)
    assert out.shape == g.shape and out.dtype == np.float32
    ramp = int(np.ceil(0.1 * w * 1.3)) + 1
    assert np.array_equal(out[:, : int(w / 2) - ramp], g[:, : int(w / 2) - ramp])
    assert np.array_equal(out[: int(dips[1])], g[: int(dips[1])])  # rows above the cut untouched


def _chest_with_column(period: float, n: int = 1024) -> np.ndarray:
    """Chest phantom whose central column carries horizontal disc lines every ``period`` rows."""
    g = chest_phantom(n=n, seed=0, noise=0.01).astype(np.float64)
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float64)
    discs = np.exp(-0.5 * ((np.mod(yy, period) - period / 2) / 4.0) ** 2)
    column = np.abs(xx / n - 0.5) < 0.045
    return np.clip(g - 0.12 * discs * column, 0, 1).astype(np.float32)


@pytest.mark.parametrize("period", [62.0, 78.0])
def test_chest_column_period_known(period: float) -> None:
    g = _chest_with_column(period)
    c = chest_column_period(g, segment_lungs(to_work(g, WORK)), WORK)
    assert c is not None and c.period is not None
    assert abs(c.period / period - 1) < 0.03
    assert c.strength > 0.5
    assert abs(c.centre_x / 1024 - 0.5) < 0.03
    assert c.levels == pytest.approx((c.bottom - c.top) / c.period)


def test_chest_column_needs_both_lungs() -> None:
    g = chest_phantom(n=512, lungs=(True, False))
    assert chest_column_period(g, segment_lungs(to_work(g, WORK)), WORK) is None


@pytest.mark.slow
def test_jsrt_column_lies_in_the_mediastinum_and_period_agrees_with_anatomy(shared_data: Path) -> None:
    """On 16 even-indexed JSRT films: the column centre lies between the SCR lung masks' medial
    edges on every film; where the period is clear (autocorrelation >= 0.3) the lung span holds
    10 +- 3 vertebral levels; with the column smeared (no vertebrae) the period is clear on at
    most two films (benchmarks/spine_chest.py, all 135 chests: clear on 80/135 real, 2/127 smeared)."""
    films = spine2.jsrt_films(shared_data)[0:32:2]
    clear = smeared_clear = 0
    for p in films:
        s = spine2._corrupted(p, "spine_column_smeared")
        cs = chest_column_period(s, segment_lungs(to_work(s, WORK)), WORK)
        smeared_clear += int(cs is not None and cs.strength >= 0.3)
        g = spine2._grey(p)
        c = chest_column_period(g, segment_lungs(to_work(g, WORK)), WORK)
        assert c is not None, p.name
        masks = p.parent.parent / "masks"
        R = spine2._grey(masks / "right_lung" / p.name) > 0.5
        L = spine2._grey(masks / "left_lung" / p.name) > 0.5
        assert np.flatnonzero(R.any(0)).max() - 10 < c.centre_x < np.flatnonzero(L.any(0)).min() + 10, p.name
        if c.strength >= 0.3:
            clear += 1
            assert 7 <= c.levels <= 13, (p.name, c.levels)
    assert clear >= 6
    assert smeared_clear <= 2  # JPCLN017 and JPCLN029: the only two of all 127 smeared films


def test_harness_cases_follow_the_registry(shared_data: Path) -> None:
    """spine.* is not registered for chests or abdomens, so the shared harness gets none of the
    spine2 cases (they would count the JSRT chests twice for chest.* and every column corruption
    as an anatomy.plausible miss); benchmarks/spine_chest.py reads all of them."""
    from anatscore.checks import applies
    from anatscore.registry import check_spec
    from anatscore.types import ImageMeta

    chest = ImageMeta(image_id="-", path="-", modality="xray", region="chest")
    registered = applies(check_spec("spine.vertebra_count"), chest)[0]
    harness = list(spine2.cases(shared_data))
    every = list(spine2.all_cases(shared_data))
    assert len(every) == 135 + 1 + 127 * len(spine2.CORRUPTIONS)
    assert len(harness) == (sum(c.region == "chest" for c in every) if registered else 0)

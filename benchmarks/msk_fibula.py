"""Fibula presence on real knee AP crops vs the same crops with the fibular head removed.

Measures how well the lower-corner measure of :mod:`anatscore.anatomy.fibula` (and, for
comparison, the same comparison on the bone mask of :mod:`anatscore.anatomy.segment`) separates
the 100 real crops of ``real/xray/knee_kl`` from their fibula-removed copies
(:func:`anatscore.anatomy.corrupt.remove_fibula`, side from the file name). Threshold: the 5th
percentile of the calibration half (even-indexed files in sorted order, as in
``benchmarks/msk_calibrate.py``); figures on the held-out half (odd-indexed): false failures
(real crops below the threshold) and detections (removed copies below it), plus the AUC over
all 100 pairs (probability that a real crop scores above a removed one).

Second table: how visible the *edit* is, whatever the anatomy. ``streak_ratio`` (the spread of
the row means over the spread of the column means of the fine detail ``g - G_2px * g`` in the
lower corner bands, the larger of the two sides) is high for a fill that is constant along rows.
Its AUC against the real crops, and the share of edited crops above the real crops' 95th
percentile, for the older :func:`~anatscore.anatomy.corrupt.remove_lateral_bone` and for
:func:`~anatscore.anatomy.corrupt.remove_fibula`.

Usage::

    PYTHONPATH=. python -m benchmarks.msk_fibula [--data ../shared/data]
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Callable

import numpy as np

from scipy import ndimage as ndi

from anatscore.anatomy.corrupt import remove_fibula, remove_lateral_bone
from anatscore.anatomy.fibula import corner_contrast, side_from_name
from anatscore.anatomy.segment import segment

from .anatomy_cases.msk import knee_files, load_grey


def _bone_band(g: np.ndarray, side: str, band: float = 0.22, rows: tuple[float, float] = (0.72, 0.97)) -> float:
    """Bone-mask fraction of the lateral lower corner band minus that of the medial one."""
    b = segment(g).bone
    h, w = b.shape
    k = int(band * w)
    r0, r1 = int(rows[0] * h), int(rows[1] * h)
    left, right = float(b[r0:r1, :k].mean()), float(b[r0:r1, w - k:].mean())
    return right - left if side == "right" else left - right


def streak_ratio(g: np.ndarray, band: float = 0.22, rows: tuple[float, float] = (0.7, 0.97)) -> float:
    """std(row means) / std(column means) of the fine detail in the lower corner bands (max of
    the two sides): horizontal streaks left by a row-wise fill raise it."""
    h, w = g.shape
    fine = g - ndi.gaussian_filter(g, 2.0)
    k = int(band * w)
    r0, r1 = int(rows[0] * h), int(rows[1] * h)
    vals = []
    for cols in (slice(0, k), slice(w - k, w)):
        b = fine[r0:r1, cols]
        vals.append(float(b.mean(axis=1).std() / max(float(b.mean(axis=0).std()), 1e-9)))
    return max(vals)


def edit_visibility(data_dir: Path) -> dict[str, tuple[float, float]]:
    """Remover -> (AUC of ``streak_ratio`` edited vs real, share of edited crops above the real P95)."""
    files = [f for f in knee_files(data_dir) if side_from_name(f.name)]
    real, old, new = [], [], []
    for f in files:
        g = load_grey(f)
        real.append(streak_ratio(g))
        old.append(streak_ratio(remove_lateral_bone(g)))
        new.append(streak_ratio(remove_fibula(g, side_from_name(f.name))))
    r = np.array(real)
    p95 = float(np.percentile(r, 95))
    return {name: (float(np.mean(np.array(v)[:, None] > r[None, :])), float(np.mean(np.array(v) > p95)))
            for name, v in (("remove_lateral_bone (older)", old), ("remove_fibula", new))}


MEASURES: dict[str, Callable[[np.ndarray, str], float]] = {
    "corner contrast, side from file name": lambda g, s: corner_contrast(g, s).value,
    "corner contrast, side unknown (max)": lambda g, s: corner_contrast(g, None).value,
    "bone-mask corner fraction, side from name": _bone_band,
}


def measure(data_dir: Path) -> dict[str, dict[str, float]]:
    """Per measure: threshold, held-out false-failure rate, held-out detection rate, AUC."""
    files = [f for f in knee_files(data_dir) if side_from_name(f.name)]
    real = {k: [] for k in MEASURES}
    removed = {k: [] for k in MEASURES}
    for f in files:
        g = load_grey(f)
        side = side_from_name(f.name)
        r = remove_fibula(g, side)
        for k, fn in MEASURES.items():
            real[k].append(fn(g, side))
            removed[k].append(fn(r, side))
    out = {}
    for k in MEASURES:
        a, b = np.array(real[k]), np.array(removed[k])
        thr = float(np.percentile(a[::2], 5))
        out[k] = {
            "n": float(a.size),
            "threshold": thr,
            "heldout_false_failure": float(np.mean(a[1::2] < thr)),
            "heldout_detection": float(np.mean(b[1::2] < thr)),
            "auc": float(np.mean(a[:, None] > b[None, :])),
        }
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared" / "data")
    args = p.parse_args(argv)
    if not (args.data / "real" / "xray" / "knee_kl").is_dir():
        print(f"# {args.data}/real/xray/knee_kl absent: nothing to measure")
        return 1
    print(f"{'measure':44s} {'crops':>5s} {'thr':>7s} {'held-out FF':>11s} {'held-out det':>12s} {'AUC':>6s}")
    for k, r in measure(args.data).items():
        print(f"{k:44s} {int(r['n']):5d} {r['threshold']:7.3f} {100 * r['heldout_false_failure']:10.1f}% "
              f"{100 * r['heldout_detection']:11.1f}% {r['auc']:6.3f}")
    print(f"\n{'edit visibility (streak ratio)':44s} {'AUC vs real':>11s} {'> real P95':>10s}")
    for k, (auc, above) in edit_visibility(args.data).items():
        print(f"{k:44s} {auc:11.3f} {100 * above:9.1f}%")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

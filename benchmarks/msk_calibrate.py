"""Print the knee ranges of ``anatscore/anatomy/regions/knee.json`` from the calibration half.

The calibration half is the even-indexed real knee crops (sorted order, 50 of 100); the record's
lower bounds are the 5th percentiles printed here (rounded down to 2 decimals). The odd-indexed
half is held out for the false-failure figure of ``benchmarks/msk_accuracy.py``.

Usage::

    PYTHONPATH=. python -m benchmarks.msk_calibrate [--data ../shared/data]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from anatscore.anatomy.jointspace import horizontal_joint_space
from anatscore.anatomy.polarity import layout_inverted
from anatscore.anatomy.segment import segment
from anatscore.anatomy.texture import trabecular_texture

from .anatomy_cases.msk import knee_files, load_grey


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared" / "data")
    args = p.parse_args(argv)
    files = knee_files(args.data)
    if not files:
        raise SystemExit(f"no knee crops under {args.data}")
    rows = {"calibration": [], "held-out": []}
    for i, f in enumerate(files):
        g = load_grey(f)
        seg = segment(g, inverted=layout_inverted(g, "knee"))  # as segment_image segments a knee
        tx = trabecular_texture(seg)
        rows["calibration" if i % 2 == 0 else "held-out"].append(
            (horizontal_joint_space(seg).depth_median, tx.anisotropy, tx.coherence))
    for split, vals in rows.items():
        a = np.array(vals)
        for j, name in enumerate(("joint_space_depth", "trabecular_anisotropy", "trabecular_coherence")):
            q = np.percentile(a[:, j], [5, 50, 95])
            print(f"{split:12s} n={len(a):3d} {name:24s} P5 {q[0]:.3f}  median {q[1]:.3f}  P95 {q[2]:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

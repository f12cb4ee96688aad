"""Scanline run counts behind ``hand.digit_count`` on the real MURA hand under exposure changes.

Usage::

    PYTHONPATH=. python benchmarks/hand_bands.py [--data ../shared/data]

For the hand as stored and under gamma 0.5 / 2 / 3 and gain 0.6, prints the digit count and, for
``k`` = 5, 6, 7: how many scanlines (rows across the hand axis) show at least ``k`` bone runs, and
the longest unbroken band of such rows before and after the running median of
:func:`anatscore.anatomy.hand.analyse_hand` (the band the count needs is ``persist`` = 4 % of the
bone's extent). One real hand: a stability figure, not an accuracy.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from anatscore.anatomy.hand import _longest_band, analyse_hand  # noqa: E402
from anatscore.anatomy.scanlines import rotate, run_counts  # noqa: E402
from anatscore.anatomy.segment import segment  # noqa: E402
from benchmarks.anatomy_cases.msk import load_grey  # noqa: E402

EXPOSURES = {
    "as stored": lambda g: g,
    "gamma 0.5": lambda g: g**0.5,
    "gamma 2": lambda g: g**2,
    "gamma 3": lambda g: g**3,
    "gain 0.6": lambda g: 0.6 * g,
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    args = ap.parse_args(argv)
    path = args.data / "real" / "xray" / "msk_mura_examples" / "HAND.png"
    if not path.is_file():
        ap.error(f"{path} absent")
    g0 = load_grey(path)
    print("| exposure | digits | band needed | rows >= 5 runs (all / longest band raw / smoothed) "
          "| rows >= 6 | rows >= 7 |")
    print("|---|---|---|---|---|---|")
    for name, fn in EXPOSURES.items():
        seg = segment(fn(g0).astype(np.float32))
        h = analyse_hand(seg)
        min_len = max(2, int(round(0.008 * max(seg.shape))))
        counts = run_counts(rotate(seg.bone, -h.axis_angle_deg, 0) > 0.5, min_len)
        steady = ndi.median_filter(counts, size=3, mode="nearest")
        ys = np.flatnonzero(counts > 0)
        need = max(3, int(0.04 * (ys[-1] - ys[0] + 1)))
        cells = [f"{int((counts >= k).sum())} / {_longest_band(counts >= k)[1]} / {_longest_band(steady >= k)[1]}"
                 for k in (5, 6, 7)]
        print(f"| {name} | {h.digit_count} | {need} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Per-image carpal piece counts behind ``wrist.carpal_separation``'s verdicts.

Usage::

    PYTHONPATH=. python benchmarks/carpal_counts.py [--data ../shared/data]

Prints, for every case of ``benchmarks/anatomy_cases/carpal.py`` grouped by kind and failure type,
the counts of separable carpal pieces (min / median / max and the list) next to the floor the
check applies (fail below it), so the margin between normal and fused wrists can be seen, not
just the pass rate. It also runs the check on the MURA hand's digit corruptions
(``benchmarks/anatomy_cases/msk.py``: a finger strip duplicated or deleted, carpus untouched),
which should not change the carpal verdict, and on the real wrists mirrored, rotated by +-15
degrees and halved in size (the same three films: a robustness figure, not new images).
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from anatscore.checks import CheckContext  # noqa: E402
from anatscore.checks.carpus import NAME, carpal_separation, expected_floor  # noqa: E402
from anatscore.types import ImageMeta, LoadedImage  # noqa: E402
from benchmarks.anatomy_cases import carpal as carpal_cases  # noqa: E402
from benchmarks.anatomy_cases import msk as msk_cases  # noqa: E402


def _check(name: str, region: str, grey: np.ndarray):
    meta = ImageMeta(image_id=name, path=name, modality="xray", region=region, view="pa")
    return carpal_separation(LoadedImage(meta=meta, grey=grey), CheckContext())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    args = ap.parse_args(argv)
    data = args.data if (args.data / "manifest.csv").is_file() else None
    floor = expected_floor({})[0]
    groups: dict[str, list[float]] = defaultdict(list)
    na: dict[str, int] = defaultdict(int)
    for case in carpal_cases.cases(data):
        r = _check(case.name, case.region, case.array())
        key = f"{case.kind}: {case.failure_type or 'normal'}"
        if r.passed is None:
            na[key] += 1
        else:
            groups[key].append(float(r.value))
    print(f"{NAME}: separable carpal pieces per image (fails below {floor:g})")
    print("| cases | n | min | median | max | below floor | counts |")
    print("|---|---|---|---|---|---|---|")
    for key in sorted(groups):
        v = groups[key]
        below = sum(x < floor for x in v)
        print(f"| {key} | {len(v)}{f' (+{na[key]} n/a)' if na[key] else ''} | {min(v):g} | {np.median(v):g} | "
              f"{max(v):g} | {below}/{len(v)} | {' '.join(f'{x:g}' for x in v)} |")
    if data is not None:
        from skimage.transform import rescale, rotate

        augment = {
            "mirrored": lambda g: g[:, ::-1].copy(),
            "rotated +15": lambda g: rotate(g, 15, mode="edge").astype(np.float32),
            "rotated -15": lambda g: rotate(g, -15, mode="edge").astype(np.float32),
            "half size": lambda g: rescale(g, 0.5, anti_aliasing=True).astype(np.float32),
        }
        print("\nReal wrists/hands, augmented (should pass):")
        fails = n = 0
        for case in carpal_cases.real_cases(data):
            if case.kind != "real":
                continue
            g = case.array()
            for what, fn in augment.items():
                r = _check(case.name, case.region, fn(g))
                n += 1
                fails += r.passed is False
                print(f"  {case.name} {what}: {r.reason}")
        print(f"failed on {fails}/{n}")
        print("\nMURA hand with a finger strip duplicated or deleted (carpus untouched; should pass):")
        fails = 0
        n = 0
        for case in msk_cases.hand_cases(data):
            if case.kind != "corrupt":
                continue
            r = _check(case.name, "hand", case.array())
            n += 1
            fails += r.passed is False
            print(f"  {case.name}: {r.reason}")
        print(f"carpal verdict changed to fail on {fails}/{n}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

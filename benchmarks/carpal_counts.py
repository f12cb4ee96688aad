"""Per-image carpal piece counts behind ``wrist.carpal_separation``'s verdicts.

Usage::

    PYTHONPATH=. python benchmarks/carpal_counts.py [--data ../shared/data] [--augmented-only | --render]

Prints, for every case of ``benchmarks/anatomy_cases/carpal.py`` grouped by kind and failure type,
the counts of separable carpal pieces (min / median / max and the list) next to the floor the
check applies (fail below it), so the margin between normal and fused wrists can be seen, not
just the pass rate. It also runs the check on the MURA hand's digit corruptions
(``benchmarks/anatomy_cases/msk.py``: a finger strip duplicated or deleted, carpus untouched),
which should not change the carpal verdict, and on the real wrists mirrored, rotated by +-15
degrees, halved, enlarged 1.5x / 2x, gamma 0.5 / 2 and gain-changed (``AUGMENT`` of ``benchmarks/anatomy_cases/carpal2.py``; the same three
films: a robustness figure, not new images), with whether the located carpus centre falls inside
the carpus disk marked by eye. ``--render`` prints the median normalised grey of real
radiographs of other regions in the data folder (the 7 MURA examples, the first 60 knee crops in
sorted order) and of the three wrist films, the figure behind the 0.5 target of
:func:`anatscore.anatomy.carpus.normalise_rendering`.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path
from typing import Callable

import numpy as np
from scipy import ndimage as ndi

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from anatscore.checks import CheckContext  # noqa: E402
from anatscore.checks.carpus import NAME, carpal_separation, expected_floor  # noqa: E402
from anatscore.types import ImageMeta, LoadedImage  # noqa: E402
from benchmarks.anatomy_cases import carpal as carpal_cases  # noqa: E402
from benchmarks.anatomy_cases.carpal2 import AUGMENT  # noqa: E402
from benchmarks.anatomy_cases import msk as msk_cases  # noqa: E402


def _check(name: str, region: str, grey: np.ndarray):
    meta = ImageMeta(image_id=name, path=name, modality="xray", region=region, view="pa")
    return carpal_separation(LoadedImage(meta=meta, grey=grey), CheckContext())

def _marked_disk(shape: tuple[int, int], centre: tuple[float, float], radius: float,
                 fn: Callable[[np.ndarray], np.ndarray]) -> tuple[float, float, float]:
    """The by-eye carpus disk of a real case carried through an augmentation: the disk is drawn
    as a mask, augmented like the film, and its centroid (row, col) and equivalent radius read
    back (generic: works for any geometric transform in :data:`AUGMENT`)."""
    h, w = shape
    rr, cc = np.ogrid[:h, :w]
    r = radius * min(h, w)
    disk = (((rr - centre[0] * h) ** 2 + (cc - centre[1] * w) ** 2) <= r**2).astype(np.float32)
    out = fn(disk) > 0.5
    cy, cx = ndi.center_of_mass(out)
    return float(cy), float(cx), float(np.sqrt(out.sum() / np.pi))


def _augmented(data: Path) -> None:
    """Verdict, count and locator hit (centre inside the by-eye carpus disk) on augmented copies."""
    print("\nReal wrists/hands, augmented (should pass; 'in disk': the located carpus centre lies "
          "inside the by-eye carpus disk of benchmarks/anatomy_cases/carpal.py):")
    fails = n = hits = 0
    for case in carpal_cases.real_cases(data):
        if case.kind != "real":
            continue
        g = case.array()
        _, _, centre, radius = carpal_cases.REAL[case.name]
        for what, fn in {"original": lambda x: x, **AUGMENT}.items():
            ga = fn(g)
            r = _check(case.name, case.region, ga)
            cy, cx, rad = _marked_disk(g.shape, centre, radius, fn)
            ev = r.evidence.get("carpus_centre") if r.evidence else None
            inside = ev is not None and np.hypot(ev[1] - cy, ev[0] - cx) <= rad
            if what != "original":
                n += 1
                fails += r.passed is False
                hits += inside
            print(f"  {case.name} {what}: {'in disk' if inside else 'OUTSIDE disk'}; {r.reason}")
    print(f"augmented copies failed on {fails}/{n}; carpus centre inside the marked disk on {hits}/{n}")


def _render(data: Path) -> None:
    """Median normalised grey (working copy, 1st-99th percentile stretch) of real radiographs."""
    from anatscore.anatomy.segment import _working_copy, normalise

    def median_grey(path: Path) -> float:
        work, _ = _working_copy(carpal_cases.load_grey(path), 512)
        return float(np.median(normalise(work)))

    groups = {
        "MURA examples (7 regions)": sorted((data / "real/xray/msk_mura_examples").glob("*.png")),
        "knee crops (first 60)": sorted((data / "real/xray/knee_kl").glob("*/*.png"))[:60],
        "the three wrist films": [data / rel for rel, *_ in carpal_cases.REAL.values()],
    }
    print("| radiographs | n | median of the per-image median grey | p10 - p90 |")
    print("|---|---|---|---|")
    for name, paths in groups.items():
        m = [median_grey(p) for p in paths if p.is_file()]
        if m:
            p10, p90 = np.percentile(m, [10, 90])
            print(f"| {name} | {len(m)} | {np.median(m):.2f} | {p10:.2f} - {p90:.2f} |")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--augmented-only", action="store_true", help="only the augmented real films")
    ap.add_argument("--render", action="store_true", help="only the median grey of real radiographs")
    args = ap.parse_args(argv)
    data = args.data if (args.data / "manifest.csv").is_file() else None
    if args.render:
        if data is None:
            ap.error(f"no data at {args.data}")
        _render(data)
        return 0
    if args.augmented_only:
        if data is None:
            ap.error(f"no data at {args.data}")
        _augmented(data)
        return 0
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
        _augmented(data)
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

"""Region polarity layouts (``anatscore.anatomy.polarity``): are negatives recognised, and is
anything else taken for one?

Usage::

    PYTHONPATH=. OMP_NUM_THREADS=1 python benchmarks/polarity.py [--data ../shared/data] [--quick N]

For every case of the regions that have a layout (knee, chest) in ``benchmarks/anatomy_cases``
(real films, their corruptions, the chest films with a pleural effusion added), prints:

* the layout's decision (normal / inverted / undecided) per region, kind and failure type, for
  the image and, for real films, its inverted copy ``1 - g``; per calibration half for the real
  ones (knee: even-indexed crops; chest: even-indexed JSRT films), with the smallest gap on each;
* for the real films and their inverted copies, how many fail ``anatomy.plausible`` with the
  layout and without it (the layout patched out: the segmentation's air-at-the-border cue alone,
  chests read as stored), so the change it makes is measured on the same images.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Iterator
from unittest import mock

import numpy as np

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from anatscore.anatomy import polarity  # noqa: E402
from anatscore.registry import ANATOMY_CHECKS  # noqa: E402
from benchmarks.anatomy_accuracy import PLAUSIBLE, discover, run_case  # noqa: E402
from benchmarks.anatomy_cases import Case  # noqa: E402

REGIONS = ("knee", "chest")


@contextlib.contextmanager
def without_layouts() -> Iterator[None]:
    """Every region without a polarity layout (the behaviour before the layouts)."""
    with mock.patch.object(polarity, "region_polarity", lambda region: None):
        yield


def _decision(g: np.ndarray, region: str) -> tuple[str, float]:
    layout = polarity.region_polarity(region)
    assert layout is not None
    inverted, info = polarity.judge(g, layout)
    gap = info["region_normal_gap"]
    return {None: "undecided", False: "normal", True: "inverted"}[inverted], gap


def _half(case: Case) -> str:
    split = (case.meta or {}).get("split")
    if split in ("calibration", "held-out"):
        return split
    name = case.name.rsplit("/", 1)[-1]
    if name.startswith("JPC"):  # JSRT films: even / odd index in sorted order, as the chest constants
        return "JSRT"
    return "other"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--quick", type=int, default=1, metavar="N", help="keep every N-th case")
    args = ap.parse_args(argv)
    if not args.data.is_dir():
        print(f"no data at {args.data}: nothing to measure", file=sys.stderr)
        return 0
    t0 = time.monotonic()
    cases = [c for m in discover() for c in m.cases(args.data) if c.region in REGIONS]
    cases = cases[:: args.quick]
    specs = list(ANATOMY_CHECKS)
    decisions: dict[tuple[str, str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    min_gap: dict[tuple[str, str], float] = {}
    plausible: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])  # (fail, n)
    for i, case in enumerate(cases):
        if i and i % 200 == 0:
            print(f"  ... {i}/{len(cases)} cases", file=sys.stderr)
        g = case.array()
        copies = [("", g)] + ([("inverted copy", (1.0 - g).astype(np.float32))] if case.kind == "real" else [])
        for label, img in copies:
            what = case.failure_type or ("real" if case.kind == "real" else case.kind)
            key = (case.region, case.kind, f"{what} {label}".strip())
            d, gap = _decision(img, case.region)
            decisions[key][d] += 1
            if case.kind == "real" and not label:
                decisions[key + (_half(case),)][d] += 1  # type: ignore[index]
                k = (case.region, _half(case))
                min_gap[k] = min(min_gap.get(k, np.inf), gap)
            if case.kind != "real":
                continue
            for mode in ("with layout", "without layout"):
                ctx = without_layouts() if mode == "without layout" else contextlib.nullcontext()
                with ctx:
                    res = run_case(case, specs, grey=img)
                r = res.get(PLAUSIBLE)
                if r is None or r.passed is None:
                    continue
                cell = plausible[(case.region, label or "as stored", mode)]
                cell[0] += r.passed is False
                cell[1] += 1
    print(f"polarity layouts: {len(cases)} cases of {', '.join(REGIONS)}, {time.monotonic() - t0:.0f} s")
    print("\n| region | kind | images | normal | inverted | undecided |")
    print("|---|---|---|---|---|---|")
    for key in sorted(decisions, key=lambda k: tuple(str(x) for x in k)):
        d = decisions[key]
        n = sum(d.values())
        label = key[2] + (f" ({key[3]})" if len(key) > 3 else "")
        print(f"| {key[0]} | {key[1]}: {label} | {n} | {d['normal']} | {d['inverted']} | {d['undecided']} |")
    print("\nsmallest normal gap of the real films (as stored): "
          + "; ".join(f"{r} {h} {v:.3f}" for (r, h), v in sorted(min_gap.items())))
    print("\n| region | real films | anatomy.plausible fails, with layout | without layout |")
    print("|---|---|---|---|")
    for region in REGIONS:
        for label in ("as stored", "inverted copy"):
            w = plausible[(region, label, "with layout")]
            wo = plausible[(region, label, "without layout")]
            print(f"| {region} | {label} | {w[0]}/{w[1]} | {wo[0]}/{wo[1]} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""``joint.contour`` (knee articular-contour regularity) measured on real knee crops and their
distorted joint surfaces, as if the check were registered.

Usage::

    PYTHONPATH=. OMP_NUM_THREADS=1 python benchmarks/knee_contour.py [--data ../shared/data]
        [--no-timing] [--no-robustness] [--list-wrong]

Prints, in order:

1. calibration: per half, the 5th/50th/95th/97.5th percentiles of the femoral and tibial
   irregularity (``anatscore.anatomy.kneecontour``) on the real crops; the knee record's
   ``joint_contour_femur`` / ``joint_contour_tibia`` maxima are the calibration half's 97.5th
   percentiles rounded up to 0.1 (two contours at 2.5 % each: about 5 % of real knees fail);
2. the shared harness table (``benchmarks/anatomy_accuracy.py``'s scoring and timing) for the
   cases of ``benchmarks/anatomy_cases/knee_contour.py`` with ``joint.contour`` registered for
   the knee in-process;
3. per split: false failures on real crops and detections per failure type;
4. robustness: false failures on all 100 real crops under gamma 0.7 / 1.4, Gaussian noise
   (sd 0.02), half resolution, and inversion;
5. realism of the corruptions: the 99th percentile of the gradient magnitude inside the changed
   region, corrupted over original (a seam or streak would raise it well above 1).
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from anatscore.anatomy.kneecontour import knee_contours  # noqa: E402
from anatscore.anatomy.polarity import layout_inverted  # noqa: E402
from anatscore.anatomy.segment import segment  # noqa: E402
from anatscore.types import CheckSpec  # noqa: E402
from benchmarks.anatomy_accuracy import report, run_case, score, timings  # noqa: E402
from benchmarks.anatomy_cases import Case  # noqa: E402
from benchmarks.anatomy_cases import knee_contour as kc_cases  # noqa: E402
from benchmarks.anatomy_cases.msk import knee_files, load_grey  # noqa: E402

NAME = "joint.contour"
SPEC = CheckSpec(name=NAME, summary="knee articular contours regular (not distorted)",
                 target="anatscore.checks.joint_contour:joint_contour", regions=("knee",), modalities=("xray",),
                 needs=("grey", "single_panel"), group="anatomy")


def irregularity(g: np.ndarray) -> tuple[float, float]:
    k = knee_contours(segment(g, inverted=layout_inverted(g, "knee")))  # as segment_image segments a knee
    return k.femur_irregularity, k.tibia_irregularity


def calibration(files: list[Path]) -> None:
    rows: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for i, f in enumerate(files):
        rows["calibration" if i % 2 == 0 else "held-out"].append(irregularity(load_grey(f)))
    for split, vals in rows.items():
        a = np.array(vals)
        for j, name in enumerate(("joint_contour_femur", "joint_contour_tibia")):
            v = a[:, j][np.isfinite(a[:, j])]
            q = np.percentile(v, [5, 50, 95, 97.5])
            print(f"{split:12s} n={len(v):3d} (not judged {len(a) - len(v)}) {name:20s} P5 {q[0]:.2f}  "
                  f"median {q[1]:.2f}  P95 {q[2]:.2f}  P97.5 {q[3]:.2f}")


def _seam_ratio(orig: np.ndarray, cor: np.ndarray) -> float:
    changed = ndi.binary_dilation(np.abs(cor - orig) > 0.01, iterations=2)
    if changed.sum() < 20:
        return float("nan")
    def grad(x: np.ndarray) -> np.ndarray:
        return np.hypot(ndi.sobel(x, 0), ndi.sobel(x, 1))
    return float(np.percentile(grad(cor)[changed], 99) / max(np.percentile(grad(orig)[changed], 99), 1e-6))


def _variants(g: np.ndarray) -> dict[str, np.ndarray]:
    from skimage.transform import rescale

    rng = np.random.default_rng(0)
    return {
        "gamma 0.7": g ** 0.7,
        "gamma 1.4": g ** 1.4,
        "noise sd 0.02": np.clip(g + rng.normal(0, 0.02, g.shape), 0, 1).astype(np.float32),
        "half resolution": rescale(g, 0.5, anti_aliasing=True).astype(np.float32),
        "inverted": 1.0 - g,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--no-timing", action="store_true")
    ap.add_argument("--no-robustness", action="store_true")
    ap.add_argument("--list-wrong", action="store_true")
    args = ap.parse_args(argv)
    if not (args.data / "manifest.csv").is_file():
        raise SystemExit(f"real data folder {args.data} absent: nothing to measure (no phantoms for this check)")
    files = knee_files(args.data)
    print("1. calibration (irregularity = largest band-pass curvature over the judged columns, 1/H units)")
    calibration(files)

    cases = list(kc_cases.contour_cases(args.data))
    n_real = sum(c.kind == "real" for c in cases)
    n_placed = len({c.meta["index"] for c in cases if c.kind == "corrupt"})
    print(f"\n2. shared harness: {len(cases)} cases ({n_real} real crops, corruptions placed on {n_placed} of them)")
    tallies, _ = score(cases, [SPEC], progress=False)
    times = {} if args.no_timing else timings(cases, [SPEC])
    print(report(tallies, times, [NAME]))

    print("\n3. per split")
    cnt: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])  # verdicts, wrong, n/a
    wrong: list[str] = []
    ratios: dict[str, list[float]] = defaultdict(list)
    for case in cases:
        r = run_case(case, [SPEC])[NAME]
        key = (case.meta["split"], "real" if case.kind == "real" else case.failure_type)
        if r.passed is None:
            cnt[key][2] += 1
            continue
        cnt[key][0] += 1
        bad = (r.passed is False) if case.kind == "real" else (r.passed is True)
        cnt[key][1] += int(bad)
        if bad:
            wrong.append(f"{case.name}: {r.reason}")
    print("| split | cases | judged | wrong | figure |\n|---|---|---|---|---|")
    for (split, what), (n, bad, na) in sorted(cnt.items()):
        if what == "real":
            fig = f"false failures {bad}/{n} ({bad / n:.0%})"
        else:
            fig = f"detected {n - bad}/{n} ({(n - bad) / n:.0%})"
        print(f"| {split} | {what} | {n}{f' (n/a {na})' if na else ''} | {bad} | {fig} |")
    if args.list_wrong:
        print("\nwrong verdicts:")
        for w in wrong:
            print(f"  {w}")

    if not args.no_robustness:
        print("\n4. robustness: false failures on the 100 real crops under acquisition changes")
        res: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        for i, f in enumerate(files):
            g = load_grey(f)
            for label, v in {"as stored": g, **_variants(g)}.items():
                c = Case(f"{f.name}#{label}", "knee", "real", v.astype(np.float32), {NAME: True}, view="ap")
                r = run_case(c, [SPEC])[NAME]
                if r.passed is None:
                    res[label][2] += 1
                else:
                    res[label][0] += 1
                    res[label][1] += int(r.passed is False)
        print("| acquisition | judged | false failures | n/a |\n|---|---|---|---|")
        for label, (n, bad, na) in res.items():
            print(f"| {label} | {n} | {bad} ({bad / max(n, 1):.0%}) | {na} |")

    print("\n5. realism: P99 gradient magnitude in the changed region, corrupted / original")
    for case in cases:
        if case.kind != "corrupt":
            continue
        orig = load_grey(args.data / "real" / "xray" / case.name.split("#")[0])
        ratios[case.failure_type].append(_seam_ratio(orig, case.array()))
    print("| failure type | cases | median | P95 | max |\n|---|---|---|---|---|")
    for ft, v in ratios.items():
        a = np.array([x for x in v if np.isfinite(x)])
        print(f"| {ft} | {len(a)} | {np.median(a):.2f} | {np.percentile(a, 95):.2f} | {a.max():.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Knee AP proportions (``proportions.knee``): calibration, false failures, detection vs factor.

Usage::

    PYTHONPATH=. OMP_NUM_THREADS=1 python benchmarks/knee_proportions.py [--data ../shared/data] [--step N]

On the 100 real knee crops of ``real/xray/knee_kl`` (sorted; even-indexed files calibrate, odd
ones are held out) it prints:

1. the calibration statistics: median and robust sd (1.4826 x MAD) of ``ln(width_ratio)`` and of
   ``notch_position`` over the even half (the numbers in ``anatscore/anatomy/regions/knee.json``
   ``knee_width_ratio`` / ``knee_notch_position``), and the calibration half's failures at the
   candidate bounds |z| 3.5 / 4 / 4.5 / 5 (the record's bound is the smallest failing at most 2);
2. real films failing the check's rule (width ratio against the record's z bound) per split, and which;
3. per corruption (``anatscore/anatomy/corrupt_knee.py``) and factor: the median measured change
   and the detection rate per split by the check (the benchmark cases use the factors marked
   ``*``); for ``condyle_enlarged`` also by the notch rule |z_notch| > bound, which the check
   reports but does not judge;
4. the real films under acquisition changes (gamma 0.7 / 1.4, Gaussian noise sd 0.02, half
   resolution, inversion): failures per split and the median |change| of each proportion;
5. realism of the corruptions: how far the warped images differ from the real ones in
   edit-sensitive statistics (AUC real vs corrupted; 0.5 = indistinguishable): ``grain`` = ratio
   of horizontal to vertical gradient energy of the fine detail (``g - Gauss(g, 1)``) in the outer
   12 % columns (stretched soft tissue turns isotropic grain into horizontal streaks), ``grain2``
   the same for the band ``Gauss(g, 1) - Gauss(g, 3)``, ``margin`` = mean of the outer 12 %
   columns minus the image's median (a made margin darker than real soft tissue), and ``seam`` =
   the largest row-to-row jump of the fine detail's row energy within 0.15 H of the joint line;
6. speed of the check (segmentation, joint line and measurement, one image at a time) at 512^2 and
   2048^2 (a crop upsampled).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from anatscore.anatomy import corrupt_knee  # noqa: E402
from anatscore.anatomy.expected import expected  # noqa: E402
from anatscore.anatomy.jointspace import horizontal_joint_space  # noqa: E402
from anatscore.anatomy.knee_proportions import knee_proportions  # noqa: E402
from anatscore.anatomy.polarity import layout_inverted  # noqa: E402
from anatscore.anatomy.segment import segment  # noqa: E402
from anatscore.checks.knee_proportions import judge_proportions  # noqa: E402
from benchmarks.anatomy_cases.knee_proportions import CASE_FACTORS, knee_files, load_grey  # noqa: E402

FACTORS = {
    "condyles_too_narrow": [0.95, 0.9, 0.85, 0.8, 0.75],
    "condyles_too_wide": [0.95, 0.9, 0.85, 0.8, 0.75],
    "condyle_enlarged": [1.4, 1.6, 1.8, 2.0, 2.4],
}


def corrupt(g: np.ndarray, ftype: str, factor: float, i: int) -> np.ndarray:
    if ftype == "condyles_too_narrow":
        return corrupt_knee.squeeze_half(g, factor, "femur", seed=i)
    if ftype == "condyles_too_wide":
        return corrupt_knee.squeeze_half(g, factor, "tibia", seed=i)
    return corrupt_knee.enlarge_condyle(g, factor, "left" if i % 4 < 2 else "right")


def measure(g: np.ndarray) -> tuple[float, float, bool | None, str, float | None]:
    """(ln width ratio, notch position, passed, reason, z_notch) by the check's own rule."""
    seg = segment(g, inverted=layout_inverted(g, "knee"))  # as segment_image segments a knee
    kp = knee_proportions(seg, horizontal_joint_space(seg))
    res = judge_proportions(kp, expected("knee"))
    lw = math.log(kp.width_ratio) if kp.width_ratio > 0 else math.nan
    return lw, kp.notch_position, res[0], res[1], res[3].get("z_notch")


def robust(v: np.ndarray) -> tuple[float, float]:
    v = v[np.isfinite(v)]
    med = float(np.median(v))
    return med, float(1.4826 * np.median(np.abs(v - med)))


def _margin_anisotropy(d: np.ndarray) -> float:
    """Horizontal over vertical gradient energy of the detail ``d`` in the outer 12 % columns."""
    w = d.shape[1]
    m = max(4, int(0.12 * w))
    cols = np.r_[0:m, w - m:w]
    gx = np.diff(d[:, cols], axis=1) ** 2
    gy = np.diff(d[:, cols], axis=0) ** 2
    return float(gx.mean() / max(gy.mean(), 1e-12))


def _grain(g: np.ndarray) -> float:
    return _margin_anisotropy(g - ndi.gaussian_filter(g, 1.0))


def _grain2(g: np.ndarray) -> float:
    return _margin_anisotropy(ndi.gaussian_filter(g, 1.0) - ndi.gaussian_filter(g, 3.0))


def _margin(g: np.ndarray) -> float:
    h, w = g.shape
    m = max(4, int(0.12 * w))
    return float(np.r_[g[:, :m].ravel(), g[:, w - m:].ravel()].mean() - np.median(g))


def _seam(g: np.ndarray) -> float:
    h, w = g.shape
    d = g - ndi.gaussian_filter(g, 1.0)
    e = np.sqrt((d ** 2).mean(axis=1))
    j = int(np.median(corrupt_knee.joint_rows(g)))
    r0, r1 = max(1, j - int(0.15 * h)), min(h - 1, j + int(0.15 * h))
    return float(np.abs(np.diff(e[r0:r1])).max() / max(float(e.mean()), 1e-6))


def auc(neg: list[float], pos: list[float]) -> float:
    """Probability that a corrupted image scores above a real one (ties count half); written out
    (rather than sklearn.metrics.roc_auc_score) to keep sklearn out of the benchmark's needs."""
    a, b = np.asarray(neg), np.asarray(pos)
    gt = (b[:, None] > a[None, :]).mean()
    eq = (b[:, None] == a[None, :]).mean()
    return float(gt + 0.5 * eq)


STATS = {"grain": _grain, "grain2": _grain2, "margin": _margin, "seam": _seam}


def _speed(g: np.ndarray, side: int, reps: int = 3) -> float:
    """ms per image of the check (segmentation, joint line, measurement, verdict) at side^2."""
    from PIL import Image

    from anatscore.checks import CheckContext
    from anatscore.checks.knee_proportions import knee_proportions_check
    from anatscore.types import ImageMeta, LoadedImage

    big = np.asarray(Image.fromarray((g * 255).astype(np.uint8)).resize((side, side), Image.BICUBIC),
                     dtype=np.float32) / 255.0
    best = math.inf
    for _ in range(reps):
        img = LoadedImage(meta=ImageMeta(image_id="k", path="k", modality="xray", region="knee", view="ap"), grey=big)
        t = time.perf_counter()
        knee_proportions_check(img, CheckContext())
        best = min(best, time.perf_counter() - t)
    return 1000 * best


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--step", type=int, default=1, help="every N-th crop (quick runs)")
    args = ap.parse_args(argv)
    files = knee_files(args.data)
    if not files:
        print(f"no knee crops under {args.data}", file=sys.stderr)
        return 1
    t0 = time.perf_counter()
    picked = [(i, p) for i, p in enumerate(files) if i % args.step == 0]
    rec = expected("knee").raw["expect"]
    bw, bn = float(rec["knee_width_ratio"]["max"]), float(rec["knee_notch_position"]["max"])
    real: dict[int, tuple] = {}
    stats: dict[str, dict[str, list[float]]] = {k: {"real": []} for k in STATS}
    for i, p in picked:
        g = load_grey(p)
        real[i] = measure(g)
        for k, fn in STATS.items():
            stats[k]["real"].append(fn(g))
    split = {i: ("calibration" if i % 2 == 0 else "held-out") for i, _ in picked}
    splits = ("calibration", "held-out")
    lw = np.array([real[i][0] for i, _ in picked if split[i] == "calibration"])
    nt = np.array([real[i][1] for i, _ in picked if split[i] == "calibration"])
    mw, sw = robust(lw)
    mn, sn = robust(nt)
    print(f"knee crops: {len(picked)} (every {args.step}-th of {args.data / 'real/xray/knee_kl'})")
    print("\n1. calibration half (even-indexed files): median, robust sd (1.4826 MAD)")
    print(f"   ln(width_ratio): median {mw:+.4f} sd {sw:.4f}   (record: {rec['knee_width_ratio']['median']:+.4f}, "
          f"{rec['knee_width_ratio']['sd']:.4f}; bound |z| <= {bw:g})")
    print(f"   notch_position : median {mn:.4f} sd {sn:.4f}   (record: {rec['knee_notch_position']['median']:.4f}, "
          f"{rec['knee_notch_position']['sd']:.4f}; reported, not judged)")
    cands = []
    for b in (3.5, 4.0, 4.5, 5.0):
        n = int(np.sum(~(np.abs((lw - mw) / sw) <= b)))
        cands.append(f"|z| {b:g}: {n}/{len(lw)}")
    print("   calibration crops failing the width ratio at bound " + ", ".join(cands))
    print("\n2. real films failing the check (false failures; n/a not counted as failures)")
    for s in splits:
        ids = [i for i, _ in picked if split[i] == s]
        bad = [i for i in ids if real[i][2] is False]
        na = sum(real[i][2] is None for i in ids)
        print(f"   {s:<11} {len(bad)}/{len(ids)} ({100 * len(bad) / max(1, len(ids)):.1f}%), n/a {na}")
        for i in bad:
            print(f"      {files[i].parent.name}/{files[i].name}: {real[i][3]}")
    print("\n3. corruptions: median measured change (d ln ratio, |d notch|) and detection per split (* = benchmark case factor)")
    print(f"   {'failure type':<20} {'factor':>6}  {'d ln ratio':>10} {'|d notch|':>9}  {'calibration':>14} {'held-out':>14}"
          f"  {'notch rule (not judged) cal / held-out':>38}")
    for ftype, facs in FACTORS.items():
        for f in facs:
            dl, dn = [], []
            hits = {s: [0, 0] for s in splits}
            nhits = {s: 0 for s in splits}
            for i, p in picked:
                g = corrupt(load_grey(p), ftype, f, i)
                m = measure(g)
                dl.append(m[0] - real[i][0])
                dn.append(abs(m[1] - real[i][1]))
                hits[split[i]][0] += int(m[2] is False)
                hits[split[i]][1] += 1
                nhits[split[i]] += int(m[4] is not None and abs(m[4]) > bn)
                if f == CASE_FACTORS[ftype]:
                    for k, fn in STATS.items():
                        stats[k].setdefault(ftype, []).append(fn(g))
            star = "*" if f == CASE_FACTORS[ftype] else " "
            cells = [f"{a}/{b} ({100 * a / max(1, b):.0f}%)" for a, b in (hits[s] for s in splits)]
            notch = ""
            if ftype == "condyle_enlarged":
                notch = " / ".join(f"{nhits[s]}/{hits[s][1]} ({100 * nhits[s] / max(1, hits[s][1]):.0f}%)" for s in splits)
            print(f"   {ftype:<20} {f:>5}{star}  {np.nanmedian(dl):>+10.3f} {np.nanmedian(dn):>9.3f}  "
                  f"{cells[0]:>14} {cells[1]:>14}  {notch:>38}")
    print("\n4. real films under acquisition changes: failures per split, median |d ln ratio|, median |d notch|")
    rng = np.random.default_rng(0)
    acq = {
        "gamma 0.7": lambda g: g ** 0.7,
        "gamma 1.4": lambda g: g ** 1.4,
        "noise sd 0.02": lambda g: np.clip(g + rng.normal(0, 0.02, g.shape), 0, 1).astype(np.float32),
        "half resolution": lambda g: g.reshape(g.shape[0] // 2, 2, g.shape[1] // 2, 2).mean(axis=(1, 3)),
        "inverted": lambda g: 1.0 - g,
    }
    for name, fn in acq.items():
        fails = {s: [0, 0] for s in splits}
        dl, dn = [], []
        for i, p in picked:
            m = measure(fn(load_grey(p)))
            fails[split[i]][0] += int(m[2] is False)
            fails[split[i]][1] += 1
            dl.append(abs(m[0] - real[i][0]))
            dn.append(abs(m[1] - real[i][1]))
        cells = "  ".join(f"{s} {a}/{b} ({100 * a / max(1, b):.0f}%)" for s, (a, b) in fails.items())
        print(f"   {name:<16} fail {cells}  |d ln ratio| {np.nanmedian(dl):.3f}  |d notch| {np.nanmedian(dn):.3f}")
    print("\n5. realism of the corruptions at the case factors: AUC real vs corrupted (0.5 = indistinguishable)")
    print(f"   {'failure type':<20} " + " ".join(f"{k:>7}" for k in STATS))
    for ftype in FACTORS:
        print(f"   {ftype:<20} " + " ".join(f"{auc(stats[k]['real'], stats[k][ftype]):>7.2f}" for k in STATS))
    g0 = load_grey(picked[0][1])
    print(f"\n6. speed of proportions.knee (best of 3, one image, this machine): "
          f"{_speed(g0, 512):.0f} ms at 512^2, {_speed(g0, 2048):.0f} ms at 2048^2")
    print(f"\n{time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

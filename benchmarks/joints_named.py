"""Named joints beyond the knee (radiocarpal, tibiotalar, glenohumeral): what a localiser would
have to find, and whether the depth across the named joint separates open from fused joints.

Usage::

    PYTHONPATH=. OMP_NUM_THREADS=1 python benchmarks/joints_named.py [--data ../shared/data] [--timing]

Real data is thin: ONE film per joint (two for the radiocarpal joint): the MURA wrist PA and
shoulder AP examples, the GrazPedWri paediatric wrist (14 y) and the pydicom-data distal
tibia/ankle film (``RG3``), with their joint lines read off by hand
(``benchmarks/anatomy_cases/joints.py: JOINT_LINES``). Each film is scored under nine
acquisitions (as stored, gamma 0.7 and 1.4, Gaussian noise sd 0.02, blur sd 1.5 px, half
resolution, turned +5 and -5 degrees, mirrored; the hand-read line is mapped with the image) and
so is each of its fused corruptions, built on the stored film before the acquisition change:

- ``bridge_joint`` (realistic: bone continuous with both facing ends across the gap);
- ``fuse_joint`` (the older corruption: the band lifted to the local *maximum*; it leaves a slab
  brighter than the bone on both sides, printed below as the band excess).

Per case it prints:

- ``oracle``: :func:`anatscore.anatomy.namedjoint.gap_at_line` at the hand-read line - the depth
  a perfect localiser would read;
- ``generic``: the generic finder (:func:`anatscore.anatomy.jointspace.find_joint` with the
  region record's ``joint`` entry): its depth and whether its line is on the named joint
  (``on``: at least half of the hand-read line lies within 2 % of the long side of its line);
- ``distal ok``: whether :func:`anatscore.anatomy.namedjoint.limb_frame` points distally the
  way the film does (wrist: towards the fingers, ankle: towards the foot; not judged on the
  shoulder).

Then per joint: the smallest oracle depth on the real acquisitions against the largest on each
fused corruption (a gap between them means a threshold exists *if* the joint were localised),
and the generic finder's localisation rate. ``--timing`` adds ms per image of ``gap_at_line``
and ``find_joint`` (segmentation included) at 512^2 and 2048^2.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np
from scipy import ndimage as ndi

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from anatscore.anatomy import corrupt  # noqa: E402
from anatscore.anatomy.expected import expected  # noqa: E402
from anatscore.anatomy.jointspace import JointSpec, find_joint  # noqa: E402
from anatscore.anatomy.namedjoint import gap_at_line, limb_frame  # noqa: E402
from anatscore.anatomy.segment import segment  # noqa: E402
from benchmarks.anatomy_cases.joints import JOINT_LINES  # noqa: E402
from benchmarks.anatomy_cases.msk import load_grey  # noqa: E402

#: Distal direction (x, y) of each film as stored (None: not judged).
DISTAL = {"wrist": (0.0, -1.0), "wrist#graz": (0.0, -1.0), "ankle": (0.0, 1.0), "shoulder": None}

def _rotate(g: np.ndarray, line: np.ndarray, deg: float) -> tuple[np.ndarray, np.ndarray]:
    """``g`` turned by ``deg`` (counter-clockwise, same canvas, edge filled) and the line with it."""
    h, w = g.shape
    out = ndi.rotate(g, deg, reshape=False, order=1, mode="nearest")
    a = np.deg2rad(deg)
    c = np.array([(w - 1) / 2.0, (h - 1) / 2.0])
    d = line - c
    # ndimage.rotate turns the picture counter-clockwise as displayed (y down).
    rot = np.stack([np.cos(a) * d[:, 0] + np.sin(a) * d[:, 1], -np.sin(a) * d[:, 0] + np.cos(a) * d[:, 1]], 1)
    return out.astype(np.float32), rot + c


def variants() -> dict[str, Callable[[np.ndarray, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]]:
    """Acquisition variants: (grey, line, distal) -> (grey', line', distal')."""
    rng = np.random.default_rng(0)

    def noise(g: np.ndarray) -> np.ndarray:
        return np.clip(g + rng.normal(0, 0.02, g.shape), 0, 1).astype(np.float32)

    def half(g: np.ndarray) -> np.ndarray:
        from skimage.transform import rescale

        return rescale(g, 0.5, anti_aliasing=True, preserve_range=True).astype(np.float32)

    def rot_dir(dv: np.ndarray, deg: float) -> np.ndarray:
        a = np.deg2rad(deg)
        return np.array([np.cos(a) * dv[0] + np.sin(a) * dv[1], -np.sin(a) * dv[0] + np.cos(a) * dv[1]])

    return {
        "as stored": lambda g, ln, dv: (g, ln, dv),
        "gamma 0.7": lambda g, ln, dv: (np.power(g, 0.7).astype(np.float32), ln, dv),
        "gamma 1.4": lambda g, ln, dv: (np.power(g, 1.4).astype(np.float32), ln, dv),
        "noise 0.02": lambda g, ln, dv: (noise(g), ln, dv),
        "blur 1.5px": lambda g, ln, dv: (ndi.gaussian_filter(g, 1.5).astype(np.float32), ln, dv),
        "half size": lambda g, ln, dv: (half(g), ln * 0.5, dv),
        "turned +5": lambda g, ln, dv: (*_rotate(g, ln, 5.0), rot_dir(dv, 5.0)),
        "turned -5": lambda g, ln, dv: (*_rotate(g, ln, -5.0), rot_dir(dv, -5.0)),
        "mirrored": lambda g, ln, dv: (g[:, ::-1].copy(), np.stack([g.shape[1] - 1 - ln[:, 0], ln[:, 1]], 1),
                                       np.array([-dv[0], dv[1]])),
    }


def _on_joint(found_xy: np.ndarray, line: np.ndarray, tol: float) -> bool:
    """At least half of the (densely resampled) hand-read line within ``tol`` px of the found line."""
    if len(found_xy) == 0:
        return False
    seglen = np.hypot(*np.diff(line, axis=0).T)
    cum = np.concatenate(([0.0], np.cumsum(seglen)))
    ts = np.linspace(0, cum[-1], 50)
    dense = np.stack([np.interp(ts, cum, line[:, 0]), np.interp(ts, cum, line[:, 1])], 1)
    d = np.min(np.hypot(dense[:, None, 0] - found_xy[None, :, 0], dense[:, None, 1] - found_xy[None, :, 1]), axis=1)
    return bool(np.mean(d <= tol) >= 0.5)


def band_excess(g: np.ndarray, fused: np.ndarray, line: np.ndarray, half_width: float) -> float:
    """Median of (fused band - mean of the bone levels just outside it on both sides), relative to
    the film's P90-P10: how much brighter than the bone it joins a fused band is (0 = level)."""
    hw = max(2.0, half_width * max(g.shape))
    dist, nrm, _ = corrupt._polyline_frame(g.shape, line)
    band = dist < 0.6 * hw
    ys, xs = np.nonzero(band)
    gs = ndi.gaussian_filter(g, 1.0)
    sides = []
    for s in (+1, -1):
        sx = np.clip(xs + s * (hw + 3) * nrm[ys, xs, 0], 0, g.shape[1] - 1)
        sy = np.clip(ys + s * (hw + 3) * nrm[ys, xs, 1], 0, g.shape[0] - 1)
        sides.append(ndi.map_coordinates(gs, [sy, sx], order=1))
    spread = float(np.percentile(g, 90) - np.percentile(g, 10)) or 1e-3
    return float(np.median(ndi.gaussian_filter(fused, 1.0)[band] - 0.5 * (sides[0] + sides[1])) / spread)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--timing", action="store_true")
    args = ap.parse_args(argv)
    root = args.data / "real" / "xray"
    if not root.is_dir():
        print(f"real data folder {root} absent: nothing to measure", file=sys.stderr)
        return 0
    corruptions = {"real": None, "bridge_joint": corrupt.bridge_joint, "fuse_joint": corrupt.fuse_joint}
    summary: dict[str, dict[str, list]] = {}
    print("NAMED JOINTS, one film per joint (two wrists): oracle = gap_at_line at the hand-read line; "
          "generic = find_joint with the region's joint entry\n")
    print(f"{'film':12s} {'acquisition':11s} {'case':12s} {'oracle':>6s} {'generic':>7s} {'on':>3s} {'distal ok':>9s}")
    for key, (rel, _view, pts) in JOINT_LINES.items():
        path = root / rel
        if not path.is_file():
            continue
        region = key.split("#")[0]
        spec = JointSpec.from_record(expected(region).raw["joint"])
        g0 = load_grey(path)
        line0 = np.asarray(pts, dtype=float)
        dv0 = np.array(DISTAL[key]) if DISTAL[key] is not None else np.zeros(2)
        summary[key] = {c: [] for c in corruptions} | {"on": [], "distal": []}
        for cname, fn in corruptions.items():
            base = g0 if fn is None else fn(g0, line0)
            if fn is not None:
                hw = 0.02
                print(f"{key:12s} {'as stored':11s} {cname:12s} band excess over the bone it joins: "
                      f"{band_excess(g0, base, line0, hw):+.3f} of the film's P90-P10")
            for vname, vf in variants().items():
                g, line, dv = vf(base, line0.copy(), dv0.copy())
                seg = segment(g)
                oracle = gap_at_line(seg, line).depth_median
                j = find_joint(seg, spec)
                on = _on_joint(j.line_xy / seg.scale, line, 0.02 * max(g.shape))
                distal = ""
                if DISTAL[key] is not None and cname == "real":
                    fr = limb_frame(seg)
                    ok = float(fr.distal_xy @ dv) > 0.7
                    summary[key]["distal"].append(ok)
                    distal = str(ok)
                summary[key][cname].append(oracle)
                if cname == "real":
                    summary[key]["on"].append(on)
                print(f"{key:12s} {vname:11s} {cname:12s} {oracle:6.3f} {j.depth_median:7.3f} "
                      f"{'yes' if on else 'no':>3s} {distal:>9s}")
    print("\n| joint (film) | real: min oracle depth (9 acquisitions) | bridge_joint: max | fuse_joint: max | "
          "separable at the oracle? | generic finder on the named joint (real) | limb frame distal correct |")
    print("|---|---|---|---|---|---|---|")
    for key, s in summary.items():
        lo, hb, hf = min(s["real"]), max(s["bridge_joint"]), max(s["fuse_joint"])
        dist = f"{sum(s['distal'])}/{len(s['distal'])}" if s["distal"] else "not judged"
        print(f"| {key} | {lo:.3f} | {hb:.3f} | {hf:.3f} | {'yes' if lo > hb and lo > hf else 'no'} | "
              f"{sum(s['on'])}/{len(s['on'])} | {dist} |")
    if args.timing:
        from skimage.transform import resize

        key = "wrist"
        rel, _view, pts = JOINT_LINES[key]
        g0 = load_grey(root / rel)
        spec = JointSpec.from_record(expected("wrist").raw["joint"])
        for side in (512, 2048):
            g = resize(g0, (side, side), order=1, preserve_range=True).astype(np.float32)
            line = np.asarray(pts, float) * np.array([side / g0.shape[1], side / g0.shape[0]])
            for name, fn in (("segment + gap_at_line", lambda s_, ln: gap_at_line(s_, ln)),
                             ("segment + find_joint", lambda s_, ln: find_joint(s_, spec))):
                ts = []
                for _ in range(3):
                    t0 = time.perf_counter()
                    fn(segment(g), line)
                    ts.append((time.perf_counter() - t0) * 1000)
                print(f"timing {name} at {side}^2: {np.median(ts):.0f} ms (median of 3, MURA wrist resized)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

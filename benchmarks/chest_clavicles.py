"""Experimental clavicle detector (:mod:`anatscore.anatomy.clavicle`) against the JSRT SCR masks.

Usage::

    PYTHONPATH=. python benchmarks/chest_clavicles.py [--data ../shared/data] [--step 1]

Prints, separately for the even-indexed JSRT films (calibration half: ``FOUND_CONTRAST`` is the
5th percentile of min(right, left) contrast there) and the odd-indexed films (held out):

* SCR agreement per side: band found; detected centre-line on the mask (at least half of 25
  points along it inside the SCR clavicle mask dilated by 2 % of the side); median angle error
  against the mask's principal axis;
* false failures of the check (fewer than two bands found) on the real films, and on the 8 other
  real chests (torchxrayvision tests, pydicom CR chest; no masks);
* detections on the corruptions of ``benchmarks/anatomy_cases/clavicle.py`` (one clavicle
  removed, both removed, one moved down a quarter of the image), and for one-removed films
  whether the removed side is the one not found;
* the median time of the chest geometry plus the clavicle search per real film;
* the fill's rim: median over one-removed films of the mean gradient magnitude on a 2-px ring
  at the edge of the filled region, divided by the same ring on the original film (1 = no rim).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from anatscore.anatomy.chest import analyse_chest, to_work  # noqa: E402
from anatscore.anatomy.clavicle import FOUND_CONTRAST, ClavicleResult, detect_clavicles  # noqa: E402
from benchmarks.anatomy_cases.clavicle import (SIDES, _grey, _mask, _shifted, jsrt_films,  # noqa: E402
                                               other_chests, remove_clavicles)


def on_mask(res: ClavicleResult, side: str, mask: np.ndarray) -> tuple[bool, float]:
    """(centre-line on the dilated mask, angle error in degrees) for one side on the work grid."""
    b = res.bands[side]
    n = res.n
    m = ndi.binary_dilation(mask, iterations=max(1, round(0.02 * n)))
    t = np.linspace(0, 1, 25)
    rr = np.clip(np.round(b.medial[0] + t * (b.lateral[0] - b.medial[0])).astype(int), 0, n - 1)
    cc = np.clip(np.round(b.medial[1] + t * (b.lateral[1] - b.medial[1])).astype(int), 0, n - 1)
    inside = float(m[rr, cc].mean())
    ys, xs = np.nonzero(mask)
    if ys.size < 3:
        return inside >= 0.5, float("nan")
    w, v = np.linalg.eigh(np.cov(np.stack([xs, ys]).astype(float)))
    ax = v[:, 1]
    ang = abs(np.degrees(np.arctan2(ax[1], ax[0])))
    ang = min(ang, 180 - ang)  # elevation of the principal axis, 0..90
    return inside >= 0.5, abs(ang - b.angle_deg)


def rim_ratio(orig: np.ndarray, filled: np.ndarray, mask: np.ndarray) -> float:
    """Mean gradient magnitude on the 2-px ring at the filled region's edge, filled / original."""
    n = orig.shape[0]
    m = ndi.binary_dilation(mask, iterations=max(1, n // 100))
    ring = ndi.binary_dilation(m, iterations=2) & ~ndi.binary_erosion(m, iterations=2)
    gm = [np.hypot(*np.gradient(ndi.gaussian_filter(x.astype(np.float64), 1.0)))[ring].mean() for x in (filled, orig)]
    return float(gm[0] / max(gm[1], 1e-9))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--step", type=int, default=1, help="use every N-th JSRT film (odd N keeps both halves)")
    a = ap.parse_args(argv)
    films = jsrt_films(a.data)
    if not films:
        print(f"no JSRT films under {a.data}", file=sys.stderr)
        return 1
    mdir = a.data / "real/xray/chest/jsrt_scr/masks"
    t0 = time.time()
    agree: dict[str, dict[str, list]] = {h: defaultdict(list) for h in ("even", "odd")}
    real: dict[str, list[bool]] = {"even": [], "odd": []}
    na: dict[str, int] = {"even": 0, "odd": 0}
    det: dict[str, dict[str, list[bool]]] = {h: defaultdict(list) for h in ("even", "odd")}
    rims: list[float] = []
    ms: list[float] = []  # lung geometry + clavicle search per real 1024^2 film
    for i in range(0, len(films), a.step):
        p = films[i]
        half = "even" if i % 2 == 0 else "odd"
        g = _grey(p)
        masks = {s: _mask(mdir / s / p.name) for s in SIDES}
        t1 = time.perf_counter()
        res = detect_clavicles(g, analyse_chest(g))
        ms.append(1000 * (time.perf_counter() - t1))
        if not res.bands:
            na[half] += 1
            continue
        real[half].append(res.found == 2)
        for side, key in zip(("right", "left"), SIDES):
            ok, err = on_mask(res, side, to_work(masks[key].astype(np.float32)) > 0.5)
            agree[half][f"{side}_found"].append(res.bands[side].found)
            agree[half][f"{side}_on_mask"].append(ok)
            agree[half][f"{side}_angle_err"].append(err)
        side_i = i % 2
        one = remove_clavicles(g, [masks[SIDES[side_i]]])
        rims.append(rim_ratio(g, one, masks[SIDES[side_i]]))
        r1 = detect_clavicles(one)
        if r1.bands:
            det[half]["one_clavicle_removed"].append(r1.found < 2)
            det[half]["  removed side not found"].append(not r1.bands[("right", "left")[side_i]].found)
        if i % 2 == 0:
            r2 = detect_clavicles(remove_clavicles(g, [masks[s] for s in SIDES]))
            if r2.bands:
                det[half]["both_clavicles_removed"].append(r2.found < 2)
        if i % 4 == 1:
            s2 = SIDES[(i // 4) % 2]
            r3 = detect_clavicles(_shifted(p, mdir / s2 / p.name))
            if r3.bands:
                det[half]["clavicle_misplaced"].append(r3.found < 2)
    others: list[tuple[str, bool]] = []
    for name, p in other_chests(a.data):
        r = detect_clavicles(_grey(p))
        if r.bands:
            others.append((name, r.found == 2))
        else:
            print(f"  {name}: not applicable ({r.reason})")

    print(f"chest.clavicles (experimental), FOUND_CONTRAST = {FOUND_CONTRAST}, JSRT every {a.step}. film")
    for half in ("even", "odd"):
        tag = "calibration" if half == "even" else "held out"
        A = agree[half]
        if not real[half]:
            continue
        print(f"\n[{half} films, {tag}] {len(real[half])} films with two lung fields ({na[half]} without: n/a)")
        for side in ("right", "left"):
            f, o, e = (np.array(A[f"{side}_{k}"], dtype=float) for k in ("found", "on_mask", "angle_err"))
            print(f"  {side:5s} clavicle: found {int(f.sum())}/{f.size} ({f.mean():.1%}); centre-line on SCR mask "
                  f"{int(o.sum())}/{o.size} ({o.mean():.1%}); angle error median {np.nanmedian(e):.1f} deg")
        ff = np.array(real[half], dtype=bool)
        print(f"  real films failing (false failures): {int((~ff).sum())}/{ff.size} ({(~ff).mean():.1%})")
        for ft, v in det[half].items():
            v_ = np.array(v, dtype=bool)
            print(f"  {ft:26s} detected {int(v_.sum())}/{v_.size} ({v_.mean():.1%})")
    ok = [o for _, o in others]
    print(f"\nother real chests failing: {len(ok) - sum(ok)}/{len(ok)} "
          + " ".join(f"[{n}]" for n, o in others if not o))
    print(f"fill rim (gradient on the fill's edge ring, removed / original): median {np.median(rims):.2f}, "
          f"90th pct {np.quantile(rims, 0.9):.2f}")
    print(f"speed: median {np.median(ms):.0f} ms per 1024^2 film (chest geometry + clavicle search, one core)")
    print(f"({time.time() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

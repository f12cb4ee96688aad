"""Experimental clavicle detector (:mod:`anatscore.anatomy.clavicle`) against the JSRT SCR masks.

Usage::

    PYTHONPATH=. OMP_NUM_THREADS=1 python benchmarks/chest_clavicles.py [--data ../shared/data]
        [--step 1] [--robust] [--timing]

Prints, separately for the even-indexed JSRT films (calibration half: ``FOUND_EDGE`` is the 5th
percentile of min(right, left) edge-pair strength there) and the odd-indexed films (held out):

* agreement with the SCR clavicle masks per side: centre-line on the mask (at least half of 25
  points along the detected segment inside the SCR mask dilated by 2 % of the side), median angle
  error against the mask's principal axis, median Dice of the detected band (segment x thickness)
  with the SCR mask within the band's columns;
* false failures of the check (fewer than two bands found) on the real films, and on the 8 other
  real chests (torchxrayvision tests, pydicom CR chest; no masks);
* detections per corruption of ``benchmarks/anatomy_cases/clavicle.py``: one whole clavicle
  removed, the SCR (over-lung) part of one removed, both whole clavicles removed, one whole
  clavicle moved down a quarter of the image; and, for comparison with the former figures, the
  over-lung part removed with the former smooth fill (texture ``sigma = 2`` px);
* the oracle: the detector's measure at the SCR mask's own centre-line (principal axis, mask
  thickness), real against over-lung-removed, as the share of removed sides below the 5th
  percentile of the real sides: how well the measure could do with perfect localisation;
* the fill: gradient energy at the detector's scale inside the removed region over the same
  region 1.5 mask heights lower (real film), for the real film, the current fill and the former
  smooth fill; the rim (gradient on a 2-px ring at the fill's edge, removed / original);
* the operating curve: false failures on all real chests and detections per corruption (both
  halves together) at other thresholds than ``FOUND_EDGE``, and the real films that fail;
* ``--robust``: false failures of the real JSRT films under gamma 0.7 / 1.4, Gaussian noise
  (sd 0.02), half resolution (512^2) and quarter resolution (256^2);
* ``--timing``: median ms per film of the chest geometry plus the clavicle search at 512^2 and
  2048^2 (one core).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi
from skimage import transform

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from anatscore.anatomy.chest import analyse_chest, to_work  # noqa: E402
from anatscore.anatomy.clavicle import (ANGLES, FOUND_EDGE, LINE_LENGTH, SMOOTH, THICKNESS, WORK,  # noqa: E402
                                        ClavicleResult, band_strength, detect_clavicles, gradients,
                                        normalise_window)
from benchmarks.anatomy_cases.clavicle import (SIDES, _grey, _mask, corruptions, jsrt_films,  # noqa: E402
                                               other_chests, remove_clavicles)

SMOOTH_FILL = 2.0 / 1024  # the former texture scale of remove_clavicles (2 px on a 1024 film)


def _centre_line(mask: np.ndarray) -> tuple[tuple[float, float], float, float, float]:
    """(centre (row, col), elevation in degrees, length, thickness) of a band mask (principal axis)."""
    ys, xs = np.nonzero(mask)
    cov = np.cov(np.stack([xs, ys]).astype(float))
    _, v = np.linalg.eigh(cov)
    ax = v[:, 1]
    ang = abs(np.degrees(np.arctan2(ax[1], ax[0])))
    ang = min(ang, 180 - ang)  # elevation of the principal axis, 0..90
    proj = (xs - xs.mean()) * ax[0] + (ys - ys.mean()) * ax[1]
    length = float(np.ptp(proj))
    return (float(ys.mean()), float(xs.mean())), float(ang), length, float(mask.sum() / max(length, 1.0))


def oracle_strength(grey: np.ndarray, side: str, mask: np.ndarray, w: float) -> float:
    """The strongest band the detector could place on the SCR clavicle: the search's own segment
    length, angles and thicknesses, the centre on the mask's principal axis (at its centroid and
    a quarter of its length either side) and shifted across it by up to 1 % of ``w``."""
    grads = gradients(grey)
    (r0, c0), ang, length, _ = _centre_line(mask)
    sgn = -1 if side == "right" else 1
    th = np.radians(ang)
    best = -np.inf
    for along in (-0.25 * length, 0.0, 0.25 * length):
        for across in np.linspace(-0.01 * w, 0.01 * w, 5):
            centre = (r0 - np.sin(th) * along + np.cos(th) * across, c0 + sgn * np.cos(th) * along + sgn * np.sin(th) * across)
            for a in ANGLES:
                if abs(a - ang) > 8:
                    continue
                for t in THICKNESS:
                    best = max(best, band_strength(grads, side, centre, a, LINE_LENGTH * w, t * w))
    return best


def agreement(res: ClavicleResult, side: str, mask: np.ndarray) -> tuple[bool, float, float]:
    """(centre-line on the dilated mask, angle error in degrees, Dice within the band's columns)."""
    b = res.bands[side]
    n = res.n
    m = ndi.binary_dilation(mask, iterations=max(1, round(0.02 * n)))
    t = np.linspace(0, 1, 25)
    rr = np.clip(np.round(b.medial[0] + t * (b.lateral[0] - b.medial[0])).astype(int), 0, n - 1)
    cc = np.clip(np.round(b.medial[1] + t * (b.lateral[1] - b.medial[1])).astype(int), 0, n - 1)
    inside = float(m[rr, cc].mean())
    if mask.sum() < 3:
        return inside >= 0.5, float("nan"), float("nan")
    _, ang, _, _ = _centre_line(mask)
    band = b.mask(n)
    cols = np.zeros(n, bool)
    cols[int(min(b.medial[1], b.lateral[1])): int(max(b.medial[1], b.lateral[1])) + 1] = True
    a, r = band & cols[None, :], mask & cols[None, :]
    dice = 2 * float((a & r).sum()) / max(1.0, float(a.sum() + r.sum()))
    return inside >= 0.5, abs(ang - b.angle_deg), dice


def _energy(img: np.ndarray, region: np.ndarray) -> float:
    s = normalise_window(to_work(img, WORK))
    gm = np.hypot(ndi.gaussian_filter(s, SMOOTH, order=(1, 0)), ndi.gaussian_filter(s, SMOOTH, order=(0, 1)))
    return float(gm[region].mean())


def rim_ratio(orig: np.ndarray, filled: np.ndarray, mask: np.ndarray) -> float:
    """Mean gradient magnitude on the 2-px ring at the filled region's edge, filled / original."""
    n = orig.shape[0]
    m = ndi.binary_dilation(mask, iterations=max(1, n // 100))
    ring = ndi.binary_dilation(m, iterations=2) & ~ndi.binary_erosion(m, iterations=2)
    gm = [np.hypot(*np.gradient(ndi.gaussian_filter(x.astype(np.float64), 1.0)))[ring].mean() for x in (filled, orig)]
    return float(gm[0] / max(gm[1], 1e-9))


def _rate(v: list[bool]) -> str:
    a = np.asarray(v, dtype=bool)
    return f"{int(a.sum())}/{a.size} ({a.mean():.1%})" if a.size else "-"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--step", type=int, default=1, help="use every N-th JSRT film (odd N keeps both halves)")
    ap.add_argument("--robust", action="store_true", help="real films under gamma, noise and resolution changes")
    ap.add_argument("--timing", action="store_true", help="ms per film at 512^2 and 2048^2")
    a = ap.parse_args(argv)
    films = jsrt_films(a.data)
    if not films:
        print(f"no JSRT films under {a.data}", file=sys.stderr)
        return 1
    mdir = a.data / "real/xray/chest/jsrt_scr/masks"
    t0 = time.time()
    halves = ("even", "odd")
    agree: dict[str, dict[str, list]] = {h: defaultdict(list) for h in halves}
    real: dict[str, list[bool]] = {h: [] for h in halves}
    weakest: dict[str, list[float]] = {h: [] for h in halves}
    na: dict[str, int] = {h: 0 for h in halves}
    det: dict[str, dict[str, list[bool]]] = {h: defaultdict(list) for h in halves}
    oracle: dict[str, dict[str, list[float]]] = {h: defaultdict(list) for h in halves}
    fill: dict[str, list[float]] = defaultdict(list)
    robust: dict[str, list[bool]] = defaultdict(list)
    weak: dict[str, list[float]] = defaultdict(list)  # min(right, left) strength per case, for the curve
    failing: list[tuple[str, float]] = []
    rng = np.random.default_rng(0)
    for i in range(0, len(films), a.step):
        p = films[i]
        half = halves[i % 2]
        g = _grey(p)
        masks = {s: _mask(mdir / f"{s}_clavicle" / p.name) for s in ("right", "left")}
        res = detect_clavicles(g, analyse_chest(g))
        if not res.bands:
            na[half] += 1
            continue
        real[half].append(res.found == 2)
        weakest[half].append(min(b.strength for b in res.bands.values()))
        weak["real"].append(weakest[half][-1])
        if res.found < 2:
            failing.append((p.name, weakest[half][-1]))
        for side in ("right", "left"):
            ok, err, dice = agreement(res, side, to_work(masks[side].astype(np.float32), WORK) > 0.5)
            agree[half][f"{side}_on_mask"].append(ok)
            agree[half][f"{side}_angle_err"].append(err)
            agree[half][f"{side}_dice"].append(dice)
        for ft, _, make in corruptions(i, p):
            r = detect_clavicles(make())
            if r.bands:
                det[half][ft].append(r.found < 2)
                weak[ft].append(min(b.strength for b in r.bands.values()))
        # the over-lung removal with the former smooth fill, same side as corruptions()
        side = ("right", "left")[(i // 2) % 2]
        smooth = remove_clavicles(g, [masks[side]], texture_sigma=SMOOTH_FILL)
        r = detect_clavicles(smooth)
        if r.bands:
            det[half]["  over-lung, former smooth fill"].append(r.found < 2)
        # oracle and fill statistics on the over-lung removal (current fill)
        cur = remove_clavicles(g, [masks[side]])
        m5 = to_work(masks[side].astype(np.float32), WORK) > 0.5
        w = float(res.thorax_width or 0.0)
        if m5.sum() > 10:
            for s2 in ("right", "left"):
                ms = to_work(masks[s2].astype(np.float32), WORK) > 0.5
                oracle[half]["real"].append(oracle_strength(g, s2, ms, w))
            oracle[half]["removed"].append(oracle_strength(cur, side, m5, w))
            oracle[half]["removed_smooth"].append(oracle_strength(smooth, side, m5, w))
            below = np.roll(m5, int(1.5 * np.ptp(np.nonzero(m5)[0])), axis=0)
            ref = _energy(g, below)
            fill["real clavicle region"].append(_energy(g, m5) / ref)
            fill["current fill"].append(_energy(cur, m5) / ref)
            fill["former smooth fill"].append(_energy(smooth, m5) / ref)
            fill["rim"].append(rim_ratio(g, cur, masks[side]))
        if a.robust:
            for name, v in (("gamma 0.7", g ** 0.7), ("gamma 1.4", g ** 1.4),
                            ("noise sd 0.02", np.clip(g + 0.02 * rng.standard_normal(g.shape), 0, 1)),
                            ("half resolution", transform.resize(g, (g.shape[0] // 2, g.shape[1] // 2), anti_aliasing=True)),
                            ("quarter resolution", transform.resize(g, (g.shape[0] // 4, g.shape[1] // 4), anti_aliasing=True))):
                r = detect_clavicles(v.astype(np.float32))
                if r.bands:
                    robust[name].append(r.found < 2)
    others: list[tuple[str, bool]] = []
    for name, p in other_chests(a.data):
        r = detect_clavicles(_grey(p))
        if r.bands:
            others.append((name, r.found == 2))
            weak["real"].append(min(b.strength for b in r.bands.values()))
        else:
            print(f"  {name}: not applicable ({r.reason})")

    print(f"chest.clavicles (experimental, not registered), FOUND_EDGE = {FOUND_EDGE}, JSRT every {a.step}. film")
    if weakest["even"]:
        print(f"even films: 5th percentile of min(right, left) edge-pair strength = "
              f"{np.quantile(weakest['even'], 0.05):.4f} (FOUND_EDGE is set to it)")
    for half in halves:
        tag = "calibration" if half == "even" else "held out"
        A = agree[half]
        if not real[half]:
            continue
        print(f"\n[{half} films, {tag}] {len(real[half])} films with two lung fields ({na[half]} without: n/a)")
        for side in ("right", "left"):
            o, e, d = (np.array(A[f"{side}_{k}"], dtype=float) for k in ("on_mask", "angle_err", "dice"))
            print(f"  {side:5s} clavicle: centre-line on SCR mask {int(o.sum())}/{o.size} ({o.mean():.1%}); "
                  f"angle error median {np.nanmedian(e):.1f} deg; Dice within the band's columns median "
                  f"{np.nanmedian(d):.2f} (q25 {np.nanquantile(d, 0.25):.2f})")
        print(f"  real films failing (false failures): {_rate([not x for x in real[half]])}")
        for ft in sorted(det[half], key=lambda k: (k.startswith(" "), k)):
            print(f"  {ft:32s} detected {_rate(det[half][ft])}")
        O = oracle[half]
        if O["real"]:
            q = np.quantile(O["real"], 0.05)
            print(f"  oracle (best band placed on the SCR mask): real sides q05 {q:.4f}, median {np.median(O['real']):.4f}; "
                  f"over-lung removed below q05: current fill {_rate([v < q for v in O['removed']])}, "
                  f"former smooth fill {_rate([v < q for v in O['removed_smooth']])}")
    ok = [o for _, o in others]
    print(f"\nother real chests failing: {len(ok) - sum(ok)}/{len(ok)} " + " ".join(f"[{n}]" for n, o in others if not o))
    if failing:
        print("real JSRT films failing (min edge-pair strength): " + ", ".join(f"{n} {v:.4f}" for n, v in failing))
    if weak["real"]:
        print("operating curve (all films, both halves; real = JSRT + other chests): threshold: real false failures; "
              "detections per corruption")
        for thr in (0.008, 0.009, 0.010, 0.011, FOUND_EDGE, 0.014):
            cells = [f"{k} {_rate([v < thr for v in vals])}" for k, vals in sorted(weak.items()) if k != "real"]
            print(f"  {thr:.4f}: real {_rate([v < thr for v in weak['real']])}; " + "; ".join(cells))
    if fill:
        print("gradient energy at the detector's scale in the over-lung clavicle region / the region 1.5 mask "
              "heights lower (median): " + ", ".join(f"{k} {np.median(v):.2f}" for k, v in fill.items() if k != "rim"))
        print(f"fill rim (gradient on the fill's edge ring, removed / original): median {np.median(fill['rim']):.2f}, "
              f"90th pct {np.quantile(fill['rim'], 0.9):.2f}")
    if robust:
        print("real JSRT films under acquisition changes, false failures: "
              + "; ".join(f"{k} {_rate(v)}" for k, v in robust.items()))
    if a.timing:
        for size in (512, 2048):
            ms = []
            for p in films[:: max(1, len(films) // 8)][:8]:
                g = transform.resize(_grey(p), (size, size), preserve_range=True).astype(np.float32)
                t1 = time.perf_counter()
                detect_clavicles(g, analyse_chest(g))
                ms.append(1000 * (time.perf_counter() - t1))
            print(f"speed: median {np.median(ms):.0f} ms per {size}^2 film (chest geometry + clavicle search, one core)")
    print(f"({time.time() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

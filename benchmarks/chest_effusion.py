"""Pleural effusions on the JSRT films: the corruption's realism, the opacified-base signs, the chest checks.

Usage::

    PYTHONPATH=. OMP_NUM_THREADS=1 python benchmarks/chest_effusion.py [--data ../shared/data] [--step 1]

Prints, over the JSRT films (every ``--step``-th; even-indexed films calibrate the record's
constants, odd-indexed are held out):

1. *Realism of the fluid's edges*: where the fluid meets the chest wall, the heart and the
   diaphragm (the feathered pleural space 0.1..0.9, fluid at full depth), the median gradient
   magnitude (Gaussian derivative, sigma 1 px) after / before the effusion: a seam would raise it
   above 1, a silhouetted border lowers it. And the gradient across the meniscus against the
   right hemidiaphragm's edge of the same film (a meniscus is softer than a diaphragm).
2. *The two opacified-base measures* (:func:`anatscore.anatomy.chest.meniscus_rise`,
   :func:`anatscore.anatomy.chest.base_elevation` with ``base_step``) per side on the real films,
   each effusion, and the axial corruptions (one hemithorax at half height, thorax squashed),
   with how many sides the record's thresholds flag.
3. *The chest checks* (and ``anatomy.plausible``) on every effusion: pass / n/a / fail per size,
   side and half; and on the effusion films mirrored (``chest.heart_laterality``: detected / n/a /
   passed; an effusion with a mirrored heart is still a mirrored film).
4. *Acquisition changes* on the real films and on the large right effusions: gamma 0.7 and 1.4,
   Gaussian noise sd 0.02, half resolution: sides flagged opacified, and the verdicts of
   ``chest.heart_laterality``.
5. The RoentGen tiles whose prompt names a pleural effusion (``benchmarks/generated_anatomy.py``
   cuts them out): every chest check's verdict.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from anatscore.anatomy.chest import base_elevation, chest_geometry, opacified_bases  # noqa: E402
from anatscore.anatomy.corrupt_chest import effusion_parts  # noqa: E402
from anatscore.anatomy.expected import expected  # noqa: E402
from anatscore.registry import ANATOMY_CHECKS  # noqa: E402
from benchmarks.anatomy_accuracy import PLAUSIBLE, loaded, run_case  # noqa: E402
from benchmarks.anatomy_cases import Case  # noqa: E402
from benchmarks.anatomy_cases.axial import CHEST_CHECKS, _grey, _squashed, _squashed_half  # noqa: E402
from benchmarks.anatomy_cases.effusion import SIDES, SIZES, effusion_film, effusion_size  # noqa: E402

CHECKS = CHEST_CHECKS + (PLAUSIBLE,)
V = {True: "pass", None: "n/a", False: "fail"}


def verdicts(grey: np.ndarray, name: str = "x") -> dict[str, bool | None]:
    res = run_case(Case(name, "chest", "real", grey.astype(np.float32), {}, view="pa"), list(ANATOMY_CHECKS))
    return {c: res[c].passed for c in CHECKS if c in res}


def flags(grey: np.ndarray) -> tuple[dict[str, tuple[float, float, float]], dict[str, str], float | None]:
    """Per side (meniscus_rise, base_elevation, base_step), the opacified sides, the situs score."""
    img = loaded(Case("x", "chest", "real", grey, {}, view="pa"), grey.astype(np.float32))
    geo = chest_geometry(img)
    rec = expected("chest")
    m = {s: (lf.meniscus, base_elevation(geo.lungs, s), lf.base_step) for s, lf in geo.lungs.items()}
    op = opacified_bases(geo.lungs, float(rec["lung_base_meniscus"].max), float(rec["lung_base_elevation"].max),
                         float(rec["lung_base_step"].min))
    return m, op, geo.laterality


def grad(g: np.ndarray) -> np.ndarray:
    return np.hypot(ndi.gaussian_filter(g, 1.0, order=(0, 1)), ndi.gaussian_filter(g, 1.0, order=(1, 0)))


def edge_realism(g: np.ndarray, out: np.ndarray, lung: np.ndarray, side: str, size: float) -> tuple[float, float]:
    """(gradient after / before on the fluid's side and lower edges, meniscus / diaphragm gradient)."""
    depth, feather = effusion_parts(lung, side, size)
    ring = (feather > 0.1) & (feather < 0.9) & (depth > 0.99)
    g0, g1 = grad(g.astype(np.float64)), grad(out.astype(np.float64))
    side_ratio = float(np.median(g1[ring]) / max(np.median(g0[ring]), 1e-9))
    # meniscus: the middle of the rise, inside the pleural space; diaphragm: the lung mask's lower
    # border (lowest row of each column), on the film before
    men = (depth > 0.4) & (depth < 0.6) & (feather > 0.95)
    cols = np.flatnonzero(lung.any(0))
    bottom = lung.shape[0] - 1 - np.argmax(lung[::-1, cols], axis=0)
    dia = float(np.median(g0[bottom, cols]))
    return side_ratio, float(np.median(g1[men]) / max(dia, 1e-9))


def q(v: list[float] | np.ndarray, qs=(0, 0.05, 0.5, 0.95, 1)) -> str:
    v = np.asarray([x for x in v if np.isfinite(x)])
    return " ".join(f"{x:+.3f}" for x in np.quantile(v, qs)) if v.size else "-"


def acquisitions(g: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    from skimage.transform import resize

    rng = np.random.default_rng(seed)
    return {"gamma 0.7": g ** 0.7, "gamma 1.4": g ** 1.4,
            "noise 0.02": np.clip(g + rng.normal(0, 0.02, g.shape), 0, 1),
            "half resolution": resize(g, (g.shape[0] // 2, g.shape[1] // 2), anti_aliasing=True)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--step", type=int, default=1, help="use every N-th JSRT film")
    args = ap.parse_args(argv)
    d = args.data / "real/xray/chest/jsrt_scr"
    if not d.is_dir():
        print(f"JSRT folder {d} absent", file=sys.stderr)
        return 2
    files = sorted((d / "images").glob("*.png"))
    masks = d / "masks"
    realism: dict[str, list[tuple[float, float]]] = defaultdict(list)
    meas: dict[tuple[str, str, str], list[tuple[float, float, float, bool]]] = defaultdict(list)
    verd: dict[tuple[str, str], Counter] = defaultdict(Counter)
    mirr: dict[tuple[str, str], Counter] = defaultdict(Counter)
    acq: dict[tuple[str, str], Counter] = defaultdict(Counter)
    for i in range(0, len(files), args.step):
        p = files[i]
        half = "even" if i % 2 == 0 else "odd"
        g = _grey(p)
        lungs = {s: _grey(masks / f"{s}_lung" / p.name) > 0.5 for s in ("right", "left")}
        variants = {"real": g, "half_height": _squashed_half(p, masks, ("right", "left")[(i // 2) % 2]),
                    "squashed": _squashed(p, masks)}
        for size in SIZES:
            for side in SIDES:
                frac = effusion_size(i, size)
                e = effusion_film(p, masks, side, frac)
                variants[f"{size}_{side}"] = e
                for s in (("right", "left") if side == "both" else (side,)):
                    realism[size].append(edge_realism(g, e, lungs[s], s, frac))
                v = verdicts(e, p.name)
                for c, r in v.items():
                    verd[(f"{size}_{side}", c)][f"{half} {V[r]}"] += 1
                r = verdicts(np.ascontiguousarray(e[:, ::-1]))["chest.heart_laterality"]
                mirr[(f"{size}_{side}", half)][{False: "detected", None: "n/a", True: "passed"}[r]] += 1
        for name, img in variants.items():
            m, op, _ = flags(img)
            for s, (men, elev, step) in m.items():
                meas[(name, s, half)].append((men, elev, step, s in op))
        for vname, base in (("real", g), ("large_right", variants["large_right"])):
            for aname, a in acquisitions(base, i).items():
                _, op, score = flags(a.astype(np.float32))
                toward = None if score is None else ("left" if score > 0 else "right")
                acq[(vname, aname)]["films"] += 1
                acq[(vname, aname)]["right flagged"] += "right" in op
                acq[(vname, aname)]["left flagged"] += "left" in op
                lat = verdicts(a.astype(np.float32))["chest.heart_laterality"]
                acq[(vname, aname)][f"situs {V[lat]}"] += 1
                acq[(vname, aname)]["score toward a flagged side"] += toward in op
        print(f"  ... {i + 1}/{len(files)}", file=sys.stderr) if (i // args.step) % 20 == 0 else None

    n = len(range(0, len(files), args.step))
    print(f"JSRT films: {n} (every {args.step}-th of {d}); fluid density = the film's SCR heart median; "
          f"small {SIZES['small'][0]:.2f}-{SIZES['small'][1]:.2f}, large {SIZES['large'][0]:.2f}-{SIZES['large'][1]:.2f} "
          "of the lung height")
    print("\n1. Fluid edges: gradient after/before at the side and lower edges (seam > 1), meniscus/diaphragm gradient")
    for size, rows in realism.items():
        a = np.array(rows)
        # no maximum: where the film is flat (clipped) before, the ratio's denominator is about 0
        print(f"  {size:<5} sides {len(a):3d}: edge ratio median {np.median(a[:, 0]):.2f}, p95 {np.quantile(a[:, 0], 0.95):.2f}; "
              f"meniscus/diaphragm median {np.median(a[:, 1]):.2f}, p95 {np.quantile(a[:, 1], 0.95):.2f}")
    rec = expected("chest")
    print(f"\n2. Opacified-base measures (flag: meniscus_rise > {rec['lung_base_meniscus'].max:g}, or base_elevation > "
          f"{rec['lung_base_elevation'].max:g} with base_step >= {rec['lung_base_step'].min:g})")
    print("  films        side  half  n    meniscus_rise q0/.05/.5/.95/1          base_elevation q0/.05/.5/.95/1         flagged")
    for (name, s, half), rows in sorted(meas.items(), key=lambda kv: (list(dict.fromkeys(k[0] for k in meas)).index(kv[0][0]), kv[0][1] != "right", kv[0][2])):
        a = np.array(rows, dtype=float)
        print(f"  {name:<12} {s:<5} {half:<5} {len(a):3d}  {q(a[:, 0])}  {q(a[:, 1])}  {int(a[:, 3].sum())}/{len(a)}")
    print("\n3. Chest checks on the effusion films (pass / n/a / fail), even | odd")
    print("  effusion     " + "".join(f"{c:<26}" for c in CHECKS))
    for name in dict.fromkeys(k[0] for k in verd):
        cells = []
        for c in CHECKS:
            k = verd[(name, c)]
            cells.append(" | ".join(f"{k[h + ' pass']}/{k[h + ' n/a']}/{k[h + ' fail']}" for h in ("even", "odd")))
        print(f"  {name:<12} " + "".join(f"{x:<26}" for x in cells))
    print("\n  mirrored effusion films, chest.heart_laterality (detected / n/a / passed), even | odd")
    for name in dict.fromkeys(k[0] for k in mirr):
        print(f"  {name:<12} " + " | ".join(f"{mirr[(name, h)]['detected']}/{mirr[(name, h)]['n/a']}/{mirr[(name, h)]['passed']}"
                                            for h in ("even", "odd")))
    print("\n4. Acquisition changes: sides flagged opacified, and chest.heart_laterality")
    for (vname, aname), c in acq.items():
        print(f"  {vname:<12} {aname:<16} films {c['films']}: right flagged {c['right flagged']}, left flagged "
              f"{c['left flagged']}, score toward a flagged side {c['score toward a flagged side']}; situs pass "
              f"{c['situs pass']}, n/a {c['situs n/a']}, fail {c['situs fail']}")
    print("\n5. RoentGen tiles prompted with a pleural effusion")
    from benchmarks.generated_anatomy import generated_chests

    for source, name, grey in generated_chests(args.data, 10 ** 6):
        if source != "RoentGen tiles" or "effusion" not in name:
            continue
        res = run_case(Case(name, "chest", "real", grey.astype(np.float32), {}, view="pa"), list(ANATOMY_CHECKS))
        _, op, _ = flags(grey.astype(np.float32))
        fails = "; ".join(f"{c}: {res[c].reason}" for c in CHECKS if c in res and res[c].passed is False and c != PLAUSIBLE)
        nas = ", ".join(c for c in CHECKS if c in res and res[c].passed is None)
        print(f"  {name}: plausible {V[res[PLAUSIBLE].passed]}; opacified {sorted(op) or '-'}; n/a: {nas or '-'}; "
              f"fails: {fails or '-'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Agreement of the weight-free chest geometry with the JSRT SCR masks, and the measured ranges.

Usage::

    PYTHONPATH=. python benchmarks/chest_scr.py [--data ../shared/data] [--step 1]

Prints, over the JSRT films (every ``--step``-th): Dice of the lung and heart masks against SCR,
situs agreement on the films and on their mirror images (with the record's undecided margin,
separately for the even-indexed calibration half and the odd-indexed held-out half, and the
previous situs score for comparison), CTR against the CTR computed
from the SCR masks with the same definition, the proportion checks (``chest.symmetry`` and
``proportions.lung_aspect``) on the films and on their distortions (one hemithorax at half height,
the side alternating; the thorax squashed to 0.55), even (calibration) and odd (held-out) halves
apart, with the means and sds the record takes from the even films, and the quantiles of every
quantity the region record ``anatscore/anatomy/regions/chest.json`` bounds.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from anatscore.anatomy.chest import WORK, ChestGeometry, analyse_chest, reference_geometry, to_work  # noqa: E402
from anatscore.anatomy.expected import expected  # noqa: E402
from anatscore.checks import CheckContext  # noqa: E402
from anatscore.registry import check_spec, resolve  # noqa: E402
from anatscore.types import ImageMeta, LoadedImage  # noqa: E402
from benchmarks.anatomy_cases.axial import _squashed, _squashed_half  # noqa: E402

PROPORTION_CHECKS = ("chest.symmetry", "proportions.lung_aspect")


def check_verdicts(grey: np.ndarray) -> dict[str, bool | None]:
    """``passed`` of the two proportion checks and the laterality check on one film."""
    img = LoadedImage(meta=ImageMeta(image_id="x", path="x", modality="xray", region="chest"), grey=grey)
    return {n: resolve(check_spec(n).target)(img, CheckContext()).passed
            for n in PROPORTION_CHECKS + ("chest.heart_laterality",)}


def jsrt_dir(data: Path) -> Path:
    return data / "real" / "xray" / "chest" / "jsrt_scr"


def load_grey(path: Path) -> np.ndarray:
    """8-bit PNG -> float32 [0, 1] (the same as anatscore.io.loading for these files)."""
    return np.asarray(Image.open(path).convert("L"), dtype=np.float32) / 255.0


def load_mask(path: Path, n: int = WORK) -> np.ndarray:
    return to_work(load_grey(path), n) > 0.5


def dice(a: np.ndarray, b: np.ndarray) -> float:
    """Dice = 2|A n B| / (|A| + |B|)."""
    return float(2 * (a & b).sum() / max(1, a.sum() + b.sum()))


def previous_situs_score(geo: ChestGeometry) -> float:
    """The situs score before issue 3's rework (heart offset from the upper-mediastinum midline,
    whole-lung area ratio, paramedian density), kept here only for the before/after line."""
    if geo.heart_offset is None or geo.lung_area_ratio is None or geo.density_asymmetry is None:
        return float("nan")
    return geo.heart_offset / 0.06 + float(np.log(1.0 / geo.lung_area_ratio)) / 0.10 + geo.density_asymmetry / 0.05


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--step", type=int, default=1, help="use every N-th film")
    args = ap.parse_args(argv)
    d = jsrt_dir(args.data)
    if not d.is_dir():
        print(f"JSRT folder {d} absent", file=sys.stderr)
        return 2
    all_names = sorted(p.name for p in (d / "images").glob("*.png"))
    names = all_names[:: args.step]
    index = {nm: i for i, nm in enumerate(all_names)}
    rows = []
    t_an = 0.0
    for nm in names:
        g = load_grey(d / "images" / nm)
        R, L, H = (load_mask(d / "masks" / k / nm) for k in ("right_lung", "left_lung", "heart"))
        t1 = time.perf_counter()
        geo = analyse_chest(g)
        mir = analyse_chest(g[:, ::-1])
        t_an += time.perf_counter() - t1
        ref = reference_geometry(R, L, H)
        i = index[nm]
        v_orig = check_verdicts(g)
        v_mir = check_verdicts(np.ascontiguousarray(g[:, ::-1]))
        v_half = check_verdicts(_squashed_half(d / "images" / nm, d / "masks", ("right", "left")[(i // 2) % 2]))
        v_sq = check_verdicts(_squashed(d / "images" / nm, d / "masks"))
        z = np.zeros_like(R)
        lr = geo.lungs.get("right")
        ll = geo.lungs.get("left")
        rows.append({
            "dice_right": dice(lr.mask if lr else z, R),
            "dice_left": dice(ll.mask if ll else z, L),
            "dice_heart": dice(geo.heart if geo.heart is not None else z, H),
            "both": geo.both_lungs,
            "situs": geo.laterality if geo.laterality is not None else np.nan,
            "situs_mirrored": mir.laterality if mir.laterality is not None else np.nan,
            "situs_prev": previous_situs_score(geo),
            "situs_prev_mirrored": previous_situs_score(mir),
            "even": index[nm] % 2 == 0,
            "ctr": geo.ctr if geo.ctr is not None else np.nan,
            "ctr_scr": ref["ctr"],
            "area_right": lr.area_frac if lr else np.nan,
            "area_left": ll.area_frac if ll else np.nan,
            "area_ratio": geo.lung_area_ratio if geo.lung_area_ratio is not None else np.nan,
            "height_ratio": (ll.height / lr.height) if (lr and ll) else np.nan,
            "aspect_right": (lr.height / lr.width) if lr else np.nan,
            "aspect_left": (ll.height / ll.width) if ll else np.nan,
            "contrast": min(lr.contrast if lr else np.inf, ll.contrast if ll else np.inf),
            "log_area_ratio": np.log(ll.area_frac / lr.area_frac) if (lr and ll) else np.nan,
            "log_height_ratio": np.log(ll.height / lr.height) if (lr and ll) else np.nan,
            "log_aspect_right": np.log(lr.height / lr.width) if lr else np.nan,
            "log_aspect_left": np.log(ll.height / ll.width) if ll else np.nan,
            "sym_fail": v_orig["chest.symmetry"] is False, "sym_half_det": v_half["chest.symmetry"] is False,
            "sym_na": v_orig["chest.symmetry"] is None, "sym_half_na": v_half["chest.symmetry"] is None,
            "asp_fail": v_orig["proportions.lung_aspect"] is False, "asp_sq_det": v_sq["proportions.lung_aspect"] is False,
            "lat_fail": v_orig["chest.heart_laterality"] is False, "lat_mir_det": v_mir["chest.heart_laterality"] is False,
            "lat_na": v_orig["chest.heart_laterality"] is None, "lat_mir_na": v_mir["chest.heart_laterality"] is None,
        })
    dt = t_an / max(1, len(names)) / 2
    col = {k: np.array([r[k] for r in rows], dtype=float) for k in rows[0]}
    print(f"JSRT films: {len(names)} (every {args.step}-th of {d}); {dt * 1000:.0f} ms per 1024² film (analyse_chest alone)")
    print("\nAgreement with SCR masks (working grid 256x256)")
    for k in ("dice_right", "dice_left", "dice_heart"):
        v = col[k]
        print(f"  {k:<12} mean {v.mean():.3f}  median {np.median(v):.3f}  p10 {np.quantile(v, 0.1):.3f}  "
              f"< 0.7: {(v < 0.7).sum()}/{len(v)}")
    print(f"  both lung fields found: {int(col['both'].sum())}/{len(names)}")
    margin = float(expected("chest")["situs_score"].min)
    sp, mp = col["situs_prev"], col["situs_prev_mirrored"]
    print(f"  situs, previous score formula (sign only, on the current heart mask): correct {(sp > 0).sum()}/{len(sp)} films; "
          f"mirrored flagged {(mp < 0).sum()}/{len(mp)}")
    print(f"  situs, current score with undecided band |score| < {margin:g} (n/a, passes):")
    for label, sel in (("even (calibration)", col["even"] == 1), ("odd (held out)", col["even"] == 0),
                       ("all", np.ones(len(names), bool))):
        s, m = col["situs"][sel], col["situs_mirrored"][sel]
        k = len(s)
        if k == 0:
            continue
        ff = int((s < -margin).sum())
        det = int((m < -margin).sum())
        print(f"    {label:<19} films {k:3d}: false failures {ff}/{k} ({ff / k:.1%}), undecided "
              f"{int((np.abs(s) < margin).sum() + np.isnan(s).sum())}; mirrored detected {det}/{k} ({det / k:.1%}), "
              f"undecided {int((np.abs(m) < margin).sum() + np.isnan(m).sum())}")
    print("  chest.heart_laterality check (score margin and cue-agreement gate of the record; n/a passes):")
    halves = (("even (calibration)", col["even"] == 1), ("odd (held out)", col["even"] == 0),
              ("all", np.ones(len(names), bool)))
    for label, sel in halves:
        k = int(sel.sum())
        if k == 0:
            continue
        ff, det = int(col["lat_fail"][sel].sum()), int(col["lat_mir_det"][sel].sum())
        print(f"    {label:<19} films {k:3d}: false failures {ff}/{k} ({ff / k:.1%}), n/a {int(col['lat_na'][sel].sum())}; "
              f"mirrored detected {det}/{k} ({det / k:.1%}), n/a {int(col['lat_mir_na'][sel].sum())}")
    for label, sel in (("all", np.ones(len(names), bool)), ("even (calibration)", col["even"] == 1),
                       ("odd (held out)", col["even"] == 0)):
        c, cs = col["ctr"][sel], col["ctr_scr"][sel]
        ok = ~np.isnan(c)
        if ok.sum() < 3:
            continue
        print(f"  CTR {label:<19}: estimated on {ok.sum()}/{len(c)}; |CTR - CTR_SCR| median "
              f"{np.median(np.abs(c[ok] - cs[ok])):.3f}, Pearson r {np.corrcoef(c[ok], cs[ok])[0, 1]:.2f}; "
              f"CTR_SCR range {cs.min():.3f}..{cs.max():.3f}")
    print("\nProportion checks (constants from the even films; distortions: one hemithorax at half height, side "
          "alternating; the thorax squashed to 0.55)")
    for label, sel in halves:
        k = int(sel.sum())
        if k == 0:
            continue
        print(f"  {label:<19} films {k:3d}: chest.symmetry false failures {int(col['sym_fail'][sel].sum())}/{k}, "
              f"n/a {int(col['sym_na'][sel].sum())}, half-height detected {int(col['sym_half_det'][sel].sum())}/{k} "
              f"(n/a {int(col['sym_half_na'][sel].sum())}); proportions.lung_aspect false failures "
              f"{int(col['asp_fail'][sel].sum())}/{k}, squashed detected {int(col['asp_sq_det'][sel].sum())}/{k}")
    ev = (col["even"] == 1)
    for k in ("log_area_ratio", "log_height_ratio", "log_aspect_right", "log_aspect_left"):
        v = col[k][ev & np.isfinite(col[k])]
        if v.size > 1:
            print(f"  even films {k:<17} mean {v.mean():+.4f}  sd {v.std(ddof=1):.4f}")
    print("\nMeasured quantiles (estimator on real films)  q0.005  q0.01  q0.05  q0.50  q0.95  q0.99  q0.995  mean  sd")
    for k in ("area_right", "area_left", "area_ratio", "height_ratio", "aspect_right", "aspect_left", "ctr", "situs",
              "contrast"):
        v = col[k][np.isfinite(col[k])]
        q = np.quantile(v, [0.005, 0.01, 0.05, 0.5, 0.95, 0.99, 0.995])
        print(f"  {k:<13} " + "  ".join(f"{x:.3f}" for x in q) + f"  {v.mean():.3f}  {v.std():.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

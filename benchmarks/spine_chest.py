"""Is the vertebral period recoverable on real chest films, and can it see a level removed,
duplicated or fused? Figures for ``anatscore.anatomy.spine.chest_column_period`` (issue 3).

Usage::

    PYTHONPATH=. python benchmarks/spine_chest.py [--data ../shared/data] [--quick N] [--json out.json]

Runs the chest column analysis on every real chest of ``benchmarks/anatomy_cases/spine2.py`` (127
JSRT PA films split even/odd by name, 8 other chests) and on the three controlled corruptions of
each JSRT film's spine column, and prints:

* clear period: films whose column autocorrelation at the period reaches ``--min-strength``
  (the constant a check would abstain below), per half;
* agreement of the period with anatomy: ``levels`` = lung span / period (the lung span, apex to
  lowest base, covers about T1 to T10-T11: about 10 levels), its quantiles, and the fraction of
  clear films within +-20 % of 10 levels;
* a count check as it would run on chests: ``levels`` within the even films' clear-period range
  (q0.025..q0.975, widened by 0.5 level): false failures on the real films, detections on the
  level-removed / level-duplicated corruptions; and the disc-interval irregularity (as
  ``spine.spacing``) against the phantom bound 0.3 on the real films and the fused-disc
  corruptions;
* the paired change (corrupted minus original film) of ``levels``, of the autocorrelation and of
  the number of disc dips found, per corruption: what the measure itself sees. The
  ``spine_column_smeared`` corruption (no vertebrae left in the column) is the null case of the
  period's confidence: how often a clear period is still found there;
* what ``spine.vertebra_count``'s detector (``analyse_spine``) reads on the KUB.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from anatscore.anatomy.chest import WORK, segment_lungs, to_work  # noqa: E402
from anatscore.anatomy.spine import WORK_H, analyse_spine, chest_column_period  # noqa: E402
from benchmarks.anatomy_cases import spine2  # noqa: E402

SPACING_BOUND = 0.3  # spine.spacing's bound (anatscore/anatomy/regions/spine.json)


def measure(data: Path, quick: int = 0) -> list[dict]:
    """One record per chest case: levels, strength, irregularity, disc dips (None without lungs)."""
    out = []
    films = {p.name for p in spine2.jsrt_films(data)[: quick or None]}
    for case in spine2.all_cases(data):
        if case.region != "chest":
            continue
        base = case.name.split("#")[0]
        if quick and base.startswith("jsrt/") and base[5:] not in films:
            continue
        if quick and not base.startswith("jsrt/"):
            continue
        g = case.array()
        p = chest_column_period(g, segment_lungs(to_work(g, WORK)), WORK)
        out.append({"name": case.name, "base": base, "kind": case.kind, "type": case.failure_type,
                    "half": case.meta.get("half", ""),
                    "levels": None if p is None else p.levels, "strength": 0.0 if p is None else p.strength,
                    "irregularity": None if p is None else min(p.irregularity, 99.0),
                    "dips": 0 if p is None else len(p.peaks)})
    return out


def _q(x: np.ndarray, qs: tuple[float, ...]) -> str:
    return " ".join(f"{v:.2f}" for v in np.quantile(x, qs)) if x.size else "-"


def report(rows: list[dict], min_strength: float) -> dict:
    real = [r for r in rows if r["kind"] == "real"]
    clear = [r for r in real if r["strength"] >= min_strength and r["levels"] is not None]
    even = np.array([r["levels"] for r in clear if r["half"] == "even"])
    lo, hi = (float(np.quantile(even, 0.025)) - 0.5, float(np.quantile(even, 0.975)) + 0.5) if even.size else (0, 99)
    summary: dict = {"min_strength": min_strength, "levels_range": [round(lo, 2), round(hi, 2)]}
    print(f"clear period = column autocorrelation at the period >= {min_strength}")
    print(f"{'half':<6} {'films':>5} {'clear':>6} {'levels q0/.05/.5/.95/1':>30} {'within 10+-20%':>15} "
          f"{'count FF':>9} {'spacing FF':>11}")
    for half in ("even", "odd", "other"):
        r = [x for x in real if x["half"] == half]
        c = [x for x in clear if x["half"] == half]
        lv = np.array([x["levels"] for x in c])
        near = int(np.sum(np.abs(lv / 10.0 - 1) <= 0.2))
        ff = int(np.sum((lv < lo) | (lv > hi)))
        irr = np.array([x["irregularity"] for x in c if x["irregularity"] is not None])
        sff = int(np.sum(irr > SPACING_BOUND))
        print(f"{half:<6} {len(r):>5} {len(c):>3}/{len(r):<3} {_q(lv, (0, .05, .5, .95, 1)):>30} "
              f"{near:>8}/{len(c):<6} {ff:>4}/{len(c):<4} {sff:>5}/{len(c):<5}")
        summary[half] = {"films": len(r), "clear": len(c), "levels_within_20pct_of_10": near,
                         "count_false_failures": ff, "spacing_false_failures": sff}
    print(f"count range (even clear films q0.025..q0.975 +- 0.5): {lo:.2f}..{hi:.2f} levels in the lung span")
    by_base = {r["base"]: r for r in real}
    print(f"\n{'corruption':<28} {'clear':>7} {'count det':>10} {'spacing det':>12} "
          f"{'d levels q.25/.5/.75':>22} {'d strength med':>15} {'d dips q.25/.5/.75':>20}")
    for ft in spine2.CORRUPTIONS:
        xs = [r for r in rows if r["type"] == ft]
        c = [x for x in xs if x["strength"] >= min_strength and x["levels"] is not None]
        det = sum(1 for x in c if not lo <= x["levels"] <= hi)
        sdet = sum(1 for x in c if x["irregularity"] is not None and x["irregularity"] > SPACING_BOUND)
        pairs = [(x, by_base[x["base"]]) for x in xs if x["base"] in by_base]
        dl = np.array([x["levels"] - o["levels"] for x, o in pairs
                       if x["levels"] is not None and o["levels"] is not None])
        ds = np.array([x["strength"] - o["strength"] for x, o in pairs])
        dd = np.array([x["dips"] - o["dips"] for x, o in pairs], dtype=float)
        print(f"{ft:<28} {len(c):>3}/{len(xs):<3} {det:>5}/{len(c):<4} {sdet:>6}/{len(c):<5} "
              f"{_q(dl, (.25, .5, .75)):>22} {np.median(ds):>15.3f} {_q(dd, (.25, .5, .75)):>20}")
        summary[ft] = {"cases": len(xs), "clear": len(c), "count_detected": det, "spacing_detected": sdet,
                       "median_delta_levels": float(np.median(dl)) if dl.size else None}
    return summary


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--quick", type=int, default=0, help="only the first N JSRT films (and their corruptions)")
    ap.add_argument("--min-strength", type=float, default=0.3)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    if not args.data.is_dir():
        print(f"no data at {args.data}", file=sys.stderr)
        return 2
    rows = measure(args.data, args.quick)
    summary = report(rows, args.min_strength)
    kub = args.data / spine2.KUB
    if kub.is_file():
        p = analyse_spine(spine2._grey(kub))
        period = "-" if p.period is None else f"{p.period:.0f}"
        print(f"\nKUB ({spine2.KUB}): analyse_spine reads {p.count} bodies, period {period} px of the "
              f"{WORK_H}-row grid, autocorrelation {p.periodicity:.2f}")
        summary["kub"] = {"count": p.count, "period": p.period, "periodicity": p.periodicity}
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

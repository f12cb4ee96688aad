"""Generic joint finder (``joint.space`` beyond the knee) scored as if registered for every region
that has a ``joint`` entry in its region record.

Usage::

    PYTHONPATH=. python benchmarks/joints_generic.py [--data ../shared/data] [--no-timing]

Runs the cases of ``benchmarks/anatomy_cases/joints.py`` (joint phantoms per region; the real
wrist, paediatric wrist, ankle and shoulder radiographs with their fused corruptions) through
the same scoring as ``benchmarks/anatomy_accuracy.py``, with ``joint.space``'s regions widened
to those regions, and prints the same table, then per case the measured depth, angle, width and
irregularity. This is how the registry decision is made: a region is registered only where its
real radiograph(s) pass and the corruptions are caught.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from anatscore.anatomy.expected import expected, regions  # noqa: E402
from anatscore.registry import check_spec  # noqa: E402
from benchmarks.anatomy_accuracy import report, run_case, score, timings  # noqa: E402
from benchmarks.anatomy_cases import joints  # noqa: E402

NAME = "joint.space"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--no-timing", action="store_true")
    args = ap.parse_args(argv)
    data = args.data if (args.data / "manifest.csv").is_file() else None
    joint_regions = tuple(r for r in regions() if "joint" in expected(r).raw)
    spec = dataclasses.replace(check_spec(NAME), regions=tuple(check_spec(NAME).regions) + joint_regions)
    cases = list(joints.cases(data))
    tallies, n = score(cases, [spec], progress=False)
    print(f"joint.space as if registered for {', '.join(joint_regions)}: {n} cases")
    times = {} if args.no_timing else timings(cases, [spec])
    print(report(tallies, times, [NAME]))
    t = tallies.get(NAME)
    if t is not None:
        for label, items in (("false failures", t.false_failures), ("misses", t.misses)):
            print(f"\n{NAME} {label} ({len(items)}):")
            for it in items:
                print(f"  {it}")
    print("\nper case: verdict, depth (threshold), angle, width, irregularity")
    for case in cases:
        if case.kind == "phantom" and not case.name.endswith("-00"):
            continue
        r = run_case(case, [spec])[NAME]
        e = r.extra
        print(f"  {case.name:62s} {case.region:9s} {str(r.passed):5s} depth {r.value if r.value is not None else float('nan'):.3f}"
              f" (>= {e.get('expected_min', float('nan')):.2f}) angle {e.get('angle', float('nan')):.0f}"
              f" width {e.get('width', float('nan')):.4f} irr {e.get('irregularity', float('nan')):.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

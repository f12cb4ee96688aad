"""Accuracy of ``hand.phalanges`` on the digits cases, and the real hand's reading digit by digit.

Scores ``hand.phalanges`` (:mod:`anatscore.checks.hand_phalanges`) with the harness functions of
``benchmarks/anatomy_accuracy.py`` (``score`` / ``report`` / ``timings``) on the cases of
``benchmarks/anatomy_cases/digits.py`` (hand phantoms with known phalanx counts; the ONE real
MURA hand under acquisition variants, its phalanx corruptions), alongside ``hand.digit_count``,
then prints the real hand's reading digit by digit (tip, IP joints, MCP: full-resolution
(row, col)).

Usage::

    PYTHONPATH=. python benchmarks/msk_phalanges.py [--data ../shared/data] [--quick N]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from anatscore.anatomy.phalanges import PhalangesAnalysis, analyse_phalanges  # noqa: E402
from anatscore.anatomy.segment import segment  # noqa: E402
from anatscore.registry import check_spec  # noqa: E402
from benchmarks.anatomy_accuracy import report, score, timings  # noqa: E402
from benchmarks.anatomy_cases import digits  # noqa: E402
from benchmarks.anatomy_cases.msk import load_grey  # noqa: E402

def joint_agreement(a: PhalangesAnalysis) -> list[str]:
    """Per annotated digit: distance (px) from each annotated joint (IPs distal to proximal,
    MCP) to the nearest joint the analysis counted on the digit whose tip is nearest."""
    out = []
    for name, pts in digits.HAND_JOINTS.items():
        tip = np.array(pts[0], float)
        d = min(a.digits, key=lambda r: float(np.hypot(*(np.array(r.tip) - tip))))
        found = [d.gaps[k] for k in d.ip_indices] + ([d.gaps[d.mcp_index]] if d.mcp_index >= 0 else [])
        dist = [min((float(np.hypot(p[0] - q[0], p[1] - q[1])) for q in found), default=float("nan"))
                for p in pts[1:]]
        out.append(f"{name:6s} tip {float(np.hypot(*(np.array(d.tip) - tip))):4.1f}  joints "
                   + " ".join(f"{x:4.1f}" for x in dist))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    p.add_argument("--quick", type=int, default=1, metavar="N", help="every N-th phantom seed")
    p.add_argument("--show", type=int, default=10, help="list up to N false failures and misses")
    p.add_argument("--no-timing", action="store_true", help="skip the 512²/2048² speed measurement")
    args = p.parse_args(argv)
    data = args.data if args.data.is_dir() else None
    specs = [check_spec("hand.digit_count"), check_spec("hand.phalanges")]
    tallies, n = score(digits.cases(data, step=args.quick), specs)
    print(f"hand.phalanges and hand.digit_count on {n} digits cases "
          f"(real = ONE MURA hand under {len(digits.VARIANTS)} acquisitions)")
    times = {} if args.no_timing else timings(list(digits.cases(data, step=args.quick)), specs)
    print(report(tallies, times, [s.name for s in specs]))
    for name in ("hand.phalanges",):
        t = tallies[name]
        for title, items in (("false failures", t.false_failures), ("misses", t.misses)):
            if items:
                print(f"\n{name} {title} (first {min(args.show, len(items))} of {len(items)}):")
                for line in items[: args.show]:
                    print(f"  {line}")
    png = (data or Path("/nonexistent")) / "real" / "xray" / "msk_mura_examples" / "HAND.png"
    if png.is_file():
        a = analyse_phalanges(segment(load_grey(png)))
        print("\nreal MURA HAND.png, digit by digit (full-resolution (row, col)):")
        for d in a.digits:
            ips = [d.gaps[k] for k in d.ip_indices]
            mcp = d.gaps[d.mcp_index] if d.mcp_index >= 0 else None
            print(f"  {'thumb ' if d.is_thumb else 'finger'} phalanges {d.phalanges}  tip {d.tip}  IP {ips}  MCP {mcp}")
        print("\njoint positions vs the annotation (digits.HAND_JOINTS), px at 356 x 512:")
        for line in joint_agreement(a):
            print(f"  {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

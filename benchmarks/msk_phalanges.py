"""Accuracy of ``hand.phalanges`` (not registered yet) on the digits cases, and the real hand's reading.

``hand.phalanges`` (:mod:`anatscore.checks.hand_phalanges`) is not in ``ANATOMY_CHECKS`` until it
meets the issue's targets, so ``benchmarks/anatomy_accuracy.py`` does not run it. This script
scores it with the same harness functions (``score`` / ``report``) on the cases of
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

from anatscore.anatomy.phalanges import analyse_phalanges  # noqa: E402
from anatscore.anatomy.segment import segment  # noqa: E402
from anatscore.registry import check_spec  # noqa: E402
from anatscore.types import CheckSpec  # noqa: E402
from benchmarks.anatomy_accuracy import report, score, timings  # noqa: E402
from benchmarks.anatomy_cases import digits  # noqa: E402
from benchmarks.anatomy_cases.msk import load_grey  # noqa: E402

#: The check's spec as it would be registered (kept here until it is).
SPEC = CheckSpec(
    name="hand.phalanges",
    summary="phalanges per digit on a PA hand (2 in the thumb, 3 per finger): fused, extra or missing phalanges",
    target="anatscore.checks.hand_phalanges:phalanges",
    regions=("hand",), modalities=("xray",), group="anatomy",
)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    p.add_argument("--quick", type=int, default=1, metavar="N", help="every N-th phantom seed")
    p.add_argument("--show", type=int, default=10, help="list up to N false failures and misses")
    p.add_argument("--no-timing", action="store_true", help="skip the 512²/2048² speed measurement")
    args = p.parse_args(argv)
    data = args.data if args.data.is_dir() else None
    specs = [check_spec("hand.digit_count"), SPEC]
    tallies, n = score(digits.cases(data, step=args.quick), specs)
    print(f"hand.phalanges (unregistered) and hand.digit_count on {n} digits cases "
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
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Phalanges per digit (:mod:`anatscore.anatomy.phalanges`) on hand phantoms and the real hand.

Phantoms (``hand_phantom``, seeds 0-9, random exposure): normal counts (thumb 2, fingers 3),
one finger with 2 phalanges (``fused``: a missing interphalangeal joint), one with 4
(``extra``), and a thumb with 3. A phantom is *flagged* when any digit's count differs from the
hand record's (thumb ``phalanges.thumb``, fingers ``phalanges.finger``) or the digit count is
not 5. Then the reading of the one real PA hand (MURA example), digit by digit (tip, joints
counted, MCP, full-resolution (row, col)). The full accuracy table (real variants, corruptions)
is ``benchmarks/anatomy_accuracy.py --cases digits``.

Usage::

    PYTHONPATH=. python -m benchmarks.msk_phalanges [--data ../shared/data]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from anatscore.anatomy.expected import expected
from anatscore.anatomy.phalanges import PhalangesAnalysis, analyse_phalanges
from anatscore.anatomy.phantoms import hand_phantom
from anatscore.anatomy.segment import segment

from .anatomy_cases.msk import load_grey

VARIANTS: dict[str, tuple[int, ...]] = {
    "normal": (2, 3, 3, 3, 3),
    "fused (finger with 2)": (2, 3, 2, 3, 3),
    "extra (finger with 4)": (2, 3, 3, 4, 3),
    "thumb with 3": (3, 3, 3, 3, 3),
}


def flagged(a: PhalangesAnalysis) -> bool:
    """Any digit's phalanx count outside the hand record's range, or not 5 digits."""
    rec = expected("hand")
    if len(a.digits) != int(rec["digit_count"].min or 5):
        return True
    return any(not rec["phalanges.thumb" if d.is_thumb else "phalanges.finger"].contains(d.phalanges)
               for d in a.digits)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared" / "data")
    args = p.parse_args(argv)
    print(f"{'phantom variant':24s} {'phantoms':>8s} {'flagged':>7s}")
    for name, ph in VARIANTS.items():
        n = sum(flagged(analyse_phalanges(segment(hand_phantom(5, phalanges=ph, seed=s)))) for s in range(10))
        print(f"{name:24s} {10:8d} {n:7d}")
    png = args.data / "real" / "xray" / "msk_mura_examples" / "HAND.png"
    if png.is_file():
        a = analyse_phalanges(segment(load_grey(png)))
        print(f"\nreal MURA HAND.png: flagged={flagged(a)}")
        for d in a.digits:
            ips = [d.gaps[k] for k in d.ip_indices]
            mcp = d.gaps[d.mcp_index] if d.mcp_index >= 0 else None
            print(f"  {'thumb ' if d.is_thumb else 'finger'} phalanges {d.phalanges}  tip {d.tip}  "
                  f"IP joints {ips}  MCP {mcp}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

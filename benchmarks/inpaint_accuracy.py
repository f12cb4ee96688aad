"""Inpainting / outpainting checks on cases built from real radiographs: pass rates per fill.

Usage::

    PYTHONPATH=. python benchmarks/inpaint_accuracy.py [--data ../shared/data] [--limit N]

Cases come from :mod:`anatscore.synth.inpaint_cases` (knee_kl crops with masks over the joint
and the femoral shaft, JSRT chests with masks over a lung field and the mediastinum). Images
are split by index: even = calibration half (the thresholds in ``anatscore/checks/inpaint.py``
were set looking at it), odd = held-out half. For each check, the table gives the share of
cases that FAIL, per fill; on good fills that is the false-failure rate, on the bad fills a
check targets it is the detection rate. Then the same on the GAN lesion-inpainting frames is
not possible (no original/mask is available for them; see the README).
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

from anatscore.checks import CheckContext, inpaint
from anatscore.synth.inpaint_cases import BAD_FILLS, GOOD_FILLS, OUT_BAD, OUT_GOOD, inpaint_cases, outpaint_cases

#: which bad fills each check is meant to catch (detection is reported on these)
TARGETS = {
    "inpaint.preservation": ("changed",),
    "inpaint.seam": ("flat", "shifted", "noise"),
    "inpaint.texture": ("blur", "flat", "noise"),
    "outpaint.detail_decay": ("blurdecay",),
}
FNS = {"inpaint.preservation": inpaint.preservation, "inpaint.seam": inpaint.seam,
       "inpaint.texture": inpaint.texture}


def fail_rates(limit: int, data: Path) -> dict[tuple[str, str, str, str], list[bool]]:
    """(half, region, check, fill) -> list of "failed" flags."""
    ctx = CheckContext()
    out: dict[tuple[str, str, str, str], list[bool]] = defaultdict(list)
    for region in ("knee", "chest"):
        sources: dict[str, int] = {}
        for case in inpaint_cases(data, region, limit):
            half = "cal" if sources.setdefault(case.source, len(sources)) % 2 == 0 else "held"
            for name, fn in FNS.items():
                r = fn(case.image, ctx)
                out[(half, region, name, case.fill)].append(r.passed is False)
        sources = {}
        for case in outpaint_cases(data, region, limit):
            half = "cal" if sources.setdefault(case.source, len(sources)) % 2 == 0 else "held"
            r = inpaint.detail_decay(case.image, ctx)
            out[(half, region, "outpaint.detail_decay", case.fill)].append(r.passed is False)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[1] / "../shared/data")
    ap.add_argument("--limit", type=int, default=40, help="images per region (0 = all)")
    args = ap.parse_args()
    rates = fail_rates(args.limit, args.data)
    print("share of cases FAILED by each check (good fills: false failures; targeted bad fills: detection)")
    print(f"{'half':5} {'region':6} {'check':22} " + " ".join(f"{f:>9}" for f in
                                                               GOOD_FILLS + BAD_FILLS + OUT_GOOD + OUT_BAD))
    for half in ("cal", "held"):
        for region in ("knee", "chest"):
            for check in list(FNS) + ["outpaint.detail_decay"]:
                cells = []
                for fill in GOOD_FILLS + BAD_FILLS + OUT_GOOD + OUT_BAD:
                    v = rates.get((half, region, check, fill))
                    if not v:
                        cells.append(f"{'':>9}")
                        continue
                    mark = "*" if fill in TARGETS[check] else " "
                    cells.append(f"{sum(v) / len(v):8.0%}{mark}")
                print(f"{half:5} {region:6} {check:22} " + " ".join(cells))
    print("* = a bad fill the check targets (detection rate); n per cell = images x mask sites")


if __name__ == "__main__":
    main()

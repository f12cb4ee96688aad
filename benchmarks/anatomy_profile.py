"""Where the weight-free anatomy checks spend their time: cProfile of each check alone.

Usage::

    PYTHONPATH=. OMP_NUM_THREADS=1 python benchmarks/anatomy_profile.py [--check NAME ...]
        [--side 512] [--top 15] [--sort tottime|cumulative] [--cases MODULE ...]

Profiles, for each registered anatomy check (or those named), the same images that
``benchmarks/anatomy_accuracy.py`` times (up to 3 real or phantom cases per region, resized to
``--side``^2), each run alone on a fresh image cache (the shared segmentation included), and
prints the check's CPU time per image and its top functions (``pstats``: calls, own time, cumulative
time, in seconds summed over the images). The totals are under the profiler, so larger than the
harness's timing; use them to find hot spots, and the harness for the figures.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from anatscore.checks import CheckContext, applies  # noqa: E402
from anatscore.registry import ANATOMY_CHECKS, resolve  # noqa: E402
from benchmarks.anatomy_accuracy import _resize, discover, loaded  # noqa: E402
from benchmarks.anatomy_golden import timed_picks  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="cProfile of each anatomy check on the harness's timed images")
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--check", action="append", default=[], help="only this check (repeatable)")
    ap.add_argument("--cases", action="append", default=[], help="only these case modules (repeatable)")
    ap.add_argument("--side", type=int, default=512)
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("--sort", default="tottime", choices=("tottime", "cumulative"))
    args = ap.parse_args(argv)

    data = args.data if (args.data / "manifest.csv").is_file() else None
    cases = []
    for mod in discover(args.cases):
        cases.extend((f"{mod.__name__}/{c.name}", c) for c in mod.cases(data))
    picks = [(c, _resize(c.array(), args.side)) for _, c in timed_picks(cases)]
    specs = [s for s in ANATOMY_CHECKS if not args.check or s.name in args.check]
    for spec in specs:
        fn = resolve(spec.target)
        prof = cProfile.Profile()
        n = 0
        t0 = time.process_time()
        for case, g in picks:
            img = loaded(case, g)
            if not applies(spec, img.meta)[0]:
                continue
            n += 1
            prof.runcall(fn, img, CheckContext())
        if not n:
            continue
        ms = (time.process_time() - t0) * 1000 / n
        buf = io.StringIO()
        st = pstats.Stats(prof, stream=buf)
        st.sort_stats(args.sort).print_stats(args.top)
        print(f"\n=== {spec.name}: {n} images at {args.side}^2, {ms:.0f} CPU ms per image under the profiler ===")
        # pstats' table, without its header lines
        lines = buf.getvalue().splitlines()
        start = next((i for i, ln in enumerate(lines) if ln.lstrip().startswith("ncalls")), 0)
        print("\n".join(ln for ln in lines[start:] if ln.strip()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

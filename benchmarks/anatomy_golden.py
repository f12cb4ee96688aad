"""Golden-output guard for the weight-free anatomy checks: record once, compare after a change.

Usage::

    PYTHONPATH=. OMP_NUM_THREADS=1 python benchmarks/anatomy_golden.py record /tmp/golden.json
    PYTHONPATH=. OMP_NUM_THREADS=1 python benchmarks/anatomy_golden.py compare /tmp/golden.json
        [--every N] [--cases MODULE ...] [--no-resized] [--jobs J]

Runs exactly what ``benchmarks/anatomy_accuracy.py`` runs on each case of every module in
``benchmarks/anatomy_cases/`` (its ``run_case``: every applicable registered anatomy check with
the image gates, then ``anatomy.plausible``, one shared image cache) and stores, per
``(case, check)`` (key ``module/case|check``): ``passed``, ``value`` (rounded to 6 significant
digits), ``reason`` and the numbers in ``extra`` and ``evidence`` (rounded likewise). It adds
the images the harness times (up to 3 real or phantom cases per region, resized to 512^2 and
2048^2; key ``module/case|@2048|check``), each check run alone on a fresh cache, as the timing
does, so that the full-resolution paths are guarded too. The full set (2628 cases, 14756
results) takes about 10 minutes on one core.

``compare`` recomputes the stored keys (or every ``N``-th case with ``--every``, or only the
``--cases`` modules) and prints each difference: a changed ``passed`` or ``reason``, or a
``value``, ``extra`` or ``evidence`` number that differs by more than 1e-6 relative (after
rounding), is a failure (exit status 1); a field the golden file lacks is not compared. Keep
the golden file out of the repository (``/tmp``): it holds numbers measured on licensed images.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Iterator

import numpy as np

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from anatscore.checks import CheckContext, applies  # noqa: E402
from anatscore.registry import ANATOMY_CHECKS, resolve  # noqa: E402
from benchmarks.anatomy_accuracy import _resize, discover, loaded, run_case  # noqa: E402
from benchmarks.anatomy_cases import Case  # noqa: E402

SIDES = (512, 2048)
PER_REGION = 3


def _num(x: Any) -> Any:
    """Numbers rounded to 6 significant digits; containers recursively; other values as text."""
    if isinstance(x, (bool, np.bool_)) or x is None or isinstance(x, str):
        return bool(x) if isinstance(x, np.bool_) else x
    if isinstance(x, (int, float, np.integer, np.floating)):
        v = float(x)
        if not math.isfinite(v):
            return str(v)
        return float(f"{v:.6g}")
    if isinstance(x, dict):
        return {str(k): _num(v) for k, v in x.items()}
    if isinstance(x, (list, tuple, np.ndarray)):
        return [_num(v) for v in (x.tolist() if isinstance(x, np.ndarray) else x)]
    return repr(x)


def _record(r: Any) -> dict[str, Any]:
    return {"passed": r.passed, "value": _num(r.value), "reason": r.reason, "extra": _num(r.extra),
            "evidence": _num(r.evidence)}


def harness_cases(data: Path | None, modules: list[str]) -> list[tuple[str, Case]]:
    out = []
    for mod in discover(modules):
        short = mod.__name__.rsplit(".", 1)[-1]
        out.extend((f"{short}/{c.name}", c) for c in mod.cases(data))
    return out


def timed_picks(cases: list[tuple[str, Case]]) -> list[tuple[str, Case]]:
    """The harness timing's picks: up to ``PER_REGION`` real/phantom cases per region, in order."""
    picked: dict[str, list[tuple[str, Case]]] = defaultdict(list)
    for key, c in cases:
        if len(picked[c.region]) < PER_REGION and c.kind in ("real", "phantom"):
            picked[c.region].append((key, c))
    return [kc for v in picked.values() for kc in v]


def outputs(key: str, case: Case, resized: bool) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(case-key|check, record)`` for one harness case, and for its resized copies if ``resized``."""
    base = case.array()
    for name, r in run_case(case, list(ANATOMY_CHECKS), grey=base).items():
        yield f"{key}|{name}", _record(r)
    if not resized:
        return
    for side in SIDES:
        g = _resize(base, side)
        for spec in ANATOMY_CHECKS:
            img = loaded(case, g)
            if not applies(spec, img.meta)[0]:
                continue
            try:
                r = resolve(spec.target)(img, CheckContext())
            except Exception as exc:  # noqa: BLE001 - recorded like the harness records errors
                yield f"{key}|@{side}|{spec.name}", {"error": f"{type(exc).__name__}: {exc}"}
                continue
            yield f"{key}|@{side}|{spec.name}", _record(r)


def _work(item: tuple[str, Case, bool]) -> list[tuple[str, dict[str, Any]]]:
    key, case, resized = item
    return list(outputs(key, case, resized))


def collect(data: Path | None, modules: list[str], every: int, resized: bool, jobs: int,
            only: set[str] | None = None) -> dict[str, dict[str, Any]]:
    cases = harness_cases(data, modules)
    picks = {k for k, _ in timed_picks(cases)} if resized else set()
    items = [(k, c, k in picks) for i, (k, c) in enumerate(cases) if i % every == 0 or k in picks]
    if only is not None:
        items = [it for it in items if it[0] in only]
    out: dict[str, dict[str, Any]] = {}
    t0 = time.perf_counter()
    if jobs > 1:
        from multiprocessing import get_context

        with get_context("fork").Pool(jobs) as pool:
            for n, rows in enumerate(pool.imap(_work, items, chunksize=4), 1):
                out.update(rows)
                if n % 100 == 0:
                    print(f"  ... {n}/{len(items)} cases, {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    else:
        for n, it in enumerate(items, 1):
            out.update(_work(it))
            if n % 100 == 0:
                print(f"  ... {n}/{len(items)} cases, {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    print(f"{len(items)} cases ({len(picks)} also at {'/'.join(map(str, SIDES))}^2), {len(out)} results, "
          f"{time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return out


def _close(a: Any, b: Any, rtol: float = 1e-6) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or abs(a - b) <= rtol * max(abs(a), abs(b), 1e-12)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k], rtol) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y, rtol) for x, y in zip(a, b))
    return a == b


def compare(golden: dict[str, dict[str, Any]], now: dict[str, dict[str, Any]], show: int) -> int:
    """Print the differences; return their number (verdict/reason/value/extra/missing keys)."""
    counts: dict[str, int] = defaultdict(int)
    shown = 0
    for key in sorted(set(golden) | set(now)):
        if key not in now or key not in golden:
            kind = "missing" if key not in now else "new"
            diffs = [kind]
        else:
            g, n = golden[key], now[key]
            diffs = [f for f in ("error", "passed", "reason", "value", "extra", "evidence")
                     if f in g and not _close(g.get(f), n.get(f))]
        for f in diffs:
            counts[f] += 1
        if diffs and shown < show:
            shown += 1
            print(f"DIFF {key}: {', '.join(diffs)}")
            for f in diffs:
                if f not in ("missing", "new"):
                    print(f"    golden {f}: {golden[key].get(f)!r}\n    now    {f}: {now[key].get(f)!r}")
    total = sum(counts.values())
    print(f"compared {len(now)} results against {len(golden)} golden: "
          + (", ".join(f"{k} {v}" for k, v in sorted(counts.items())) if total else "identical"))
    return total


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="record / compare the anatomy checks' outputs on the harness cases")
    ap.add_argument("mode", choices=("record", "compare"))
    ap.add_argument("golden", type=Path)
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--cases", action="append", default=[], help="only these case modules (repeatable)")
    ap.add_argument("--every", type=int, default=1, metavar="N", help="keep every N-th case (the timed picks always)")
    ap.add_argument("--no-resized", action="store_true", help="skip the 512^2/2048^2 copies of the timed picks")
    ap.add_argument("--jobs", type=int, default=1, help="worker processes")
    ap.add_argument("--show", type=int, default=20, help="print up to N differences")
    args = ap.parse_args(argv)

    data = args.data if (args.data / "manifest.csv").is_file() else None
    if data is None:
        print(f"real data folder {args.data} absent: phantoms only", file=sys.stderr)
    if args.mode == "record":
        out = collect(data, args.cases, args.every, not args.no_resized, args.jobs)
        args.golden.write_text(json.dumps(out, indent=0, sort_keys=True))
        print(f"wrote {len(out)} results to {args.golden}")
        return 0
    golden = json.loads(args.golden.read_text())
    cases_in_golden = {k.split("|", 1)[0] for k in golden}
    now = collect(data, args.cases, args.every, not args.no_resized, args.jobs, only=cases_in_golden)
    # Compare only the keys this run covered (a subset run leaves the rest unchecked).
    covered = {k.split("|", 1)[0] for k in now}
    sub = {k: v for k, v in golden.items() if k.split("|", 1)[0] in covered}
    if args.no_resized:
        sub = {k: v for k, v in sub.items() if "|@" not in k}
    return 1 if compare(sub, now, args.show) else 0


if __name__ == "__main__":
    raise SystemExit(main())

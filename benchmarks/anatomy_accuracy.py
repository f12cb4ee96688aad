"""Accuracy and speed of the weight-free anatomy checks on real images, corruptions and phantoms.

Usage::

    PYTHONPATH=. python benchmarks/anatomy_accuracy.py [--data ../shared/data] [--quick N]
        [--region chest] [--cases axial] [--no-timing] [--json out.json]

Discovers every module in ``benchmarks/anatomy_cases/`` (each exposes ``cases(data_dir)``), runs
every registered anatomy check that applies (``anatscore.checks.applies`` on an ``ImageMeta``
with modality ``xray`` and the case's region/view) plus ``anatomy.plausible`` on each case, and
prints per check:

* ``real``: images of kind ``real`` expected to pass where the check gave a verdict, and the
  false failures among them (rate); ``n/a`` counts real images where it applied but abstained;
* ``phantom-ok``: the same on phantoms built to be normal;
* one row per failure type: corrupt/phantom images expected to fail, and detections (rate);
* ``pathology`` cases (real films with a pathology added, e.g. a pleural effusion: still
  plausible radiographs, so every check listed in ``expect`` should pass or abstain), in a second
  table: per check and pathology type (the case's ``failure_type``), failures and n/a;
* the median CPU milliseconds per image of each check alone (fresh image cache, so the shared
  segmentation is included) at 512^2 and 2048^2. CPU time (``time.process_time``), not wall time,
  so that the figure does not depend on what else the machine runs; with ``OMP_NUM_THREADS=1`` it
  is the cost on one core.

Targets (issue 3): false failures <= 5 % per check on real images of its region; detection >= 90 %
per failure type.
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from anatscore.checks import CheckContext, applies, image_gates  # noqa: E402
from anatscore.registry import ANATOMY_CHECKS, ANATOMY_PRECONDITIONS, check_spec, resolve  # noqa: E402
from anatscore.types import CheckResult, CheckSpec, ImageMeta, LoadedImage  # noqa: E402
from benchmarks.anatomy_cases import Case  # noqa: E402

PLAUSIBLE = "anatomy.plausible"
PRECONDITIONS = tuple(s.name for s in ANATOMY_PRECONDITIONS)


@dataclass
class Tally:
    """Counts of one check: verdicts on images expected to pass / to fail (by failure type)."""

    applied: int = 0
    real_n: int = 0
    real_fail: int = 0
    real_na: int = 0
    ok_phantom_n: int = 0
    ok_phantom_fail: int = 0
    detect_n: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    detect_hit: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    false_failures: list[str] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)
    patho_n: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    patho_fail: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    patho_na: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    patho_failures: list[str] = field(default_factory=list)


def discover(modules: Iterable[str] = ()) -> list[Any]:
    """Import every case module of ``benchmarks.anatomy_cases`` (or only those named)."""
    import benchmarks.anatomy_cases as pkg

    wanted = set(modules)
    out = []
    for info in pkgutil.iter_modules(pkg.__path__):
        if wanted and info.name not in wanted:
            continue
        out.append(importlib.import_module(f"{pkg.__name__}.{info.name}"))
    return out


def loaded(case: Case, grey: np.ndarray) -> LoadedImage:
    meta = ImageMeta(image_id=case.name, path=case.name, modality="xray", region=case.region, view=case.view)
    meta.height, meta.width = grey.shape
    return LoadedImage(meta=meta, grey=grey)


def run_case(case: Case, specs: list[CheckSpec], grey: np.ndarray | None = None) -> dict[str, CheckResult]:
    """All applicable anatomy checks on one case, then ``anatomy.plausible``; errors become n/a."""
    img = loaded(case, case.array() if grey is None else grey)
    ctx = CheckContext()
    for spec in specs:
        ok, why = applies(spec, img.meta)
        if not ok:
            continue
        gated = image_gates(spec, img)  # e.g. a multi-panel sheet: n/a, as in a run
        if gated:
            ctx.prior[spec.name] = CheckResult.na(spec.name, gated)
            continue
        try:
            ctx.prior[spec.name] = resolve(spec.target)(img, ctx)
        except Exception as exc:  # noqa: BLE001 - one failing check must not stop the benchmark
            ctx.prior[spec.name] = CheckResult.na(spec.name, f"error: {type(exc).__name__}: {exc}")
    plaus = check_spec(PLAUSIBLE)
    ctx.prior[PLAUSIBLE] = resolve(plaus.target)(img, ctx)
    return ctx.prior


def score(cases: Iterable[Case], specs: list[CheckSpec], progress: bool = True) -> tuple[dict[str, Tally], int]:
    tallies: dict[str, Tally] = defaultdict(Tally)
    n = 0
    for case in cases:
        res = run_case(case, specs)
        n += 1
        if progress and n % 50 == 0:
            print(f"  ... {n} cases", file=sys.stderr)
        expect = dict(case.expect)
        if case.kind in ("real", "pathology") or (expect and all(expect.values())):
            # preconditions (image.noise) must pass wherever the image is expected to pass
            expect.update({name: True for name in PRECONDITIONS if name not in expect})
        # anatomy.plausible: expected to pass on real images, to fail on every corrupted one
        expect[PLAUSIBLE] = all(expect.values()) if expect else True
        for name, r in res.items():
            t = tallies[name]
            if r.passed is not None:
                t.applied += 1
            if name not in expect:
                continue
            if name == PLAUSIBLE and len(res) == 1:
                continue  # no registered check covers this case's region (e.g. the joints cases)
            want = expect[name]
            if want and case.kind == "pathology":
                pt = case.failure_type or "unspecified"
                t.patho_n[pt] += 1
                if r.passed is None:
                    t.patho_na[pt] += 1
                elif r.passed is False:
                    t.patho_fail[pt] += 1
                    t.patho_failures.append(f"{case.name}: {r.reason}")
                continue
            if want:
                if case.kind == "real":
                    if r.passed is None:
                        t.real_na += 1
                        continue
                    t.real_n += 1
                    if r.passed is False:
                        t.real_fail += 1
                        t.false_failures.append(f"{case.name}: {r.reason}")
                else:
                    if r.passed is None:
                        continue
                    t.ok_phantom_n += 1
                    t.ok_phantom_fail += int(r.passed is False)
            else:
                ft = case.failure_type or "unspecified"
                t.detect_n[ft] += 1
                if r.passed is False:
                    t.detect_hit[ft] += 1
                else:
                    t.misses.append(f"{case.name}: {r.reason}")
    return tallies, n


def _resize(grey: np.ndarray, side: int) -> np.ndarray:
    from skimage.transform import resize

    return resize(grey, (side, side), anti_aliasing=False, order=1, preserve_range=True).astype(np.float32)


def timings(cases: list[Case], specs: list[CheckSpec], sides: tuple[int, ...] = (512, 2048),
            per_region: int = 3) -> dict[str, dict[int, float]]:
    """Median CPU ms per image of each check alone (fresh cache), on up to ``per_region`` cases per region."""
    picked: dict[str, list[Case]] = defaultdict(list)
    for c in cases:
        if len(picked[c.region]) < per_region and c.kind in ("real", "phantom"):
            picked[c.region].append(c)
    out: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    for region_cases in picked.values():
        for c in region_cases:
            base = c.array()
            for side in sides:
                g = _resize(base, side)
                for spec in specs:
                    img = loaded(c, g)
                    if not applies(spec, img.meta)[0]:
                        continue
                    fn = resolve(spec.target)
                    t0 = time.process_time()
                    fn(img, CheckContext())
                    out[spec.name][side].append((time.process_time() - t0) * 1000)
    return {k: {s: float(np.median(v)) for s, v in d.items()} for k, d in out.items()}


def _rate(a: int, b: int) -> str:
    return f"{a}/{b} ({a / b:.0%})" if b else "-"


def report(tallies: dict[str, Tally], times: dict[str, dict[int, float]], names: list[str]) -> str:
    lines = ["| check | applied | real: false failures | phantom-ok: false failures | failure type: detections | CPU ms @512² | CPU ms @2048² |",
             "|---|---|---|---|---|---|---|"]
    for name in names:
        t = tallies.get(name)
        if t is None or (t.applied == 0 and not t.detect_n):
            continue
        det = "; ".join(f"{ft}: {_rate(t.detect_hit[ft], t.detect_n[ft])}" for ft in sorted(t.detect_n)) or "-"
        real = _rate(t.real_fail, t.real_n) + (f", n/a {t.real_na}" if t.real_na else "")
        tm = times.get(name, {})
        ms = [f"{tm[s]:.0f}" if s in tm else "-" for s in (512, 2048)]
        lines.append(f"| {name} | {t.applied} | {real} | {_rate(t.ok_phantom_fail, t.ok_phantom_n)} | {det} | {ms[0]} | {ms[1]} |")
    return "\n".join(lines)


def report_pathology(tallies: dict[str, Tally], names: list[str]) -> str:
    """Second table: per check and pathology type, failures / cases (n/a among them); "" if none."""
    types = sorted({pt for t in tallies.values() for pt in t.patho_n})
    if not types:
        return ""
    lines = ["| check | " + " | ".join(f"{pt}: fail (n/a)" for pt in types) + " |",
             "|---|" + "---|" * len(types)]
    for name in names:
        t = tallies.get(name)
        if t is None or not t.patho_n:
            continue
        cells = [f"{t.patho_fail[pt]}/{t.patho_n[pt]} ({t.patho_na[pt]})" if t.patho_n[pt] else "-" for pt in types]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="anatomy check accuracy on real images, corruptions and phantoms")
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--quick", type=int, default=1, metavar="N", help="keep every N-th case (subsample)")
    ap.add_argument("--region", action="append", default=[], help="only cases of this region (repeatable)")
    ap.add_argument("--cases", action="append", default=[], help="only these case modules (repeatable)")
    ap.add_argument("--no-timing", action="store_true", help="skip the 512²/2048² speed measurement")
    ap.add_argument("--show", type=int, default=5, help="list up to N false failures and misses per check")
    ap.add_argument("--json", type=Path, help="also write the tallies as JSON here")
    args = ap.parse_args(argv)

    data = args.data if (args.data / "manifest.csv").is_file() else None
    if data is None:
        print(f"real data folder {args.data} absent: phantoms only", file=sys.stderr)
    all_cases: list[Case] = []
    for mod in discover(args.cases):
        all_cases.extend(mod.cases(data))
    if args.region:
        regions = set(args.region)
        all_cases = [c for c in all_cases if c.region in regions]
    all_cases = all_cases[:: max(1, args.quick)]
    specs = list(ANATOMY_CHECKS)
    t0 = time.perf_counter()
    tallies, n = score(all_cases, specs)
    kinds = defaultdict(int)
    for c in all_cases:
        kinds[c.kind] += 1
    print(f"anatomy accuracy: {n} cases ({', '.join(f'{k} {v}' for k, v in sorted(kinds.items()))}), "
          f"{len(specs)} registered anatomy checks, {time.perf_counter() - t0:.0f} s")
    times = {} if args.no_timing else timings(all_cases, specs)
    names = [s.name for s in specs] + [PLAUSIBLE]
    print(report(tallies, times, names))
    patho = report_pathology(tallies, names)
    if patho:
        print("\npathology cases (plausible films with a pathology; every check should pass or be n/a):\n" + patho)
    if args.show:
        for name in names:
            t = tallies.get(name)
            if t is None:
                continue
            for label, items in (("false failures", t.false_failures), ("misses", t.misses),
                                 ("failures on pathology", t.patho_failures)):
                if items:
                    print(f"\n{name} {label} (first {min(args.show, len(items))} of {len(items)}):")
                    for it in items[: args.show]:
                        print(f"  {it}")
    if args.json:
        args.json.write_text(json.dumps({k: {**{f: getattr(v, f) for f in ("applied", "real_n", "real_fail", "real_na",
                                                                            "ok_phantom_n", "ok_phantom_fail")},
                                             "detect_n": dict(v.detect_n), "detect_hit": dict(v.detect_hit),
                                             "patho_n": dict(v.patho_n), "patho_fail": dict(v.patho_fail),
                                             "patho_na": dict(v.patho_na)}
                                         for k, v in tallies.items()}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

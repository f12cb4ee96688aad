"""Accuracy and speed of the limb anatomy checks on ``benchmarks/anatomy_cases/msk.py``.

A small stand-alone runner (until the shared ``benchmarks/anatomy_accuracy.py`` harness lands):
for every registered anatomy check and every case that lists it in ``expect``, the check is run
and tabulated per (check, case kind, failure type, split): cases, not-applicable, and the cases
whose verdict differs from the expected one (false failures on images expected to pass,
misses on images expected to fail). Speed: median milliseconds per image per check (segmentation
included, as each check would pay it alone) on a real image of the check's region (knee crop,
MURA hand, MURA forearm) resized to 512² and 2048².

Usage::

    PYTHONPATH=. python -m benchmarks.msk_accuracy [--data ../shared/data] [--step 1] [--list-wrong]
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from anatscore.checks import CheckContext, applies
from anatscore.registry import ANATOMY_CHECKS, resolve
from anatscore.types import ImageMeta, LoadedImage

from .anatomy_cases import Case
from .anatomy_cases.msk import cases, knee_files, load_grey


def _image(case: Case, arr: np.ndarray) -> LoadedImage:
    meta = ImageMeta(image_id=case.name, path=case.name, modality="xray", region=case.region, view=case.view)
    return LoadedImage(meta=meta, grey=arr)


def evaluate(
    data_dir: Path | None, step: int = 1, wrong_cases: list[str] | None = None
) -> dict[tuple[str, str, str, str], list[int]]:
    """``(check, kind, failure_type, split) -> [cases, not applicable, wrong verdicts]``.

    When ``wrong_cases`` is a list, a line per wrong verdict (check, case, value, reason) is
    appended to it.
    """
    specs = {s.name: s for s in ANATOMY_CHECKS}
    ctx = CheckContext()
    table: dict[tuple[str, str, str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for case in cases(data_dir, step=step):
        arr = case.array()
        img = _image(case, arr)
        for name, want in case.expect.items():
            spec = specs.get(name)
            if spec is None:
                continue
            ftype = case.failure_type or ("expected pass" if want else "?")
            key = (name, case.kind, ftype, case.meta.get("split", "-"))
            row = table[key]
            row[0] += 1
            ok, _ = applies(spec, img.meta)
            res = resolve(spec.target)(img, ctx) if ok else None
            if res is None or res.passed is None:
                row[1] += 1
            elif res.passed != want:
                row[2] += 1
                if wrong_cases is not None:
                    wrong_cases.append(f"{name:32s} {case.name:45s} {res.value!s:.6} {res.reason}")
    return table


def speed(
    data_dir: Path | None, sizes: tuple[int, ...] = (512, 2048), repeats: int = 5
) -> dict[tuple[str, int], tuple[float, float]]:
    """Median (wall, CPU) ms per image per check (fresh image each time: segmentation included).

    CPU time (``time.process_time``) is reported beside wall time because the machine may be
    shared; with ``OMP_NUM_THREADS=1`` the two agree on an idle machine.
    """
    from skimage.transform import resize

    from anatscore.anatomy.phantoms import forearm_phantom, hand_phantom, knee_phantom

    bases = {
        "knee": load_grey(knee_files(data_dir)[0]) if data_dir is not None else knee_phantom(seed=0),
        "hand": hand_phantom(5, seed=0),
        "forearm": forearm_phantom(2, seed=0),
    }
    if data_dir is not None:
        for region, name in (("hand", "HAND.png"), ("forearm", "FOREARM.png")):
            png = data_dir / "real" / "xray" / "msk_mura_examples" / name
            if png.is_file():
                bases[region] = load_grey(png)
    out: dict[tuple[str, int], tuple[float, float]] = {}
    ctx = CheckContext()
    for size in sizes:
        for spec in ANATOMY_CHECKS:
            region = spec.regions[0] if spec.regions else "knee"
            base = bases.get(region, bases["knee"])
            arr = resize(base, (size, size), order=1).astype(np.float32)
            fn = resolve(spec.target)
            wall, cpu = [], []
            for _ in range(repeats):
                img = _image(Case("speed", region, "real", arr, {}), arr)
                t, c = time.perf_counter(), time.process_time()
                fn(img, ctx)
                wall.append(1000 * (time.perf_counter() - t))
                cpu.append(1000 * (time.process_time() - c))
            out[(spec.name, size)] = (float(np.median(wall)), float(np.median(cpu)))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared" / "data")
    p.add_argument("--step", type=int, default=1, help="use every STEP-th real knee crop")
    p.add_argument("--list-wrong", action="store_true", help="also print every case with a wrong verdict")
    args = p.parse_args(argv)
    data = args.data if (args.data / "manifest.csv").is_file() else None
    if data is None:
        print(f"# {args.data} absent: phantoms only")
    wrong_lines: list[str] | None = [] if args.list_wrong else None
    table = evaluate(data, args.step, wrong_lines)
    print(f"{'check':32s} {'kind':8s} {'failure type':26s} {'split':12s} {'cases':>5s} {'n/a':>4s} {'wrong':>5s}  rate")
    for (check, kind, ftype, split), (n, na, wrong) in sorted(table.items()):
        judged = n - na
        what = "false-failure" if ftype == "expected pass" else "detection"
        rate = (wrong / judged if what == "false-failure" else 1 - wrong / judged) if judged else float("nan")
        print(f"{check:32s} {kind:8s} {ftype:26s} {split:12s} {n:5d} {na:4d} {wrong:5d}  {what} {100 * rate:.1f}%")
    if wrong_lines:
        print("\nwrong verdicts:")
        print("\n".join(wrong_lines))
    print()
    for (check, size), (wall, cpu) in speed(data).items():
        print(f"speed {check:32s} {size}x{size}: median {wall:.1f} ms wall, {cpu:.1f} ms CPU per image"
              " (segmentation included)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

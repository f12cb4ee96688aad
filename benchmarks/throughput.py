"""Throughput of ``anatscore evaluate``: images/s, peak RSS and the time split by stage.

Usage::

    python benchmarks/throughput.py N [--size 512] [--workers W] [--batch-size B] [--checks PATTERN ...]
                                      [--src DIR] [--set FIELD=VALUE ...] [--device cpu|cuda|auto]

Writes N synthetic 8-bit greyscale PNG "radiographs" (smooth background, bright elongated
"bones" with a darker gap, noise; seeded) of SIZE x SIZE into a temporary folder (or uses the first
N images under ``--src``), evaluates them with the registered checks into a temporary run folder
(database, CSV, JSON and report written as in a real run) and prints:

- images/s over the whole ``evaluate`` call (discovery to report) and over the scoring loop;
- peak resident set size of the process (``resource.getrusage``, includes the Python/numpy
  interpreter baseline, printed separately);
- seconds per stage: discover, decode (summed over worker threads) and the main thread's wait for
  it, each check group, metrics, store commits, export.
"""

from __future__ import annotations

import argparse
import csv
import logging
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _rss_mib() -> float:
    """Peak RSS of this process in MiB (``ru_maxrss`` is KiB on Linux, bytes on macOS)."""
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r / (1024 * 1024) if sys.platform == "darwin" else r / 1024


def synthetic_radiograph(rng: np.random.Generator, size: int) -> np.ndarray:
    """A crude radiograph-like uint8 image: soft-tissue background, two bone shafts and a joint gap."""
    yy, xx = np.mgrid[0:size, 0:size] / size
    img = 0.25 + 0.1 * np.sin(3 * xx + rng.uniform(0, 3)) * np.cos(2 * yy)
    cx = rng.uniform(0.4, 0.6)
    width = rng.uniform(0.06, 0.1)
    shaft = np.exp(-((xx - cx) / width) ** 8)
    gap = np.abs(yy - rng.uniform(0.45, 0.55)) > 0.015
    img = img + 0.55 * shaft * gap
    img = img + rng.normal(0, 0.03, img.shape)
    return np.round(np.clip(img, 0, 1) * 255).astype(np.uint8)


def make_inputs(folder: Path, n: int, size: int, seed: int = 0) -> None:
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        Image.fromarray(synthetic_radiograph(rng, size)).save(folder / f"syn_{i:06d}.png")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("n", type=int, help="number of images")
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--checks", nargs="+", default=None)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--src", type=Path, default=None, help="take the first N images under this folder instead")
    ap.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                    help="manifest field for every image, e.g. --set modality=xray --set region=chest "
                         "(so region-specific checks apply)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="anatscore: %(levelname)s: %(message)s")

    import anatscore
    from anatscore.io import discover

    rss_base = _rss_mib()
    tmp = Path(tempfile.mkdtemp(prefix="anatscore-bench-"))
    try:
        src = tmp / "in"
        if args.src is not None:
            metas = discover(args.src)[: args.n]
            for m in metas:
                dst = src / m.path
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(m.abspath, dst)
        else:
            make_inputs(src, args.n, args.size)
        if args.set:
            fields = dict(kv.split("=", 1) for kv in args.set)
            rels = sorted(p.relative_to(src).as_posix() for p in src.rglob("*") if p.is_file() or p.is_symlink())
            with open(src / "manifest.csv", "w", newline="", encoding="utf-8") as fh:
                wr = csv.writer(fh)
                wr.writerow(["path", *fields])
                for rel in rels:
                    wr.writerow([rel, *fields.values()])
        t0 = time.perf_counter()
        res = anatscore.evaluate(src, out=tmp / "run", checks=args.checks, workers=args.workers,
                                 batch_size=args.batch_size, device=args.device)
        wall = time.perf_counter() - t0
        t = res.timings
        n = res.counts["images"]
        loop = t.get("total", wall) - t.get("setup", 0.0) - t.get("discover", 0.0) - t.get("export", 0.0)
        print(f"anatscore {anatscore.__version__}  python {platform.python_version()}  {platform.machine()}  "
              f"cpus={os.cpu_count()}  OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '')}")
        what = f"synthetic {args.size}x{args.size} PNG" if args.src is None else str(args.src)
        print(f"images: {n} ({what})"
              f"  scored={res.counts['scored']} failed={res.counts['failed']}  "
              f"checks={len(res.manifest['checks'])}  workers={args.workers}  batch={args.batch_size}")
        print(f"throughput: {n / wall:.1f} images/s end to end ({wall:.2f} s)")
        print(f"peak RSS: {_rss_mib():.0f} MiB (interpreter + anatscore baseline before the run: {rss_base:.0f} MiB)")
        print("time by stage (s):")
        order = ["setup", "discover", "decode", "decode_wait"] + sorted(k for k in t if k.startswith("check:")) + \
            ["metrics", "store", "export", "total"]
        for k in order:
            if k in t:
                note = "  (summed over worker threads)" if k == "decode" else ""
                print(f"  {k:<24}{t[k]:9.3f}{note}")
        print(f"  {'scoring loop':<24}{loop:9.3f}  (total - setup - discover - export: {n / loop:.1f} images/s)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Decode every image under a folder once and print what came out.

Prints one line per format (count, decoded, failed, mean decode ms, megapixels/s), then every
failure with its reason. Used for the README's "Inputs" figures::

    python benchmarks/io_decode.py ../shared/data/real [--workers 2] [--limit N]
"""

from __future__ import annotations

import argparse
import collections
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from anatscore.config import EvalConfig
from anatscore.io import LoadError, discover, load_image
from anatscore.types import ImageMeta


def _one(meta: ImageMeta, config: EvalConfig) -> tuple[ImageMeta, float, str, int]:
    t0 = time.perf_counter()
    try:
        im = load_image(meta, config)
        return meta, time.perf_counter() - t0, "", im.grey.size
    except LoadError as exc:
        return meta, time.perf_counter() - t0, str(exc), 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder")
    ap.add_argument("--workers", type=int, default=1, help="decoding threads")
    ap.add_argument("--limit", type=int, default=0, help="decode at most N images")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    metas = discover(args.folder)
    t_disc = time.perf_counter() - t0
    refused = [m for m in metas if m.refused]
    metas = [m for m in metas if not m.refused]  # refusals are records, not decoding work
    if args.limit:
        metas = metas[: args.limit]
    config = EvalConfig()
    t1 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=max(1, args.workers)) as pool:
        results = list(pool.map(lambda m: _one(m, config), metas))
    wall = time.perf_counter() - t1
    by_fmt: dict[str, list[tuple[float, str, int]]] = collections.defaultdict(list)
    for meta, dt, err, px in results:
        fmt = meta.format or Path(meta.path).suffix.lstrip(".").lower() or "?"
        by_fmt[fmt].append((dt, err, px))
    print(f"discover: {len(metas)} images (+{len(refused)} refused generations) in {t_disc:.2f} s "
          "(sha256 included)")
    print(f"{'format':<8} {'files':>6} {'ok':>6} {'failed':>6} {'ms/img':>8} {'Mpx/s':>8}")
    for fmt, rows in sorted(by_fmt.items()):
        ok = [r for r in rows if not r[1]]
        t = sum(r[0] for r in ok)
        mpx = sum(r[2] for r in ok) / 1e6
        print(f"{fmt:<8} {len(rows):>6} {len(ok):>6} {len(rows) - len(ok):>6} "
              f"{1000 * t / max(len(ok), 1):>8.1f} {mpx / t if t else 0:>8.1f}")
    n_ok = sum(1 for r in results if not r[2])
    print(f"total: {n_ok}/{len(results)} decoded in {wall:.2f} s wall with {args.workers} worker(s) "
          f"({len(results) / wall if wall else 0:.1f} images/s)")
    for meta, _, err, _ in results:
        if err:
            print(f"FAILED {meta.image_id}: {err}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

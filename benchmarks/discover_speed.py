"""Wall time of ``anatscore.io.discover`` on N PNGs carrying a ``prompt`` text chunk.

Usage::

    python benchmarks/discover_speed.py [N] [--size 512]

Writes N seeded random 8-bit greyscale PNGs (SIZE x SIZE, a ``prompt`` tEXt chunk) into a temporary
folder and prints the best of three ``discover`` timings with and without sha256 hashing.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    from PIL import Image, PngImagePlugin

    from anatscore.io import discover

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", type=int, nargs="?", default=500)
    ap.add_argument("--size", type=int, default=512)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for i in range(args.n):
            info = PngImagePlugin.PngInfo()
            info.add_text("prompt", f"knee radiograph {i}")
            img = rng.integers(0, 256, (args.size, args.size), dtype=np.uint8)
            Image.fromarray(img).save(folder / f"{i:05d}.png", pnginfo=info)
        for hash_files in (True, False):
            best = float("inf")
            for _ in range(3):
                t = time.perf_counter()
                metas = discover(folder, hash_files=hash_files)
                best = min(best, time.perf_counter() - t)
            with_prompt = sum(bool(m.prompt) for m in metas)
            print(f"discover {args.n} PNGs {args.size}x{args.size} hash_files={hash_files}: "
                  f"{best:.3f} s best of 3 ({with_prompt} prompts read)")


if __name__ == "__main__":
    main()

"""What the weight-free anatomy checks say on real generator output (``../shared/data/generated``).

Usage::

    PYTHONPATH=. OMP_NUM_THREADS=1 python benchmarks/generated_anatomy.py [--data ../shared/data] [--every 50]

There is no plausibility label for these images, so this prints behaviour, not accuracy:

1. ``image.noise`` (:mod:`anatscore.anatomy.noise`): the noise / contrast ratio on every real
   radiograph (PNG/JPEG under ``real/xray``), which sets the bound, and along the two DDPM chest
   sampling trajectories (``generated/ddpm_cxr_nih``, 700 frames each: noise at step 0, a chest
   at step 699).
2. Every registered anatomy check and ``anatomy.plausible`` (region chest, view PA) on each
   generated chest: the RoentGen figure tiles (``generated/roentgen_figures``: Stable Diffusion
   fine-tuned on MIMIC-CXR, one finding per tile; overlays such as arrows and magnifier circles
   are part of the figure), the eight GAN lesion-inpainting films of the first and last frame of
   ``generated/cxr_lesion_inpainting`` (blue boxes burned in), and the DDPM frames every
   ``--every`` steps. Tiles are cut out of the figures at their white gutters; the RoentGen
   attention-map tiles (colour overlays) are skipped.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import Counter
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from anatscore.anatomy.noise import MAX_NOISE_RATIO, noise_estimate  # noqa: E402
from anatscore.checks import IMAGE_GATES  # noqa: E402
from anatscore.registry import ANATOMY_CHECKS  # noqa: E402
from benchmarks.anatomy_accuracy import PLAUSIBLE, run_case  # noqa: E402
from benchmarks.anatomy_cases import Case  # noqa: E402

WHITE = 0.93  # figure background: grey above this

#: The caption of each grey RoentGen tile (its prompt's finding), read off the figures, in the
#: order figure_tiles() yields them (row by row).
CAPTIONS = {
    "findings.png": ["atelectasis", "cardiomegaly", "consolidation", "edema", "enlarged mediastinum",
                     "lung lesion", "lung opacity", "no finding", "pleural effusion", "pneumonia",
                     "pneumothorax (magnifier circle overlaid)", "support devices"],
    "rg_splash.jpg": ["left pleural effusion and pacemaker", "right pleural effusion, right upper lobe pneumonia"],
    "size_laterality_pleural_effusion.png": ["small right pleural effusion", "no pleural effusion",
                                             "small left pleural effusion", "big right pleural effusion",
                                             "bilateral pleural effusions", "big left pleural effusion"],
}


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))


def _rgb(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0


def figure_tiles(rgb: np.ndarray, min_side: int = 64) -> list[tuple[slice, slice, float]]:
    """Image tiles of a figure on a white ground: (rows, cols, median saturation) per tile.

    Row bands where more than 30 % of the pixels are not background, then, inside each band,
    column runs where more than half are not: titles and captions (thin, sparse) drop out.
    """
    grey = rgb.mean(axis=2)
    sat = rgb.max(axis=2) - rgb.min(axis=2)
    ink = grey <= WHITE
    out = []
    for r0, r1 in _runs(ink.mean(axis=1) > 0.3):
        if r1 - r0 < min_side:
            continue
        for c0, c1 in _runs(ink[r0:r1].mean(axis=0) > 0.5):
            if c1 - c0 >= min_side:
                out.append((slice(r0, r1), slice(c0, c1), float(np.median(sat[r0:r1, c0:c1]))))
    return out


def plot_area(rgb: np.ndarray, frame: int = 2) -> np.ndarray:
    """The grey image inside a matplotlib figure's axes (the largest tile), its frame line trimmed."""
    rows, cols, _ = max(figure_tiles(rgb), key=lambda t: (t[0].stop - t[0].start) * (t[1].stop - t[1].start))
    g = rgb[rows, cols].mean(axis=2)
    return np.ascontiguousarray(g[frame:-frame, frame:-frame])


def ddpm_frames(gif: Path, steps: Iterable[int] | None = None, every: int = 50) -> Iterator[tuple[int, np.ndarray]]:
    """(step, grey image) of a DDPM sampling GIF: the given steps, or every ``every``-th and the last."""
    from PIL import Image

    with Image.open(gif) as im:
        n = im.n_frames
        wanted = sorted(set(steps) if steps is not None else set(range(0, n, every)) | {n - 1})
        for k in wanted:
            im.seek(k)
            yield k, plot_area(np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0).astype(np.float32)


def generated_chests(data: Path, every: int) -> Iterator[tuple[str, str, np.ndarray]]:
    """(source, name, grey) of every generated chest radiograph in the shared data."""
    for path in sorted((data / "generated/roentgen_figures").glob("*")):
        rgb = _rgb(path)
        grey_tiles = [(r, c) for r, c, sat in figure_tiles(rgb) if sat <= 0.05]  # not attention maps
        captions = CAPTIONS.get(path.name, [])
        for i, (rows, cols) in enumerate(grey_tiles):
            caption = captions[i] if len(captions) == len(grey_tiles) else f"tile {i}"
            yield "RoentGen tiles", f"{path.name}: {caption}", rgb[rows, cols].mean(axis=2)
    for frame in ("f_001.png", "f_010.png"):
        g = _rgb(data / "generated/cxr_lesion_inpainting/frames" / frame).mean(axis=2)
        for r in range(2):
            for c in range(4):
                yield "GAN lesion inpainting", f"{frame}#{r}{c}", g[256 * r:256 * (r + 1), 256 * c:256 * (c + 1)]
    for gif in sorted((data / "generated/ddpm_cxr_nih").glob("*.gif")):
        for k, g in ddpm_frames(gif, every=every):
            yield "DDPM trajectory", f"{gif.stem}@{k}", g


def real_radiographs(data: Path) -> list[Path]:
    rows = csv.DictReader(open(data / "manifest.csv", newline="", encoding="utf-8"))
    return [data / r["path"] for r in rows
            if r["path"].startswith("real/xray/") and r["path"].lower().endswith((".png", ".jpg", ".jpeg"))
            and r["modality"] not in ("labels", "mask")]


def _verdict(passed: bool | None) -> str:
    return {True: "pass", False: "FAIL", None: "n/a"}[passed]


def main(argv: list[str] | None = None) -> int:
    from PIL import Image

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--every", type=int, default=50, help="DDPM frames: every N-th step (and the last)")
    args = ap.parse_args(argv)
    if not (args.data / "manifest.csv").is_file():
        print(f"real data folder {args.data} absent: nothing to measure", file=sys.stderr)
        return 1

    ratios = sorted((noise_estimate(np.asarray(Image.open(p).convert("L"), np.float32) / 255.0).ratio, p)
                    for p in real_radiographs(args.data))
    v = np.array([r for r, _ in ratios])
    print(f"image.noise on {len(v)} real radiographs: noise/contrast median {np.median(v):.4f}, "
          f"P99 {np.percentile(v, 99):.4f}, max {v.max():.4f} ({ratios[-1][1].relative_to(args.data)}); "
          f"bound {MAX_NOISE_RATIO:.2f}; above it: {int((v > MAX_NOISE_RATIO).sum())}")
    for gif in sorted((args.data / "generated/ddpm_cxr_nih").glob("*.gif")):
        line = " ".join(f"{k}:{noise_estimate(g).ratio:.3f}" for k, g in ddpm_frames(gif, every=args.every))
        print(f"image.noise along {gif.name} (step:ratio): {line}")

    specs = list(ANATOMY_CHECKS)
    per_source: dict[str, Counter] = {}
    trajectory: dict[str, list[str]] = {}
    print("\n| source | image | anatomy.plausible | failing checks (reason) |\n|---|---|---|---|")
    for source, name, grey in generated_chests(args.data, args.every):
        res = run_case(Case(name, "chest", "real", grey.astype(np.float32), {}, view="pa"), specs)
        plaus = res[PLAUSIBLE]
        fails = [r for k, r in res.items() if r.passed is False and k != PLAUSIBLE]
        gated = any(r.passed is None and "dominated by noise" in r.reason for r in res.values())
        c = per_source.setdefault(source, Counter())
        c["images"] += 1
        c[_verdict(plaus.passed)] += 1
        c["gated as noise"] += int(gated)
        for r in fails:
            c[f"fail {r.check}"] += 1
        if source == "DDPM trajectory":
            gif, step = name.split("@")
            trajectory.setdefault(gif, []).append(f"{step}:{_verdict(plaus.passed)}" + ("(noise)" if gated else ""))
            continue
        why = "; ".join(f"`{r.check}`: {r.reason}" for r in fails) or "-"
        print(f"| {source} | {name} | {_verdict(plaus.passed)} | {why} |")
    for gif, verdicts in trajectory.items():
        print(f"\nanatomy.plausible along {gif} (step:verdict): {' '.join(verdicts)}")
    # The same frames as the checks read them without the noise precondition (before it existed).
    ungated = [s for s in specs if s.name != "image.noise"]
    saved = IMAGE_GATES["readable"]
    IMAGE_GATES["readable"] = lambda image: ""
    try:
        for gif in sorted((args.data / "generated/ddpm_cxr_nih").glob("*.gif")):
            passed = [str(k) for k, g in ddpm_frames(gif, every=args.every)
                      if run_case(Case(gif.stem, "chest", "real", g, {}, view="pa"), ungated)[PLAUSIBLE].passed]
            print(f"without image.noise, anatomy.plausible passes {gif.stem} at steps: {' '.join(passed) or '-'}")
    finally:
        IMAGE_GATES["readable"] = saved
    print("\nper source:")
    for source, c in per_source.items():
        print(f"  {source}: " + ", ".join(f"{k} {n}" for k, n in c.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Accuracy of the weight-free layout detectors and of the reference-gallery classifier.

Run from the repository root (needs ``../shared/data``)::

    PYTHONPATH=. python benchmarks/modality_accuracy.py            # full tables
    PYTHONPATH=. python benchmarks/modality_accuracy.py --quick    # fewer rendered cases

Prints, per detector and per modality: images, false alarms on real native images (and on real
images given generator-like colour noise and JPEG), and detections on cases rendered from those
real images by :mod:`anatscore.synth.film` (photos of films, grids). Then the gallery classifier's
leave-one-source-out accuracy (see :func:`gallery_table`).
"""

from __future__ import annotations

import argparse
import collections
import io
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from anatscore.checks import CheckContext  # noqa: E402
from anatscore.types import ImageMeta, LoadedImage  # noqa: E402
from benchmarks.layout_data import RealCase, generated_grids, load_case, real_cases  # noqa: E402

MODALITIES = ("xray", "ct", "mri", "us", "nm")

#: datasets expected to carry no burned-in text in their pixels (de-identified research crops,
#: DICOM pixel data without overlays; not every image was inspected): false alarms of
#: ``layout.burned_text`` are counted on these only. On the others text is often really there
#: (ultrasound scanner overlays, the annotated KUB, side markers), so flags there are reported as
#: "native, unlabelled", neither hits nor false alarms.
TEXT_FREE = (
    "jsrt_scr", "knee_kl", "fetal_head_hc18", "infant_hip_nhbs", "pelvis_ddh", "head_cephalogram",
    "ct_mr_nm/dicom_pydicom", "xray/pydicom_data", "torchxrayvision_tests",
)


def as_loaded(rgb: np.ndarray, image_id: str, colour: bool = True) -> LoadedImage:
    """Wrap a rendered uint8 RGB array as a :class:`LoadedImage` (grey = channel mean)."""
    grey = rgb.astype(np.float32).mean(axis=2) / 255.0 if rgb.ndim == 3 else rgb.astype(np.float32) / 255.0
    meta = ImageMeta(image_id=image_id, path=image_id, height=grey.shape[0], width=grey.shape[1])
    return LoadedImage(meta=meta, grey=grey, colour=rgb if (colour and rgb.ndim == 3) else None)


def generator_like(image: LoadedImage, rng: np.random.Generator) -> LoadedImage:
    """A real image as a generator would emit it: RGB with per-channel noise, JPEG-compressed.

    The noise (sigma 1-2.5% per channel, independent) and JPEG (quality 70-95) put colour in every
    pixel, as diffusion outputs have; a detector that keys on "any colour at all" fails here.
    """
    from PIL import Image

    g = image.grey.astype(np.float64)
    rgb = np.repeat(g[..., None], 3, axis=2) + rng.normal(0, rng.uniform(0.01, 0.025), g.shape + (3,))
    rgb8 = (np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(rgb8).save(buf, format="JPEG", quality=int(rng.integers(70, 96)))
    buf.seek(0)
    with Image.open(buf) as im:
        out = np.asarray(im.convert("RGB")).copy()
    return as_loaded(out, image.meta.image_id + "#genlike")


@dataclass
class Tally:
    """Counts per (detector, modality): images seen and positives."""

    n: dict[tuple[str, str], int] = field(default_factory=lambda: collections.defaultdict(int))
    pos: dict[tuple[str, str], int] = field(default_factory=lambda: collections.defaultdict(int))

    def add(self, det: str, mod: str, flagged: bool) -> None:
        for m in (mod, "all"):
            self.n[(det, m)] += 1
            self.pos[(det, m)] += int(flagged)

    def rate(self, det: str, mod: str) -> str:
        n = self.n.get((det, mod), 0)
        if not n:
            return "-"
        p = self.pos[(det, mod)]
        return f"{p}/{n} ({100.0 * p / n:.1f}%)"


def _print_table(title: str, tally: Tally, dets: list[str]) -> None:
    print(f"\n{title}")
    mods = [m for m in MODALITIES + ("all",) if any(tally.n.get((d, m)) for d in dets)]
    print(f"{'detector':<40}" + "".join(f"{m:>17}" for m in mods))
    for d in dets:
        print(f"{d:<40}" + "".join(f"{tally.rate(d, m):>17}" for m in mods))


def detector_tables(data: Path, n_photo: int, n_grid: int, seed: int) -> dict[str, Tally]:
    """Run the layout detectors on real, generator-like and rendered cases; print the tables."""
    from anatscore.checks import layout, text
    from anatscore.synth.film import render_film_photo, render_grid
    from anatscore.synth.text import burn_text

    ctx = CheckContext()
    dets: dict[str, Callable] = {
        "layout.film_photo": layout.film_photo,
        "layout.multi_panel": layout.multi_panel,
        "layout.greyscale": layout.greyscale,
        "layout.burned_text": text.burned_text,
    }
    rng = np.random.default_rng(seed)
    cases = real_cases(data)
    real_fa, gen_fa, det = Tally(), Tally(), Tally()
    loaded: dict[str, LoadedImage] = {}
    by_mod: dict[str, list[RealCase]] = collections.defaultdict(list)
    failures: list[str] = []
    t0 = time.time()
    for c in cases:
        try:
            im = load_case(data, c.path)
        except Exception as exc:  # noqa: BLE001 - a bad file is reported, the benchmark goes on
            failures.append(f"{c.path}: {exc}")
            continue
        loaded[c.path] = im
        by_mod[c.modality].append(c)
        for name, fn in dets.items():
            r = fn(im, ctx)
            truth_pos = name == "layout.multi_panel" and c.panels > 1
            if name == "layout.burned_text" and not any(s in c.path for s in TEXT_FREE):
                det.add("layout.burned_text (native, unlabelled)", c.modality, r.passed is False)
                continue
            if truth_pos:
                det.add(name + " (native)", c.modality, r.passed is False)
            else:
                real_fa.add(name, c.modality, r.passed is False)
                if r.passed is False:
                    failures.append(f"false alarm {name} on {c.path}: {r.reason}")
        g = generator_like(im, rng)
        for name in ("layout.film_photo", "layout.multi_panel"):
            r = dets[name](g, ctx)
            gen_fa.add(name, c.modality, r.passed is False)
            if r.passed is False:
                failures.append(f"false alarm {name} on generator-like {c.path}: {r.reason}")
    t_real = time.time() - t0

    mods = [m for m in MODALITIES if by_mod[m]]
    grid_exact = collections.Counter()
    t0 = time.time()
    for i in range(n_grid):
        mod = mods[i % len(mods)]
        pool = by_mod[mod]
        picks = [loaded[pool[int(rng.integers(len(pool)))].path].grey for _ in range(int(rng.integers(1, 5)))]
        rgb, gp = render_grid(picks, rng)
        r = layout.multi_panel(as_loaded(rgb, f"grid{i}"), ctx)
        det.add("layout.multi_panel", mod, r.passed is False)
        ok = r.extra.get("rows") == gp.rows and r.extra.get("cols") == gp.cols
        grid_exact[mod] += int(ok)
        grid_exact["all"] += int(ok)
        if r.passed is not False:
            failures.append(f"missed grid {gp.rows}x{gp.cols} gutter={gp.gutter} value={gp.gutter_value} ({mod}): {r.reason}")
    for i in range(n_photo):
        mod = mods[i % len(mods)]
        pool = by_mod[mod]
        src = loaded[pool[int(rng.integers(len(pool)))].path].grey
        printed = rng.random() < 0.3
        if printed:  # a photo of a printed multi-slice exam, as DALL-E drew for CT/MRI
            grid, _ = render_grid([src], rng)
            src = grid[..., 0].astype(np.float32) / 255.0
        rgb, pp = render_film_photo(src, rng)
        r = layout.film_photo(as_loaded(rgb, f"photo{i}"), ctx)
        det.add("layout.film_photo", mod, r.passed is False)
        det.add(f"layout.film_photo [{pp.setting}]", mod, r.passed is False)
        if r.passed is not False:
            failures.append(f"missed photo ({mod}, {pp.setting}, grid={printed}): {r.reason}")
        r = layout.film_photo(as_loaded(rgb, f"photo{i}grey", colour=False), ctx)
        det.add("layout.film_photo (grey)", mod, r.passed is False)
    t_synth = time.time() - t0

    for i, c in enumerate(cases):
        if i % 2 or c.path not in loaded:
            continue
        burnt, _ = burn_text(loaded[c.path].grey, rng)
        r = text.burned_text(as_loaded(np.repeat((burnt * 255 + 0.5).astype(np.uint8)[..., None], 3, axis=2), f"text{i}"), ctx)
        det.add("layout.burned_text", c.modality, r.passed is False)
    gen = generated_grids(data)
    for rel, (rows, cols) in gen:
        im = load_case(data, rel)
        r = layout.multi_panel(im, ctx)
        det.add("layout.multi_panel (generated)", "mri" if "mri" in rel else "xray", r.passed is False)
        print(f"generated grid {rel}: truth {rows}x{cols} -> {r.reason}")

    _print_table("False alarms on real native images (lower is better; target <= 5%)", real_fa, list(dets))
    _print_table("False alarms on real images made generator-like (RGB noise + JPEG)", gen_fa, ["layout.film_photo", "layout.multi_panel"])
    _print_table(
        "Detections on rendered cases (higher is better; target >= 90%)",
        det,
        [
            "layout.film_photo", "layout.film_photo [lightbox]", "layout.film_photo [table]",
            "layout.film_photo [monitor]", "layout.film_photo (grey)", "layout.multi_panel", "layout.multi_panel (native)",
            "layout.multi_panel (generated)", "layout.burned_text", "layout.burned_text (native, unlabelled)",
        ],
    )
    n_all = det.n.get(("layout.multi_panel", "all"), 0)
    if n_all:
        print(f"multi_panel exact rows x cols on rendered grids: {grid_exact['all']}/{n_all} ({100.0 * grid_exact['all'] / n_all:.1f}%)")
    print(f"\n[{len(loaded)} real images in {t_real:.0f}s; {n_photo} photos + {n_grid} grids rendered and scored in {t_synth:.0f}s]")
    if failures:
        print(f"\n{len(failures)} misses / false alarms (first 40):")
        for f in failures[:40]:
            print("  " + f)
    return {"real": real_fa, "genlike": gen_fa, "detect": det}


def cues_table(data: Path) -> None:
    """Confusion of ``modality.cues``'s guess against the true modality on the real images."""
    from anatscore.checks.cues import guess, modality_cues

    conf: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for c in real_cases(data):
        try:
            im = load_case(data, c.path)
        except Exception:  # noqa: BLE001 - counted in the detector tables
            continue
        conf[c.modality][guess(modality_cues(im))[0] or "(none)"] += 1
    print("\nmodality.cues guess vs. true modality on real images (thresholds read off these same images)")
    for m in MODALITIES:
        if conf[m]:
            n = sum(conf[m].values())
            right = sum(v for k, v in conf[m].items() if m in k.split("/"))
            print(f"{m:<6} n={n:<4} right {right} ({100.0 * right / n:.1f}%)  guesses {dict(conf[m])}")


def gallery_table(data: Path, extractors: list[str], k: int) -> dict[str, dict[str, float]]:
    """Leave-one-source-out accuracy of the gallery classifier on the real images; print it.

    Every real native image is a query against a gallery of all the others minus its whole
    source group (a dataset folder, e.g. all of JSRT or all of BUSI; the unrelated pydicom test
    files and MURA examples are one group per file). So no query has a near-duplicate, a sibling
    slice or a same-patient image in its gallery, and a dataset's style cannot carry the vote.
    Region accuracy counts only queries whose region some *other* source also has.
    """
    from anatscore.classify.gallery import FeatureCache, GalleryClassifier, extractor_for, top_label

    cases = real_cases(data)
    images, kept = [], []
    for c in cases:
        try:
            images.append(load_case(data, c.path))
            kept.append(c)
        except Exception as exc:  # noqa: BLE001 - reported, benchmark goes on
            print(f"skip {c.path}: {exc}")
    groups = np.array([c.group for c in kept])
    mods = [c.modality for c in kept]
    regions = [c.region for c in kept]
    exclude = [groups == g for g in groups]
    region_groups: dict[str, set[str]] = collections.defaultdict(set)
    for c in kept:
        if c.region:
            region_groups[c.region].add(c.group)
    results: dict[str, dict[str, float]] = {}
    cache = FeatureCache()
    for name in extractors:
        try:
            ex = extractor_for(name)
        except Exception as exc:  # noqa: BLE001 - e.g. weights absent: say so, go on
            print(f"\ngallery[{name}]: unavailable ({exc})")
            continue
        t0 = time.time()
        feats = cache.extract(ex, images)
        t_feat = time.time() - t0
        g = GalleryClassifier(feats, {"modality": mods, "region": regions}, ex, k=k)
        pm = [top_label(p) for p in g.predict_features(feats, "modality", exclude=exclude)]
        pr = [top_label(p) for p in g.predict_features(feats, "region", exclude=exclude)]
        # region given the modality: the gallery restricted to the query's own modality
        mods_arr = np.array(mods)
        excl_mod = [e | (mods_arr != m) for e, m in zip(exclude, mods)]
        prm = [top_label(p) for p in g.predict_features(feats, "region", exclude=excl_mod)]
        per = {}
        print(f"\nGallery classifier [{name}, k={k}], leave-one-source-out over {len(kept)} real images ({t_feat:.0f}s features)")
        print(f"{'modality':<10}{'images':>8}{'correct':>9}{'recall':>9}   confusions")
        for m in MODALITIES:
            idx = [i for i, x in enumerate(mods) if x == m]
            if not idx:
                continue
            ok = sum(pm[i] == m for i in idx)
            conf = collections.Counter(pm[i] for i in idx if pm[i] != m)
            per[m] = ok / len(idx)
            print(f"{m:<10}{len(idx):>8}{ok:>9}{100.0 * ok / len(idx):>8.1f}%   {dict(conf) if conf else ''}")
        acc = float(np.mean([a == b for a, b in zip(pm, mods)]))
        bal = float(np.mean(list(per.values())))
        ridx = [i for i, r in enumerate(regions) if r and len(region_groups[r] - {groups[i]}) > 0]
        racc = float(np.mean([pr[i] == regions[i] for i in ridx])) if ridx else float("nan")
        mr_groups: dict[tuple[str, str], set[str]] = collections.defaultdict(set)
        for c in kept:
            mr_groups[(c.modality, c.region)].add(c.group)
        midx = [i for i, c in enumerate(kept) if c.region and len(mr_groups[(c.modality, c.region)] - {c.group}) > 0]
        mracc = float(np.mean([prm[i] == regions[i] for i in midx])) if midx else float("nan")
        print(f"modality accuracy {100 * acc:.1f}% ({sum(a == b for a, b in zip(pm, mods))}/{len(mods)}), balanced (mean recall) {100 * bal:.1f}%")
        print(f"region accuracy {100 * racc:.1f}% over {len(ridx)} images whose region another source also has")
        by_mr = collections.Counter((kept[i].modality, regions[i]) for i in midx)
        print(
            f"region accuracy given the modality {100 * mracc:.1f}% over {len(midx)} images whose modality+region "
            f"another source also has: {dict(by_mr)}"
        )
        results[name] = {
            "accuracy": acc, "balanced": bal, "region": racc, "region_given_modality": mracc,
            **{f"recall_{m}": v for m, v in per.items()},
        }
    return results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--quick", action="store_true", help="60 rendered photos and grids instead of 200")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--skip-detectors", action="store_true")
    ap.add_argument("--skip-gallery", action="store_true")
    ap.add_argument("--skip-cues", action="store_true")
    ap.add_argument("--extractors", default="handcrafted,inception", help="gallery feature spaces")
    ap.add_argument("--k", type=int, default=5, help="gallery neighbours")
    args = ap.parse_args(argv)
    if not (args.data / "manifest.csv").is_file():
        print(f"no real data at {args.data}; nothing to measure", file=sys.stderr)
        return 2
    n = 60 if args.quick else 200
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # PIL's "corrupt EXIF" notes on some files
        if not args.skip_detectors:
            detector_tables(args.data, n, n, args.seed)
        if not args.skip_cues:
            cues_table(args.data)
        if not args.skip_gallery:
            gallery_table(args.data, [e for e in args.extractors.split(",") if e], args.k)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

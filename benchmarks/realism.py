"""Realism metrics on real data, and feature-extraction throughput against pytorch-fid.

Sets (from ``../shared/data``): the 127 JSRT chest PA films split into two halves (even / odd
file index), 100 OAI knee AP crops, 80 HC18 fetal-head ultrasound images. Prints FID / KID on
FID-Inception features (our default "clean" resize) and on the weight-free radiomic features for
chest-half vs chest-half, chest vs knee and chest vs ultrasound; then the throughput of our
Inception feature extraction (decode + preprocess + network, images/s on this CPU) beside
pytorch-fid computing the same features from the same files in the same process, with the
agreement of the two FIDs when our extractor uses pytorch-fid's resize convention.

    OMP_NUM_THREADS=1 PYTHONPATH=. python benchmarks/realism.py [--max-per-set N] [--compare-n N]
"""

from __future__ import annotations

import argparse
import glob
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from anatscore.features.inception import InceptionExtractor  # noqa: E402
from anatscore.features.radiomic import RadiomicExtractor  # noqa: E402
from anatscore.io.loading import load_image  # noqa: E402
from anatscore.metrics.frechet import frechet_distance_features  # noqa: E402
from anatscore.metrics.kid import kid  # noqa: E402
from anatscore.metrics.realism import standardizer  # noqa: E402
from anatscore.paths import shared_dir  # noqa: E402
from anatscore.types import ImageMeta  # noqa: E402


def _files(data: Path, max_n: int) -> dict[str, list[str]]:
    jsrt = sorted(glob.glob(str(data / "real/xray/chest/jsrt_scr/images/*.png")))
    knee = sorted(glob.glob(str(data / "real/xray/knee_kl/*/*.png")))
    us = sorted(f for f in glob.glob(str(data / "real/us/fetal_head_hc18/*_HC.png")))
    sets = {"chest_a": jsrt[0::2], "chest_b": jsrt[1::2], "knee": knee, "us": us}
    return {k: v[:max_n] for k, v in sets.items()}


def _load(paths: list[str]) -> list:
    return [load_image(ImageMeta(image_id=p, path=p, abspath=p)) for p in paths]


def _pytorch_fid_model(weights: str):  # type: ignore[no-untyped-def]
    import pytorch_fid.inception as pfi
    import torch

    state = torch.load(weights, map_location="cpu", weights_only=True)
    # pytorch-fid downloads its weights from GitHub; hand it the same state_dict instead
    pfi.load_state_dict_from_url = lambda *a, **k: state
    return pfi.InceptionV3([pfi.InceptionV3.BLOCK_INDEX_BY_DIM[2048]]).eval()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--max-per-set", type=int, default=10_000)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--compare-n", type=int, default=24, help="images per set for the pytorch-fid comparison")
    ap.add_argument("--no-table", action="store_true", help="skip the full-set FID/KID table")
    args = ap.parse_args()
    shared = shared_dir()
    weights = shared / "weights" / "inception-2015-12-05-fid-nofc.pth" if shared else None
    if shared is None or not (shared / "data").is_dir() or not weights.is_file():
        print("needs ../shared/data and ../shared/weights/inception-2015-12-05-fid-nofc.pth", file=sys.stderr)
        return 1
    import torch

    print(f"torch threads: {torch.get_num_threads()}, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}")
    sets = _files(shared / "data", args.max_per_set)
    print("sets: " + ", ".join(f"{k}={len(v)}" for k, v in sets.items()))

    ours_clean = InceptionExtractor(weights=str(weights), resize="clean", batch_size=args.batch_size)
    ours_pf = InceptionExtractor(weights=str(weights), resize="pytorch-fid", batch_size=args.batch_size)
    radiomic = RadiomicExtractor()
    feats: dict[str, dict[str, np.ndarray]] = {"inception": {}, "radiomic": {}}
    t_rad = 0.0
    n_total = 0
    for name, paths in ({} if args.no_table else sets).items():
        images = _load(paths)
        feats["inception"][name] = ours_clean.extract(images)
        t0 = time.perf_counter()
        feats["radiomic"][name] = radiomic.extract(images)
        t_rad += time.perf_counter() - t0
        n_total += len(paths)

    # agreement with pytorch-fid and speed: the same files through three pipelines, timed from
    # file to features (decode included), interleaved batch by batch (order rotating) so that
    # load from other processes on this shared machine hits all three alike
    from pytorch_fid.fid_score import calculate_frechet_distance, get_activations

    model = _pytorch_fid_model(str(weights))
    sub = {k: v[: args.compare_n] for k, v in sets.items()}
    n_cmp = sum(len(v) for v in sub.values())
    timing = {"clean": 0.0, "pytorch-fid": 0.0, "ref": 0.0, "decode": 0.0}
    cmp_feats: dict[str, dict[str, list[np.ndarray]]] = {"clean": {}, "pytorch-fid": {}, "ref": {}}
    step = args.batch_size
    turn = 0
    for name, paths in sub.items():
        for key in cmp_feats:
            cmp_feats[key][name] = []
        for i in range(0, len(paths), step):
            chunk = paths[i : i + step]
            runs = [("clean", ours_clean), ("pytorch-fid", ours_pf), ("ref", None)]
            turn += 1
            for mode, ex in runs[turn % 3 :] + runs[: turn % 3]:
                t0 = time.perf_counter()
                if ex is None:
                    got = get_activations(chunk, model, batch_size=step, dims=2048, device="cpu", num_workers=0)
                else:
                    t_dec = time.perf_counter()
                    images = _load(chunk)
                    timing["decode"] += time.perf_counter() - t_dec
                    got = ex.extract(images)
                timing[mode] += time.perf_counter() - t0
                cmp_feats[mode][name].append(got)
    cmp = {m: {k: np.concatenate(v) for k, v in d.items()} for m, d in cmp_feats.items()}

    pairs = [("chest_a", "chest_b", "chest half vs chest half"), ("chest_a", "knee", "chest vs knee"), ("chest_a", "us", "chest vs ultrasound")]
    print()
    if args.no_table:
        pairs_table: list = []
    else:
        pairs_table = pairs
    if pairs_table:
        print(f"{'pair':28s} {'n':>9s} {'fid@inception':>14s} {'kid@inception':>14s} {'fid@radiomic':>13s} {'kid@radiomic':>13s}")
    for a, b, label in pairs_table:
        row = [f"{label:28s}", f"{len(sets[a]):>4d}/{len(sets[b]):<4d}"]
        for ext in ("inception", "radiomic"):
            fa, fb = feats[ext][a], feats[ext][b]
            if ext == "radiomic":  # standardised by the pooled SD of both sets, as RunMetrics does
                shift, sd = standardizer(fa, fb)
                fa, fb = (fa - shift) / sd, (fb - shift) / sd
            size = min(len(fa), len(fb), 1000)
            k = kid(fa, fb, subsets=100, subset_size=size, seed=0)
            row += [f"{frechet_distance_features(fa, fb):>14.2f}" if ext == "inception" else f"{frechet_distance_features(fa, fb):>13.2f}"]
            row += [f"{k.mean:>14.4f}" if ext == "inception" else f"{k.mean:>13.4f}"]
        print(" ".join(row))

    print()
    print(f"agreement with pytorch-fid on {args.compare_n} images per set (same weights, same files):")
    for a, b, label in pairs:
        ours = frechet_distance_features(cmp["pytorch-fid"][a], cmp["pytorch-fid"][b])
        fa, fb = cmp["ref"][a].astype(np.float64), cmp["ref"][b].astype(np.float64)
        theirs = calculate_frechet_distance(fa.mean(0), np.cov(fa, rowvar=False), fb.mean(0), np.cov(fb, rowvar=False))
        maxdiff = max(float(np.abs(cmp["pytorch-fid"][s] - cmp["ref"][s]).max()) for s in (a, b))
        clean = frechet_distance_features(cmp["clean"][a], cmp["clean"][b])
        print(
            f"  {label:26s} pytorch-fid {theirs:9.4f} | ours resize=pytorch-fid {ours:9.4f} "
            f"(rel.diff {abs(ours - theirs) / abs(theirs):.1e}, max|feature diff| {maxdiff:.1e}) | ours resize=clean {clean:9.4f}"
        )

    print()
    print(f"throughput, file -> 2048-d features, {n_cmp} images, CPU, torch threads {torch.get_num_threads()}:")
    for label, key in (("pytorch-fid get_activations", "ref"), ("anatscore inception resize=clean", "clean"), ("anatscore inception resize=pytorch-fid", "pytorch-fid")):
        print(f"  {label:40s} {n_cmp / timing[key]:6.2f} images/s  ({timing['ref'] / timing[key]:.2f}x pytorch-fid)")
    print(f"  {'(anatscore decode, share of the above)':40s} {timing['decode'] / n_cmp * 1000:6.1f} ms/image (io loader, done once per run for all checks)")
    if n_total:
        print(f"  {'anatscore radiomic (weight-free)':40s} {n_total / t_rad:6.2f} images/s  (features only, {n_total} images)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

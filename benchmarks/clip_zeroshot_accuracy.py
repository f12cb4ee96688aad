"""Zero-shot accuracy of the configured CLIP model on the real images of ``../shared/data``.

Ground truth comes from ``manifest.csv`` (real, not generated, decodable images): modality for
every image, body region for radiographs, organ for ultrasound (fetal head -> obstetric,
breast, infant hip, cardiac). Prints accuracy per task, a confusion table, and the obstetric
false-alarm rate on non-obstetric ultrasound (the paper's "every ultrasound looked obstetric").

Needs real CLIP weights, so the figures cannot be produced in the air-gapped workplace. On a
connected machine::

    pip install 'anatscore[biomedclip]'
    anatscore weights download biomedclip
    python benchmarks/clip_zeroshot_accuracy.py --data ../shared/data
    python benchmarks/clip_zeroshot_accuracy.py --data ../shared/data --model ViT-B-32 --pretrained laion2b_s34b_b79k

``--pretrained random`` runs the harness with random weights (a smoke test: chance accuracy).
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from anatscore.classify.clip_zeroshot import ClipZeroShot  # noqa: E402
from anatscore.config import EvalConfig  # noqa: E402
from anatscore.io.loading import LoadError, load_image  # noqa: E402
from anatscore.types import ImageMeta, LoadedImage  # noqa: E402
from anatscore.weights import WeightsMissingError  # noqa: E402

MODALITY_PREFIX = (("XR", "xray"), ("CR", "xray"), ("CT", "ct"), ("MR", "mri"), ("US", "us"), ("NM", "nm"))
REGION_WORDS = (("cephalogram", "head"), ("skull", "head"), ("chest", "chest"), ("knee", "knee"),
                ("pelvis", "pelvis"), ("finger", "hand"), ("hand", "hand"), ("wrist", "wrist"),
                ("elbow", "elbow"), ("forearm", "forearm"), ("humerus", "humerus"), ("shoulder", "shoulder"),
                ("abdomen", "abdomen"))
US_WORDS = (("fetal", "obstetric"), ("obstetric", "obstetric"), ("breast", "breast"), ("hip", "hip"),
            ("cardiac", "heart"))


def _first(text: str, table: tuple[tuple[str, str], ...], prefix: bool = False) -> str:
    for word, label in table:
        if (text.startswith(word) if prefix else word in text.lower()):
            return label
    return ""


def labelled_images(data: Path, per_class: int) -> list[tuple[ImageMeta, dict[str, str]]]:
    """(meta, {task: true class}) for decodable real images, at most ``per_class`` per modality/region."""
    out: list[tuple[ImageMeta, dict[str, str]]] = []
    seen: Counter[tuple[str, str]] = Counter()
    with open(data / "manifest.csv", newline="") as f:
        for row in csv.DictReader(f):
            if row["generated"] != "no" or not row["path"].lower().endswith((".png", ".jpg", ".jpeg", ".dcm")):
                continue
            modality = _first(row["modality"], MODALITY_PREFIX, prefix=True)
            if not modality or "/masks/" in row["path"] or "/labels" in row["path"]:
                continue
            truth = {"modality": modality}
            if modality == "xray" and _first(row["region"], REGION_WORDS):
                truth["region"] = _first(row["region"], REGION_WORDS)
            if modality == "us" and _first(row["region"], US_WORDS):
                truth["us_content"] = _first(row["region"], US_WORDS)
            key = (modality, truth.get("region", truth.get("us_content", "")))
            if seen[key] >= per_class:
                continue
            seen[key] += 1
            out.append((ImageMeta(image_id=row["path"], path=row["path"], abspath=str(data / row["path"])), truth))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--model", default="")
    ap.add_argument("--pretrained", default="")
    ap.add_argument("--record", default="")
    ap.add_argument("--per-class", type=int, default=25)
    ap.add_argument("--device", default="auto")
    args = ap.parse_args(argv)
    opts = {k: v for k, v in (("model", args.model), ("pretrained", args.pretrained), ("record", args.record)) if v}
    cfg = EvalConfig(device=args.device, options={"classify": opts})
    try:
        clf = ClipZeroShot.from_config(cfg, cfg.resolved_device())
    except WeightsMissingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    items = labelled_images(args.data, args.per_class)
    loaded: list[tuple[LoadedImage, dict[str, str]]] = []
    for meta, truth in items:
        try:
            loaded.append((load_image(meta, cfg), truth))
        except LoadError as exc:
            print(f"skip {meta.path}: {exc}", file=sys.stderr)
    print(f"model {clf.name}; {len(loaded)} real images from {args.data}")
    for task in ("modality", "region", "us_content"):
        sub = [(im, t[task]) for im, t in loaded if task in t]
        if not sub:
            continue
        preds = clf.predict([im for im, _ in sub], task)
        top = [max(p, key=p.__getitem__) for p in preds]
        conf: dict[str, Counter[str]] = defaultdict(Counter)
        for (_, truth), pred in zip(sub, top):
            conf[truth][pred] += 1
        acc = sum(p == t for (_, t), p in zip(sub, top)) / len(sub)
        print(f"\n{task}: accuracy {acc:.3f} on {len(sub)} images")
        for truth, row in sorted(conf.items()):
            print(f"  true {truth:<14} n={sum(row.values()):<4} predicted " +
                  ", ".join(f"{k} {v}" for k, v in row.most_common(4)))
        if task == "us_content":
            non_ob = [p for (_, t), p in zip(sub, top) if t != "obstetric"]
            if non_ob:
                fa = sum(p == "obstetric" for p in non_ob) / len(non_ob)
                print(f"  obstetric false alarms on non-obstetric ultrasound: {fa:.3f} ({len(non_ob)} images)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""torchxrayvision chest checks on real radiographs: segmentation agreement, verdict rates, OOD.

On the 127 JSRT films with SCR ground-truth masks (``../shared/data/real/xray/chest/jsrt_scr``):

- Dice of the PSPNet heart, lungs and clavicles against the SCR masks, and the CTR measured on
  PSPNet masks against the CTR measured on the SCR masks (mean absolute difference);
- pass rates of every ``xrv.*`` anatomy check (real films: every failure is a false alarm);
- DenseNet ``Nodule``/``Mass`` presence at the operating thresholds on nodule films (JPCLN) vs
  non-nodule films (JPCNN): sensitivity and false-positive rate, and any-finding rate on JPCNN;
- view model: fraction predicted frontal (all JSRT films are PA);
- autoencoder reconstruction error on chest films vs knee radiographs and fetal ultrasound
  (AUC of chest-vs-other; higher = better OOD separation).

Needs the real weights, which cannot be downloaded in the air-gapped workplace. On a connected
machine::

    for w in xrv-densenet121-res224-all xrv-pspnet xrv-cxas xrv-resnet-ae xrv-view; do
        anatscore weights download $w; done
    python benchmarks/xrv_chest_accuracy.py --data ../shared/data

``--random --limit 2`` runs the harness end to end with random-weight networks (smoke test).
``--ground-truth`` needs no weights: it runs the geometric rules on the SCR masks themselves
(real films, mirrored films labelled by image position, simulated dextrocardia) and prints how
often each passes: the rules' own false-alarm and detection rates, independent of any network.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from anatscore.backbones import xrv as bx  # noqa: E402
from anatscore.checks import CheckContext  # noqa: E402
from anatscore.checks import xrv_anatomy as xa  # noqa: E402
from anatscore.checks import xrv_pathology as xp  # noqa: E402
from anatscore.config import EvalConfig  # noqa: E402
from anatscore.io.loading import load_image  # noqa: E402
from anatscore.types import ImageMeta, LoadedImage  # noqa: E402
from anatscore.weights import WeightsMissingError  # noqa: E402

JSRT = Path("real/xray/chest/jsrt_scr")
SCR = ("heart", "left_lung", "right_lung", "left_clavicle", "right_clavicle")
ANATOMY = ("lungs", "heart_laterality", "ctr_check", "clavicles", "scapulae", "ribs", "vertebrae")


def _load(path: Path, **meta: Any) -> LoadedImage:
    m = ImageMeta(image_id=path.name, path=path.name, abspath=str(path), modality="xray", region="chest", **meta)
    return load_image(m)


def _masks_512(data: Path, name: str) -> dict[str, np.ndarray]:
    from PIL import Image

    return {k: np.asarray(Image.open(data / JSRT / "masks" / k / name).resize((512, 512), Image.NEAREST)) > 0
            for k in SCR}


def _auc(pos: np.ndarray, neg: np.ndarray) -> float:
    """P(score_pos > score_neg) + 0.5 P(tie) (Mann-Whitney U / (n_pos n_neg))."""
    from scipy.stats import mannwhitneyu

    return float(mannwhitneyu(pos, neg).statistic / (len(pos) * len(neg)))


def _random_models(ctx: CheckContext) -> None:
    import torch

    torch.manual_seed(0)
    ctx.models.update({"xrv-pspnet": bx.build_pspnet(), "xrv-cxas": bx.build_cxas(),
                       bx.densenet_record(): bx.build_densenet(), "xrv-resnet-ae": bx.build_autoencoder(),
                       "xrv-view": bx.build_view_model()})


def ground_truth(data: Path) -> int:
    """Rules on SCR ground-truth masks (256 px): pass counts on real, mirrored, dextrocardia."""
    from PIL import Image

    files = sorted((data / JSRT / "masks" / "heart").glob("*.png"))
    swap = {"left_lung": "right_lung", "right_lung": "left_lung", "left_clavicle": "right_clavicle",
            "right_clavicle": "left_clavicle", "heart": "heart"}
    counts = {k: [0, 0, 0] for k in ("lungs", "clavicles", "heart_laterality", "ctr")}
    ctrs: list[float] = []
    for f in files:
        m = {k: np.asarray(Image.open(data / JSRT / "masks" / k / f.name).resize((256, 256), Image.NEAREST)) > 0
             for k in SCR}
        orig = xa.summarise_masks(m)
        mirrored = xa.summarise_masks({swap[k]: v[:, ::-1] for k, v in m.items()})
        mid = int(round(0.5 * (orig["left_lung"].cx + orig["right_lung"].cx)))
        ys, xs = np.nonzero(m["heart"])
        heart = np.zeros_like(m["heart"])
        heart[ys, np.clip(2 * mid - xs, 0, 255)] = True
        dextro = xa.summarise_masks({**m, "heart": heart})
        for j, s in enumerate((orig, mirrored, dextro)):
            counts["lungs"][j] += bool(xa.rule_lungs(s).passed)
            counts["clavicles"][j] += bool(xa.rule_pair(s, "clavicle", "xrv.clavicles").passed)
            counts["heart_laterality"][j] += bool(xa.rule_heart_laterality(s).passed)
            counts["ctr"][j] += bool(xa.rule_ctr(s).passed)
        ctrs.append(float(xa.ctr(orig) or np.nan))
    n = len(files)
    print(f"rules on SCR ground-truth masks of {n} JSRT films (pass counts)")
    print(f"  {'rule':<18} {'real':>8} {'mirrored':>9} {'dextro':>8}")
    for k, (a, b, c) in counts.items():
        print(f"  {k:<18} {a:>4}/{n:<3} {b:>4}/{n:<3} {c:>4}/{n:<3}")
    print(f"  CTR on ground truth: min {np.nanmin(ctrs):.3f}, median {np.nanmedian(ctrs):.3f}, "
          f"max {np.nanmax(ctrs):.3f}; > 0.5 on {int(np.sum(np.array(ctrs) > 0.5))} films")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--limit", type=int, default=0, help="at most this many JSRT films (0 = all 127)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--random", action="store_true", help="random-weight networks (harness smoke test)")
    ap.add_argument("--ground-truth", action="store_true", help="rules on the SCR masks only (no weights)")
    args = ap.parse_args(argv)
    if args.ground_truth:
        return ground_truth(args.data)
    ctx = CheckContext(config=EvalConfig(device=args.device, batch_size=args.batch_size))
    if args.random:
        _random_models(ctx)
    files = sorted((args.data / JSRT / "images").glob("*.png"))
    if args.limit:
        files = files[: args.limit // 2 + 1] + files[-(args.limit // 2):] if args.limit > 1 else files[:1]
    images = [_load(f, view="pa") for f in files]
    print(f"{len(images)} JSRT films; device {ctx.device}; {'RANDOM weights' if args.random else 'real weights'}")
    try:
        # --- segmentation agreement with SCR ground truth
        structures = xa.pspnet_structures(images, ctx)
        import torch

        model = ctx.models["xrv-pspnet"]
        dice: dict[str, list[float]] = {k: [] for k in SCR}
        ctr_diff: list[float] = []
        for im, f in zip(images, files):
            gt = _masks_512(args.data, f.name)
            with torch.inference_mode():
                logits = bx.pspnet_logits(model, bx.preprocess(im.grey, bx.SEGMENTER_SIZE)[None])
            pred = (logits.sigmoid() > 0.5).cpu().numpy()[0]
            pm = {xa.PSPNET_KEYS[lab]: pred[c] for c, lab in enumerate(bx.pspnet_labels())}
            for k in SCR:
                inter = np.logical_and(pm[k], gt[k]).sum()
                dice[k].append(2 * inter / max(pm[k].sum() + gt[k].sum(), 1))
            c_pred, c_gt = xa.ctr(xa.summarise_masks(pm)), xa.ctr(xa.summarise_masks(gt))
            if c_pred is not None and c_gt is not None:
                ctr_diff.append(abs(c_pred - c_gt))
        print("\nPSPNet vs SCR ground truth (Dice, mean / 5th percentile):")
        for k, v in dice.items():
            print(f"  {k:<15} {np.mean(v):.3f} / {np.percentile(v, 5):.3f}")
        if ctr_diff:
            print(f"  CTR |PSPNet - SCR|: mean {np.mean(ctr_diff):.3f}, max {np.max(ctr_diff):.3f} "
                  f"({len(ctr_diff)} films)")
        del structures
        # --- verdict rates on real films (failures are false alarms)
        print("\nanatomy checks on real films (pass rate; failures are false alarms):")
        for fn in ANATOMY:
            res = getattr(xa, f"{fn}_batch")(images, ctx)
            passed = sum(r.passed is True for r in res)
            reasons = sorted({r.reason for r in res if r.passed is False})[:2]
            print(f"  {res[0].check:<22} {passed}/{len(res)}" + (f"   e.g. {reasons}" if reasons else ""))
        # --- pathology
        nod = [im for im, f in zip(images, files) if f.name.startswith("JPCLN")]
        non = [im for im, f in zip(images, files) if f.name.startswith("JPCNN")]
        for im in nod:
            im.meta.prompt = "chest x-ray with a pulmonary nodule"
        for im in non:
            im.meta.prompt = "normal chest x-ray"
        r_nod = xp.pathology_batch(nod, ctx)
        r_non = xp.pathology_batch(non, ctx)
        labels = bx.densenet_labels()
        sens = np.mean([("Nodule" in r.extra["present"]) or ("Mass" in r.extra["present"]) for r in r_nod]) if nod else np.nan
        fpr = np.mean([("Nodule" in r.extra["present"]) or ("Mass" in r.extra["present"]) for r in r_non]) if non else np.nan
        anyf = np.mean([bool(r.extra["present"]) for r in r_non]) if non else np.nan
        print(f"\nDenseNet ({len(labels)} findings, op thresholds): Nodule-or-Mass present on "
              f"{len(nod)} nodule films {sens:.3f}, on {len(non)} non-nodule films {fpr:.3f}; "
              f"any finding on non-nodule films {anyf:.3f}")
        # --- view
        views = xp.view_batch(images, ctx)
        print(f"view model: frontal on {sum(v.extra['predicted'] == 'frontal' for v in views)}/{len(views)} PA films")
        # --- OOD
        err_chest = np.array([r.value for r in xp.ood_batch(images, ctx)])
        others: list[LoadedImage] = []
        for sub in ("real/xray/knee_kl", "real/us/fetal_head_hc18"):
            fs = sorted((args.data / sub).rglob("*.png"))[: max(len(images), 2)]
            others += [_load(f) for f in fs]
        err_other = np.array([r.value for r in xp.ood_batch(others, ctx)])
        print(f"autoencoder error: chest median {np.median(err_chest):.4f}, knee/ultrasound median "
              f"{np.median(err_other):.4f}; AUC(other > chest) {_auc(err_other, err_chest):.3f}")
    except WeightsMissingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"\nweights used: {ctx.weights_used or 'random'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

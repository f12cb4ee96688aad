"""Inpainting / outpainting checks on cases built from real radiographs: pass rates per fill.

Usage::

    PYTHONPATH=. python benchmarks/inpaint_accuracy.py [--data ../shared/data] [--limit N]

Cases come from :mod:`anatscore.synth.inpaint_cases` (knee_kl crops with masks over the joint
and the femoral shaft, JSRT chests with masks over a lung field and the mediastinum). Images
are split by index: even = calibration half (the thresholds in ``anatscore/checks/inpaint.py``
were set looking at it), odd = held-out half. For each check, the table gives the share of
cases that FAIL, per fill; on good fills that is the false-failure rate, on the bad fills a
check targets it is the detection rate.

Second table: the GAN lesion-inpainting frames (``generated/cxr_lesion_inpainting``). The video
shows each 2 x 4 grid of inpainted chests with and without blue boxes round the inpainted
lesions, but never the films before inpainting, so the checks proper (which need the original)
do not apply. What can be measured is the output-only half of two statistics, with the box
interior as the mask: the in-box/ring detail log2 ratio (``inpaint.texture`` numerator) and the
boundary step over the step 3 px further out (the seam statistic with the original replaced by a
control ring). They are printed next to the same statistics on real JSRT lung fields (no fill).
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage as ndi

from anatscore.checks import CheckContext, inpaint
from anatscore.synth.inpaint_cases import (BAD_FILLS, GOOD_FILLS, OUT_BAD, OUT_GOOD, ellipse_mask, inpaint_cases,
                                           load_grey, make_fill, outpaint_cases, real_images)
from anatscore.types import ImageMeta, LoadedImage

#: which bad fills each check is meant to catch (detection is reported on these)
TARGETS = {
    "inpaint.preservation": ("changed",),
    "inpaint.seam": ("flat", "shifted", "noise"),
    "inpaint.texture": ("blur", "flat", "noise"),
    "outpaint.detail_decay": ("blurdecay",),
}
FNS = {"inpaint.preservation": inpaint.preservation, "inpaint.seam": inpaint.seam,
       "inpaint.texture": inpaint.texture}


def fail_rates(limit: int, data: Path, by_site: dict[tuple[str, str, str], list[bool]]
               ) -> dict[tuple[str, str, str, str], list[bool]]:
    """(half, region, check, fill) -> list of "failed" flags; fills ``by_site`` with
    (half, site, fill) -> "failed any inpaint check" flags."""
    ctx = CheckContext()
    out: dict[tuple[str, str, str, str], list[bool]] = defaultdict(list)
    for region in ("knee", "chest"):
        sources: dict[str, int] = {}
        for case in inpaint_cases(data, region, limit):
            half = "cal" if sources.setdefault(case.source, len(sources)) % 2 == 0 else "held"
            failed_any = False
            for name, fn in FNS.items():
                r = fn(case.image, ctx)
                out[(half, region, name, case.fill)].append(r.passed is False)
                failed_any |= r.passed is False
            by_site.setdefault((half, case.site, case.fill), []).append(failed_any)
        sources = {}
        for case in outpaint_cases(data, region, limit):
            half = "cal" if sources.setdefault(case.source, len(sources)) % 2 == 0 else "held"
            r = inpaint.detail_decay(case.image, ctx)
            out[(half, region, "outpaint.detail_decay", case.fill)].append(r.passed is False)
    return out


def anatomy_delta_rates(data: Path, limit: int) -> list[tuple[str, int, int]]:
    """(fill, failed, judged) for inpaint.anatomy_delta with joint masks on knee films."""
    ctx = CheckContext()
    rows = []
    for fill in ("identity", "flat", "bone"):
        verdicts = []
        for path in real_images(data, "knee", limit):
            orig = load_grey(path)
            mask = ellipse_mask(orig.shape, (0.5, 0.5), frac=0.3)
            out = make_fill(orig, mask, fill, np.random.default_rng(0))
            meta = ImageMeta(image_id=path.stem, path=path.name, task="inpaint", region="knee", modality="xray")
            verdicts.append(inpaint.anatomy_delta(LoadedImage(meta, out, original=orig, mask=mask), ctx).passed)
        judged = [v for v in verdicts if v is not None]
        rows.append((fill, sum(v is False for v in judged), len(judged)))
    return rows


def _output_only(img: np.ndarray, mask: np.ndarray) -> tuple[float, float]:
    """(in-mask/ring detail log2 ratio, boundary step / step at a control ring 3 px outside)."""
    eq_r = float(np.sqrt(mask.sum() / np.pi))
    ring = inpaint._ring(mask, 2, max(6.0, 0.5 * eq_r))
    inner = inpaint._ring(mask, 2, np.inf, outside=False)
    hp = inpaint.highpass(img)
    lr = float(np.log2((hp[inner].std() + 1e-4) / (hp[ring].std() + 1e-4)))
    grown = ndi.distance_transform_edt(~mask) <= 3
    return lr, inpaint.boundary_step(img, mask) / max(inpaint.boundary_step(img, grown), 2e-3)


def gan_frames(data: Path) -> list[tuple[float, float]]:
    """Output-only statistics for every boxed lesion in the GAN inpainting frames."""
    folder = data / "generated/cxr_lesion_inpainting/frames"
    frames = sorted(folder.glob("f_*.png"))
    stats = []
    for prev, cur in zip(frames, frames[1:]):
        rgb = np.asarray(Image.open(cur).convert("RGB"), np.float32)
        blue = rgb[..., 2] > rgb[..., 0] + 60
        if blue.sum() < 200:
            continue
        prev_rgb = np.asarray(Image.open(prev).convert("RGB"), np.float32)
        if (prev_rgb[..., 2] > prev_rgb[..., 0] + 60).sum() >= 50:
            continue  # the frame before must be the same grid without boxes
        plain = prev_rgb.mean(axis=2) / 255.0
        lab, n = ndi.label(ndi.binary_dilation(blue, iterations=2))
        for sl in ndi.find_objects(lab):
            box = np.zeros(blue.shape, bool)
            box[sl] = True
            mask = ndi.binary_erosion(box, iterations=4)  # interior, without the drawn line
            if mask.sum() >= 64:
                stats.append(_output_only(plain, mask))
    return stats


def real_lungs(data: Path, limit: int) -> list[tuple[float, float]]:
    """The same statistics on real JSRT films (no fill) with a lesion-sized mask in a lung field."""
    out = []
    for path in real_images(data, "chest", limit):
        img = load_grey(path)
        out.append(_output_only(img, ellipse_mask(img.shape, (0.45, 0.3), frac=0.05)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[1] / "../shared/data")
    ap.add_argument("--limit", type=int, default=40, help="images per region (0 = all)")
    args = ap.parse_args()
    by_site: dict[tuple[str, str, str], list[bool]] = {}
    rates = fail_rates(args.limit, args.data, by_site)
    print("share of cases FAILED by each check (good fills: false failures; targeted bad fills: detection)")
    print(f"{'half':5} {'region':6} {'check':22} " + " ".join(f"{f:>9}" for f in
                                                               GOOD_FILLS + BAD_FILLS + OUT_GOOD + OUT_BAD))
    for half in ("cal", "held"):
        for region in ("knee", "chest"):
            for check in list(FNS) + ["outpaint.detail_decay"]:
                cells = []
                for fill in GOOD_FILLS + BAD_FILLS + OUT_GOOD + OUT_BAD:
                    v = rates.get((half, region, check, fill))
                    if not v:
                        cells.append(f"{'':>9}")
                        continue
                    mark = "*" if fill in TARGETS[check] else " "
                    cells.append(f"{sum(v) / len(v):8.0%}{mark}")
                print(f"{half:5} {region:6} {check:22} " + " ".join(cells))
    print("* = a bad fill the check targets (detection rate); n per cell = images x mask sites")
    print()
    print("held-out half, by mask site: share of cases failing ANY of the three inpaint checks")
    fills = GOOD_FILLS + BAD_FILLS
    print(f"{'site':12} " + " ".join(f"{f:>9}" for f in fills))
    for site in ("joint", "shaft", "lung", "mediastinum"):
        print(f"{site:12} " + " ".join(f"{np.mean(by_site[('held', site, f)]):9.0%}" for f in fills))
    print()
    print("inpaint.anatomy_delta at the knee joint (mask 30% of the side), all films: share failing")
    for fill, n_fail, n in anatomy_delta_rates(args.data, args.limit):
        print(f"{fill:9} {n_fail}/{n} = {n_fail / max(n, 1):.0%}")
    gan, real = gan_frames(args.data), real_lungs(args.data, args.limit)
    print()
    print("output-only statistics (no original available for the GAN frames): median [5%, 95%]")
    for label, st in (("GAN lesion boxes", gan), ("JSRT lung, no fill", real)):
        if not st:
            print(f"{label:20} (no data)")
            continue
        a = np.asarray(st)
        q = np.percentile(a, [50, 5, 95], axis=0)
        print(f"{label:20} n={len(a):3d}  detail log2 in/ring {q[0, 0]:+.2f} [{q[1, 0]:+.2f}, {q[2, 0]:+.2f}]"
              f"  step/control {q[0, 1]:.2f} [{q[1, 1]:.2f}, {q[2, 1]:.2f}]")


if __name__ == "__main__":
    main()

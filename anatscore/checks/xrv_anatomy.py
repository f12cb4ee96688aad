"""Chest radiograph anatomy from torchxrayvision's segmenters.

Two networks (see :mod:`anatscore.backbones.xrv`):

- PSPNet (ChestX-Det, record ``xrv-pspnet``): 14 structures, among them both lungs, heart,
  clavicles and scapulae -> ``xrv.lungs``, ``xrv.heart_laterality``, ``xrv.ctr``,
  ``xrv.clavicles``, ``xrv.scapulae``.
- CXAS UNet-ResNet50 (record ``xrv-cxas``): 159 structures including every rib (anterior and
  posterior, per side) and vertebrae C1-L5 -> ``xrv.ribs``, ``xrv.vertebrae``.

The network runs once per image (batched by the runner through ``batch_target``); the masks are
reduced at once to :class:`Structure` summaries (area, centroid, horizontal extent, components)
kept in the image memo, so every check reads the same segmentation. The geometric rules are pure
functions of a ``{name: bool mask}`` dict, tested on ground-truth masks (JSRT/SCR) independently
of any network. "left"/"right" are the patient's sides, as the models label them.

Options (``EvalConfig.options[check]``): ``min_area`` (structure presence, fraction of the
512x512 input, default 0.0005), ``ctr_range`` (default [0.30, 0.70]), ``min_ribs`` (posterior
ribs visible per side, default 8), ``max_rib_asymmetry`` (default 2).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np
from scipy import ndimage

from ..backbones import load_once
from ..types import CheckResult, LoadedImage
from . import CheckContext

MIN_AREA = 0.0005

#: PSPNet target name -> canonical structure key.
PSPNET_KEYS: dict[str, str] = {
    "Left Clavicle": "left_clavicle", "Right Clavicle": "right_clavicle",
    "Left Scapula": "left_scapula", "Right Scapula": "right_scapula",
    "Left Lung": "left_lung", "Right Lung": "right_lung",
    "Left Hilus Pulmonis": "left_hilum", "Right Hilus Pulmonis": "right_hilum",
    "Heart": "heart", "Aorta": "aorta", "Facies Diaphragmatica": "diaphragm",
    "Mediastinum": "mediastinum", "Weasand": "trachea", "Spine": "spine",
}

VERTEBRAE: tuple[str, ...] = tuple([f"C{i}" for i in range(1, 8)] + [f"T{i}" for i in range(1, 13)]
                                   + [f"L{i}" for i in range(1, 6)])
_VERTEBRA_SET = frozenset(VERTEBRAE)
_ORD = {1: "1st", 2: "2nd", 3: "3rd"}


def _ordinal(i: int) -> str:
    return _ORD.get(i, f"{i}th")


def cxas_key(label: str) -> str:
    """CXAS target name -> canonical key: ``vertebrae T4`` -> ``T4``; ``posterior 5th rib left``
    -> ``rib_post_5_left``; others lower-case with underscores."""
    if label.startswith("vertebrae "):
        return label.split(" ", 1)[1]
    parts = label.split()
    if len(parts) == 4 and parts[2] == "rib" and parts[0] in ("anterior", "posterior"):
        return f"rib_{parts[0][:4]}_{int(parts[1][:-2])}_{parts[3]}"
    return label.replace(" ", "_")


@dataclass(frozen=True)
class Structure:
    """Summary of one segmented structure (coordinates in the 512x512 model input).

    ``area``: fraction of the image; ``cy, cx``: centroid (pixels); ``x0, x1``: horizontal
    extent; ``max_width``: widest horizontal run of the mask (pixels, any row);
    ``n_components``: connected components larger than 10% of the largest.
    """

    area: float
    cy: float
    cx: float
    x0: int
    x1: int
    max_width: int
    n_components: int


def summarise_mask(mask: np.ndarray) -> Structure | None:
    """:class:`Structure` of a bool mask, or None when empty."""
    m = np.asarray(mask, bool)
    n = int(m.sum())
    if n == 0:
        return None
    ys, xs = np.nonzero(m)
    lab, k = ndimage.label(m)
    sizes = np.bincount(lab.ravel())[1:]
    big = int((sizes >= 0.1 * sizes.max()).sum()) if k else 0
    cols = np.nonzero(m.any(axis=0))[0]
    rows = m[m.any(axis=1)]
    first = rows.argmax(axis=1)
    last = rows.shape[1] - 1 - rows[:, ::-1].argmax(axis=1)
    return Structure(area=n / m.size, cy=float(ys.mean()), cx=float(xs.mean()), x0=int(cols[0]),
                     x1=int(cols[-1]), max_width=int((last - first).max() + 1), n_components=big)


def summarise_masks(masks: Mapping[str, np.ndarray]) -> dict[str, Structure]:
    """Summaries of the non-empty masks."""
    out: dict[str, Structure] = {}
    for name, m in masks.items():
        s = summarise_mask(m)
        if s is not None:
            out[name] = s
    return out


def _present(s: Mapping[str, Structure], name: str, min_area: float) -> Structure | None:
    st = s.get(name)
    return st if st is not None and st.area >= min_area else None


# ------------------------------------------------------------------------------------------
# pure rules on structure summaries (known answers on ground-truth masks in the tests)
# ------------------------------------------------------------------------------------------


def rule_lungs(s: Mapping[str, Structure], min_area: float = MIN_AREA) -> CheckResult:
    name = "xrv.lungs"
    left, right = _present(s, "left_lung", min_area), _present(s, "right_lung", min_area)
    missing = [k for k, v in (("left lung", left), ("right lung", right)) if v is None]
    if missing:
        return CheckResult.judge(name, float(2 - len(missing)), False, f"missing: {', '.join(missing)}")
    assert left is not None and right is not None
    if not left.cx > right.cx and not left.cx < right.cx:
        return CheckResult.judge(name, 2.0, False, "left and right lung are not side by side")
    ratio = min(left.area, right.area) / max(left.area, right.area)
    return CheckResult.judge(name, 2.0, True, f"both lungs present (area ratio {ratio:.2f})",
                             area_left=left.area, area_right=right.area)


def heart_offset(s: Mapping[str, Structure], min_area: float = MIN_AREA) -> float | None:
    """Heart centroid offset from the lung midline toward the left lung, in thorax widths.

    ``(cx_heart - m) * sign / W`` with ``m`` the mean of the lung centroids, ``sign`` +1 when
    the left lung lies at larger x, ``W`` the span of both lungs. Positive = levocardia.
    """
    heart = _present(s, "heart", min_area)
    left, right = _present(s, "left_lung", min_area), _present(s, "right_lung", min_area)
    if heart is None or left is None or right is None:
        return None
    sign = 1.0 if left.cx > right.cx else -1.0
    mid = 0.5 * (left.cx + right.cx)
    width = max(left.x1, right.x1) - min(left.x0, right.x0) + 1
    return float((heart.cx - mid) * sign / width)


def rule_heart_laterality(s: Mapping[str, Structure], min_area: float = MIN_AREA) -> CheckResult:
    name = "xrv.heart_laterality"
    off = heart_offset(s, min_area)
    if off is None:
        miss = [k for k in ("heart", "left_lung", "right_lung") if _present(s, k, min_area) is None]
        return CheckResult.judge(name, None, False, f"cannot place the heart: missing {', '.join(miss)}")
    if off > 0:
        return CheckResult.judge(name, off, True, f"heart lies toward the left lung ({off:+.3f} thorax widths)")
    return CheckResult.judge(name, off, False,
                             f"heart lies toward the right lung ({off:+.3f} thorax widths): dextrocardia "
                             f"or a mirrored image")


def ctr(s: Mapping[str, Structure], min_area: float = MIN_AREA) -> float | None:
    """Cardiothoracic ratio: widest heart run / horizontal span of both lungs (outer borders).

    The radiological CTR takes the thoracic width at the inner rib margins; the lungs' outer
    borders are that margin on a segmentation, so this is the same quantity up to the pleura.
    """
    heart = _present(s, "heart", min_area)
    left, right = _present(s, "left_lung", min_area), _present(s, "right_lung", min_area)
    if heart is None or left is None or right is None:
        return None
    thorax = max(left.x1, right.x1) - min(left.x0, right.x0) + 1
    return heart.max_width / thorax


def rule_ctr(s: Mapping[str, Structure], lo: float = 0.30, hi: float = 0.70,
             min_area: float = MIN_AREA) -> CheckResult:
    name = "xrv.ctr"
    r = ctr(s, min_area)
    if r is None:
        return CheckResult.judge(name, None, False, "cannot measure CTR: heart or a lung not found")
    ok = lo <= r <= hi
    why = f"cardiothoracic ratio {r:.2f}" + ("" if ok else f", outside the plausible range [{lo:.2f}, {hi:.2f}]")
    return CheckResult.judge(name, r, ok, why)


def rule_pair(s: Mapping[str, Structure], what: str, name: str, min_area: float = MIN_AREA) -> CheckResult:
    """Both ``left_<what>`` and ``right_<what>`` present, one main component each, on opposite
    sides of the lungs' midline (when the lungs are found)."""
    left, right = _present(s, f"left_{what}", min_area), _present(s, f"right_{what}", min_area)
    found = [k for k, v in (("left", left), ("right", right)) if v is not None]
    if len(found) < 2:
        missing = [k for k in ("left", "right") if k not in found]
        return CheckResult.judge(name, float(len(found)), False, f"{' and '.join(missing)} {what} not found")
    assert left is not None and right is not None
    problems: list[str] = []
    for side, st in (("left", left), ("right", right)):
        if st.n_components > 1:
            problems.append(f"{side} {what} in {st.n_components} pieces")
    ll, rl = _present(s, "left_lung", min_area), _present(s, "right_lung", min_area)
    if ll is not None and rl is not None and (left.cx - right.cx) * (ll.cx - rl.cx) <= 0:
        problems.append(f"{what}s on the wrong sides")
    if problems:
        return CheckResult.judge(name, 2.0, False, "; ".join(problems))
    ratio = min(left.area, right.area) / max(left.area, right.area)
    return CheckResult.judge(name, 2.0, True, f"left and right {what} present (area ratio {ratio:.2f})",
                             area_ratio=ratio)


def rule_ribs(s: Mapping[str, Structure], min_ribs: int = 8, max_asym: int = 2,
              min_area: float = MIN_AREA / 10) -> CheckResult:
    """Posterior ribs 1-12 visible per side; fails on too few, left/right asymmetry, or a rib
    label split into several pieces (a duplicated or broken rib)."""
    name = "xrv.ribs"
    counts: dict[str, list[int]] = {}
    split: list[str] = []
    for side in ("left", "right"):
        counts[side] = []
        for i in range(1, 13):
            st = _present(s, f"rib_post_{i}_{side}", min_area)
            if st is not None:
                counts[side].append(i)
                if st.n_components > 1:
                    split.append(f"{_ordinal(i)} {side}")
    nl, nr = len(counts["left"]), len(counts["right"])
    problems: list[str] = []
    if min(nl, nr) < min_ribs:
        problems.append(f"fewer than {min_ribs} posterior ribs on a side")
    if abs(nl - nr) > max_asym:
        problems.append(f"left/right differ by {abs(nl - nr)}")
    if split:
        problems.append(f"ribs in several pieces: {', '.join(split)}")
    why = f"posterior ribs left {nl}, right {nr}"
    return CheckResult.judge(name, float(nl + nr), not problems, why + ("; " + "; ".join(problems) if problems else ""),
                             left=nl, right=nr, left_ribs=counts["left"], right_ribs=counts["right"])


def rule_vertebrae(s: Mapping[str, Structure], min_area: float = MIN_AREA / 10) -> CheckResult:
    """Visible vertebrae form one contiguous run (no gaps) ordered top to bottom."""
    name = "xrv.vertebrae"
    seen = [(i, v) for i, v in enumerate(VERTEBRAE) if _present(s, v, min_area) is not None]
    if len(seen) < 2:
        return CheckResult.judge(name, float(len(seen)), False, f"only {len(seen)} vertebra(e) found")
    idx = [i for i, _ in seen]
    gaps = [VERTEBRAE[j] for j in range(idx[0], idx[-1] + 1) if j not in idx]
    ys = [s[v].cy for _, v in seen]
    order_ok = all(b > a for a, b in zip(ys, ys[1:]))
    problems = []
    if gaps:
        problems.append(f"missing inside the run: {', '.join(gaps)}")
    if not order_ok:
        problems.append("not ordered top to bottom")
    run = f"{seen[0][1]}-{seen[-1][1]} ({len(seen)} vertebrae)"
    return CheckResult.judge(name, float(len(seen)), not problems, run + ("; " + "; ".join(problems) if problems else ""),
                             first=seen[0][1], last=seen[-1][1], gaps=gaps)


# ------------------------------------------------------------------------------------------
# network plumbing (batched, memoised per image)
# ------------------------------------------------------------------------------------------


#: Images per segmenter forward pass at most: CXAS logits are 159 x 512 x 512 float32 (160 MB)
#: per image, so the run's batch size is capped here to bound memory.
SEGMENTER_CHUNK = 4


def _segment(images: Sequence[LoadedImage], ctx: CheckContext, memo_key: str, model_key: str,
             loader: Callable[[str], object], logits_fn: Callable, labels: Sequence[str],
             keys: Callable[[str], str], keep: Callable[[str], bool] = lambda k: True) -> list[dict[str, Structure]]:
    """Run a segmenter once per image over the batch, memoising the summaries of the structures
    that ``keep`` selects. Mask = sigmoid(logit) > 0.5, i.e. logit > 0."""
    from ..backbones import xrv as bx

    todo = [im for im in images if memo_key not in im.cache]
    if todo:
        model = load_once(ctx, model_key, lambda: loader(ctx.device))
        chans = [(c, keys(lab)) for c, lab in enumerate(labels) if keep(keys(lab))]
        bs = max(1, min(ctx.config.batch_size, SEGMENTER_CHUNK))
        for i in range(0, len(todo), bs):
            chunk = todo[i:i + bs]
            logits = logits_fn(model, bx.inputs(chunk, bx.SEGMENTER_SIZE))
            masks = (logits[:, [c for c, _ in chans]] > 0).cpu().numpy()
            del logits
            for im, m in zip(chunk, masks):
                im.cache[memo_key] = summarise_masks({k: m[j] for j, (_, k) in enumerate(chans)})
    return [im.cache[memo_key] for im in images]


def pspnet_structures(images: Sequence[LoadedImage], ctx: CheckContext) -> list[dict[str, Structure]]:
    from ..backbones import xrv as bx

    return _segment(images, ctx, "xrv.pspnet", "xrv-pspnet", bx.load_pspnet, bx.pspnet_logits,
                    bx.pspnet_labels(), lambda lab: PSPNET_KEYS[lab])


def cxas_structures(images: Sequence[LoadedImage], ctx: CheckContext) -> list[dict[str, Structure]]:
    from ..backbones import xrv as bx

    return _segment(images, ctx, "xrv.cxas", "xrv-cxas", bx.load_cxas, bx.cxas_logits, bx.cxas_labels(),
                    cxas_key, keep=lambda k: k.startswith("rib_") or k in _VERTEBRA_SET)


def _opt(ctx: CheckContext, check: str, key: str, default: object) -> object:
    return ctx.config.option(check, key, default)


Rule = Callable[[Mapping[str, Structure], CheckContext], CheckResult]
Segmenter = Callable[[Sequence[LoadedImage], CheckContext], list[dict[str, Structure]]]


def _frontal_check(name: str, rule: Rule, segment: Segmenter) -> tuple[Callable, Callable]:
    """``(single, batch)`` check functions applying ``rule`` to each image's segmentation.

    These are frontal-view rules (left/right sides, CTR): on an image whose view is ``lateral``
    they are not applicable and the segmenter does not run for it.
    """

    def batch(images: list[LoadedImage], ctx: CheckContext) -> list[CheckResult]:
        frontal = [im for im in images if im.meta.view != "lateral"]
        seg = iter(segment(frontal, ctx)) if frontal else iter(())
        return [CheckResult.na(name, "frontal-view check; the image is a lateral view") if im.meta.view == "lateral"
                else rule(next(seg), ctx) for im in images]

    def single(image: LoadedImage, ctx: CheckContext) -> CheckResult:
        return batch([image], ctx)[0]

    return single, batch


def _psp_batch(name: str, rule: Rule) -> tuple[Callable, Callable]:
    return _frontal_check(name, rule, pspnet_structures)


def _cxas_batch(name: str, rule: Rule) -> tuple[Callable, Callable]:
    return _frontal_check(name, rule, cxas_structures)


def _min_area(ctx: CheckContext, check: str, default: float = MIN_AREA) -> float:
    return float(_opt(ctx, check, "min_area", default))  # type: ignore[arg-type]


lungs, lungs_batch = _psp_batch("xrv.lungs", lambda s, ctx: rule_lungs(s, _min_area(ctx, "xrv.lungs")))
heart_laterality, heart_laterality_batch = _psp_batch(
    "xrv.heart_laterality",
    lambda s, ctx: rule_heart_laterality(s, _min_area(ctx, "xrv.heart_laterality")))
ctr_check, ctr_check_batch = _psp_batch(
    "xrv.ctr",
    lambda s, ctx: rule_ctr(s, *map(float, _opt(ctx, "xrv.ctr", "ctr_range", (0.30, 0.70))),  # type: ignore[call-overload]
                            min_area=_min_area(ctx, "xrv.ctr")))
clavicles, clavicles_batch = _psp_batch(
    "xrv.clavicles",
    lambda s, ctx: rule_pair(s, "clavicle", "xrv.clavicles", _min_area(ctx, "xrv.clavicles")))
scapulae, scapulae_batch = _psp_batch(
    "xrv.scapulae",
    lambda s, ctx: rule_pair(s, "scapula", "xrv.scapulae", _min_area(ctx, "xrv.scapulae")))
ribs, ribs_batch = _cxas_batch(
    "xrv.ribs",
    lambda s, ctx: rule_ribs(s, int(_opt(ctx, "xrv.ribs", "min_ribs", 8)),  # type: ignore[call-overload]
                             int(_opt(ctx, "xrv.ribs", "max_rib_asymmetry", 2)),  # type: ignore[call-overload]
                             _min_area(ctx, "xrv.ribs", MIN_AREA / 10)))
vertebrae, vertebrae_batch = _cxas_batch(
    "xrv.vertebrae",
    lambda s, ctx: rule_vertebrae(s, _min_area(ctx, "xrv.vertebrae", MIN_AREA / 10)))

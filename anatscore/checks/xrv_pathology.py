"""Chest radiograph findings, view and out-of-distribution score from torchxrayvision models.

- ``xrv.pathology``: the DenseNet-121 classifier (default ``densenet121-res224-all``, option
  ``variant``) scores 18 findings; a finding is *present* when its sigmoid output reaches the
  variant's calibrated operating threshold (``op_threshs``). The prompt is read for requested
  findings (phrases in ``data/xrv_findings.json``: "pleural effusion" -> ``Effusion``, "tumour"
  -> ``Mass``...). Requested findings: passes when all are present; value = the lowest
  calibrated score among them (0.5 = at the threshold). A "normal"/"healthy" prompt: passes when
  no finding is present. No request: not judged; reports the findings present.
- ``xrv.view``: the frontal/lateral view model; compared with the requested view (``ap``/``pa``
  = frontal), or reported when none was requested.
- ``xrv.ood``: the ResNet autoencoder's reconstruction error (mean |x - AE(x)| / 2048); judged
  only when the option ``max_error`` is set (calibrate it on real references: e.g. the 99th
  percentile of the error on your real chest films), otherwise reported.

All three batch their inputs (``batch_target``) and load their model once per run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from ..backbones import load_once
from ..terms import find_terms, load_json
from ..types import CheckResult, LoadedImage
from . import CheckContext

FINDINGS_FILE = Path(__file__).with_name("data") / "xrv_findings.json"


def findings_vocabulary() -> dict:
    """The prompt-phrase data (``findings``, ``normal``, ``negations``)."""
    return load_json(str(FINDINGS_FILE))


def requested_findings(prompt: str) -> tuple[list[str], bool, list[str]]:
    """``(findings requested, normal requested, findings negated)`` read from a prompt.

    >>> requested_findings("chest x-ray with a large left pleural effusion")
    (['Effusion'], False, [])
    >>> requested_findings("normal chest radiograph, no pneumothorax")
    ([], True, ['Pneumothorax'])
    """
    voc = findings_vocabulary()
    hits = find_terms(prompt, voc["findings"], voc["negations"])
    req = sorted({h.label for h in hits if not h.negated})
    neg = sorted({h.label for h in hits if h.negated} - set(req))
    normal = not req and any(not h.negated for h in find_terms(prompt, {"normal": voc["normal"]}, voc["negations"]))
    return req, normal, neg


def judge_pathology(prompt: str, labels: Sequence[str], score: np.ndarray, present: np.ndarray,
                    task: str = "") -> CheckResult:
    """Verdict for one image from its calibrated scores and presence flags (aligned with labels)."""
    name = "xrv.pathology"
    labels = list(labels)
    found = [lab for lab, p in zip(labels, present) if p]
    scores = {lab: (None if np.isnan(s) else round(float(s), 4)) for lab, s in zip(labels, score)}
    req, normal, neg = requested_findings(prompt)
    unknown = [r for r in req if r not in labels or scores.get(r) is None]
    req = [r for r in req if r not in unknown]
    extra = dict(present=found, scores=scores, requested=req, negated=neg)
    if req:
        vals = [scores[r] for r in req]
        missing = [r for r in req if r not in found]
        value = float(min(v for v in vals if v is not None))
        if missing:
            return CheckResult.judge(name, value, False, f"requested {', '.join(req)}; not found: "
                                     f"{', '.join(missing)}", **extra)
        return CheckResult.judge(name, value, True, f"requested {', '.join(req)}: present", **extra)
    if normal:
        value = float(np.nanmax(score)) if np.isfinite(score).any() else None
        if found:
            return CheckResult.judge(name, value, False, f"normal requested; findings present: {', '.join(found)}",
                                     **extra)
        return CheckResult.judge(name, value, True, "normal requested; no finding above its threshold", **extra)
    if unknown:
        return CheckResult.na(name, f"prompt asks for {', '.join(unknown)}, which this model does not score",
                              **extra)
    if task == "pathology":
        return CheckResult.na(name, "pathology task but the prompt names no finding the chest classifier "
                              "knows (see anatscore/checks/data/xrv_findings.json)", **extra)
    what = ", ".join(found) if found else "none"
    value = float(np.nanmax(score)) if np.isfinite(score).any() else None
    return CheckResult(check=name, value=value, passed=None, reason=f"no finding requested; present: {what}",
                       extra=extra)


def _variant(ctx: CheckContext) -> str:
    from ..backbones import xrv as bx

    return str(ctx.config.option("xrv.pathology", "variant", bx.DENSENET_VARIANT))


def pathology_batch(images: list[LoadedImage], ctx: CheckContext) -> list[CheckResult]:
    from ..backbones import xrv as bx

    variant = _variant(ctx)
    model = load_once(ctx, bx.densenet_record(variant), lambda: bx.load_densenet(variant, ctx.device))
    labels = bx.densenet_labels(variant)
    todo = [im for im in images if "xrv.densenet_logits" not in im.cache]
    bs = max(1, ctx.config.batch_size)
    for i in range(0, len(todo), bs):
        chunk = todo[i:i + bs]
        logits = bx.densenet_logits(model, bx.inputs(chunk))
        for im, lg in zip(chunk, logits):
            im.cache["xrv.densenet_logits"] = lg
    logits = np.stack([im.cache["xrv.densenet_logits"] for im in images])
    score, present = bx.pathology_scores(logits, bx.op_thresholds(variant))
    return [judge_pathology(im.meta.prompt, labels, s, p, im.meta.task)
            for im, s, p in zip(images, score, present)]


def pathology(image: LoadedImage, ctx: CheckContext) -> CheckResult:
    return pathology_batch([image], ctx)[0]


_VIEW_OF = {"ap": "frontal", "pa": "frontal", "lateral": "lateral"}


def judge_view(requested: str, probs: np.ndarray, labels: Sequence[str] = ("frontal", "lateral")) -> CheckResult:
    """Compare the view model's probabilities with the requested view (``ap``/``pa``/``lateral``)."""
    name = "xrv.view"
    k = int(np.argmax(probs))
    pred = labels[k]
    p = {lab: round(float(v), 4) for lab, v in zip(labels, probs)}
    want = _VIEW_OF.get(requested, "")
    if not want:
        return CheckResult(check=name, value=float(probs[k]), passed=None,
                           reason=f"no view requested; predicted {pred} ({probs[k]:.2f})",
                           extra={"predicted": pred, "probs": p})
    ok = pred == want
    return CheckResult.judge(name, float(p[want]), ok,
                             f"requested {want}, predicted {pred} ({probs[k]:.2f})", predicted=pred, probs=p)


def view_batch(images: list[LoadedImage], ctx: CheckContext) -> list[CheckResult]:
    from ..backbones import xrv as bx

    model = load_once(ctx, "xrv-view", lambda: bx.load_view_model(ctx.device))
    out: list[CheckResult] = []
    bs = max(1, ctx.config.batch_size)
    for i in range(0, len(images), bs):
        chunk = images[i:i + bs]
        probs = bx.view_probabilities(model, bx.inputs(chunk))
        out.extend(judge_view(im.meta.view, pr) for im, pr in zip(chunk, probs))
    return out


def view(image: LoadedImage, ctx: CheckContext) -> CheckResult:
    return view_batch([image], ctx)[0]


def judge_ood(err: float, max_error: float | None) -> CheckResult:
    name = "xrv.ood"
    if max_error is None:
        return CheckResult(check=name, value=err, passed=None,
                           reason=f"autoencoder reconstruction error {err:.4f} (set option max_error to judge)")
    ok = err <= max_error
    return CheckResult.judge(name, err, ok, f"reconstruction error {err:.4f} "
                             f"{'within' if ok else 'above'} the limit {max_error:.4f}")


def ood_batch(images: list[LoadedImage], ctx: CheckContext) -> list[CheckResult]:
    from ..backbones import xrv as bx

    model = load_once(ctx, "xrv-resnet-ae", lambda: bx.load_autoencoder(ctx.device))
    limit = ctx.config.option("xrv.ood", "max_error", None)
    limit = None if limit is None else float(limit)
    out: list[CheckResult] = []
    bs = max(1, ctx.config.batch_size)
    for i in range(0, len(images), bs):
        chunk = images[i:i + bs]
        errs = bx.reconstruction_error(model, bx.inputs(chunk))
        out.extend(judge_ood(float(e), limit) for e in errs)
    return out


def ood(image: LoadedImage, ctx: CheckContext) -> CheckResult:
    return ood_batch([image], ctx)[0]

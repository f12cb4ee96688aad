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

Relative to normal references: with the option ``normal_reference`` (a folder of real chest
films without the findings, e.g. your normal controls), ``xrv.pathology`` scores those films
once per run and adds, per requested finding, ``reference_rate`` (fraction of normal films the
model already calls positive: the check's false-positive rate on your domain) and
``reference_percentile`` (where the generated image's calibrated score falls among the normal
films'). A finding that is "present" but scores no higher than most normal films is weak
evidence; the reason says so.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..backbones import load_once
from ..terms import find_terms, load_json
from ..types import CheckResult, LoadedImage
from . import CheckContext

log = logging.getLogger(__name__)

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


@dataclass(frozen=True)
class NormalReference:
    """Calibrated scores (M, K) and presence flags (M, K) of M normal reference films."""

    score: np.ndarray
    present: np.ndarray

    def rate(self, k: int) -> float:
        """Fraction of normal films where finding ``k`` is present."""
        return float(self.present[:, k].mean())

    def percentile(self, k: int, value: float) -> float:
        """Percent of normal films whose score for finding ``k`` is below ``value`` (ties half)."""
        col = self.score[:, k]
        return float(100.0 * ((col < value).mean() + 0.5 * (col == value).mean()))


def judge_pathology(prompt: str, labels: Sequence[str], score: np.ndarray, present: np.ndarray,
                    task: str = "", reference: NormalReference | None = None) -> CheckResult:
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
        note = ""
        if reference is not None and len(reference.score):
            idx = {r: labels.index(r) for r in req}
            extra["reference_rate"] = {r: round(reference.rate(k), 4) for r, k in idx.items()}
            extra["reference_percentile"] = {r: round(reference.percentile(k, float(score[k])), 1)
                                             for r, k in idx.items()}
            weak = [r for r in req if r in found and extra["reference_percentile"][r] < 50.0]
            if weak:
                note = f" (but scored below the median of {len(reference.score)} normal films: {', '.join(weak)})"
        if missing:
            return CheckResult.judge(name, value, False, f"requested {', '.join(req)}; not found: "
                                     f"{', '.join(missing)}", **extra)
        return CheckResult.judge(name, value, True, f"requested {', '.join(req)}: present{note}", **extra)
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
    ref = _normal_reference(ctx, model, variant)
    return [judge_pathology(im.meta.prompt, labels, s, p, im.meta.task, ref)
            for im, s, p in zip(images, score, present)]


def _normal_reference(ctx: CheckContext, model: Any, variant: str) -> NormalReference | None:
    """Scores of the ``normal_reference`` films (option), computed once per run."""
    folder = ctx.config.option("xrv.pathology", "normal_reference", None)
    if not folder:
        return None

    def build() -> NormalReference:
        from ..backbones import xrv as bx
        from ..io import LoadError, discover, load_image

        logits: list[np.ndarray] = []
        metas = [m for m in discover(folder, hash_files=False) if not m.refused]
        bs = max(1, ctx.config.batch_size)
        for i in range(0, len(metas), bs):
            chunk = []
            for m in metas[i:i + bs]:
                try:
                    chunk.append(load_image(m, ctx.config))
                except LoadError as exc:
                    log.warning("normal reference %s skipped: %s", m.path, exc)
            if chunk:
                logits.append(bx.densenet_logits(model, bx.inputs(chunk)))
        if not logits:
            raise ValueError(f"xrv.pathology normal_reference {folder!r} holds no decodable image")
        score, present = bx.pathology_scores(np.concatenate(logits), bx.op_thresholds(variant))
        log.info("xrv.pathology: %d normal reference films scored", len(score))
        return NormalReference(np.nan_to_num(score, nan=0.0), present)

    return ctx.model(f"xrv.pathology.normal_reference:{folder}", build)


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

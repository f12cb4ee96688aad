"""Classifier-based checks: ``modality.match``, ``region.match``, ``view.match``, ``us.obstetric``.

Whichever classifier is configured answers (``EvalConfig.options["classify"]``):

- ``backend``: ``"clip"`` (default: CLIP zero-shot, BiomedCLIP unless ``model`` says otherwise)
  or ``"gallery"`` (the reference-gallery k-NN classifier; chosen automatically when a
  ``gallery`` is given). Backends are data in :data:`BACKENDS` (``module:factory`` taking
  ``(config, device)``).

Verdicts: the predicted class (argmax probability) is compared with what the manifest requested.
Where nothing was requested, the prediction is reported (``passed=None``) and, for the stage-0
inference checks, proposed in ``extra["infer"]`` when it is a vocabulary value (a prediction of
"photo of a printed exam" is reported, never inferred as a modality). A missing CLIP weight
raises :class:`anatscore.weights.WeightsMissingError` (the runner reports it once per run).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable, Sequence

from ..terms import find_terms, load_json
from ..types import CheckResult, LoadedImage
from ..vocab import MODALITIES, REGIONS, spine_region
from ..weights import WeightsMissingError
from . import CheckContext

log = logging.getLogger(__name__)

BACKENDS: dict[str, str] = {
    "clip": "anatscore.classify.clip_zeroshot:from_config",
    "gallery": "anatscore.classify.gallery:from_config",
}

#: Human names of the modality classes (for reasons).
MODALITY_NAMES: dict[str, str] = {
    **{k: v for k, v in MODALITIES.items()},
    "film_photo": "a photo of a printed exam / film",
    "illustration": "an illustration or painting",
    "photo": "a natural photograph",
}


def backend_name(ctx: CheckContext) -> str:
    opt = ctx.config.options.get("classify", {})
    return str(opt.get("backend") or ("gallery" if opt.get("gallery") else "clip"))


def classifier(ctx: CheckContext) -> Any:
    """The run's configured classifier, built once (``ctx.model``)."""
    from ..registry import resolve

    name = backend_name(ctx)
    if name not in BACKENDS:
        raise ValueError(f"unknown classify backend {name!r}; choose one of {', '.join(BACKENDS)}")
    missing = ctx.models.get(f"classifier-missing:{name}")
    if missing is not None:  # tried once this run: same message, no second load attempt or log
        raise WeightsMissingError(str(missing))
    def build() -> Any:
        clf = resolve(BACKENDS[name])(ctx.config, ctx.device)
        rec = getattr(clf, "record", "")
        if rec:
            from ..backbones import weights_fingerprint

            try:
                ctx.weights_used[rec] = weights_fingerprint(rec)
            except Exception:  # noqa: BLE001 - provenance is best effort; the model did load
                ctx.weights_used[rec] = "unknown"
        return clf

    try:
        return ctx.model(f"classifier:{name}", build)
    except WeightsMissingError as exc:
        ctx.models[f"classifier-missing:{name}"] = str(exc)
        log.warning("classifier checks will be not applicable this run: %s", exc)
        raise


def _supports(clf: Any, task: str) -> bool:
    try:
        return bool(clf.labels(task))
    except (KeyError, NotImplementedError, ValueError):
        return False


def _top(probs: dict[str, float]) -> tuple[str, float]:
    lab = max(probs, key=probs.__getitem__)
    return lab, probs[lab]


def _rounded(probs: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 4) for k, v in probs.items()}


def _run(images: Sequence[LoadedImage], ctx: CheckContext, task: str, name: str,
         judge: Callable[[LoadedImage, dict[str, float], str], CheckResult],
         skip: Callable[[LoadedImage], str] = lambda im: "") -> list[CheckResult]:
    """Classify the images that apply (``skip`` returns a not-applicable reason) and judge each."""
    results: list[CheckResult | None] = [None] * len(images)
    todo: list[int] = []
    for i, im in enumerate(images):
        why = skip(im)
        if why:
            results[i] = CheckResult.na(name, why)
        else:
            todo.append(i)
    if todo:
        try:
            clf = classifier(ctx)
        except WeightsMissingError as exc:
            return [r or CheckResult.na(name, f"weights not installed: {exc}") for r in results]
        if not _supports(clf, task):
            return [r or CheckResult.na(name, f"classifier {clf.name} does not answer {task!r}") for r in results]
        preds = clf.predict([images[i] for i in todo], task)
        for i, p in zip(todo, preds):
            results[i] = judge(images[i], p, clf.name)
    return [r for r in results if r is not None]


def requested(image: LoadedImage, field: str) -> str:
    """The manifest's (or file metadata's) value of ``field``; ``""`` when empty or when it was
    itself filled in by a classifier or an inference check (never compare a guess with itself)."""
    value = str(getattr(image.meta, field, "") or "")
    src = image.meta.inferred.get(field, "")
    if src and (src.startswith("classifier") or "." in src):
        return ""
    return value


def _single(batch: Callable[[list[LoadedImage], CheckContext], list[CheckResult]]):
    def single(image: LoadedImage, ctx: CheckContext) -> CheckResult:
        return batch([image], ctx)[0]

    return single


# -------------------------------------------------------------------------------- modality


def judge_modality(image: LoadedImage, probs: dict[str, float], source: str) -> CheckResult:
    name = "modality.match"
    pred, p = _top(probs)
    image.cache["predicted.modality"] = pred  # lets the radiograph-only classifier checks skip others
    extra: dict[str, Any] = {"predicted": pred, "probs": _rounded(probs), "classifier": source}
    want = requested(image, "modality")
    if not want:
        if pred in MODALITIES:
            extra["infer"] = {"modality": pred}
        return CheckResult(check=name, value=p, passed=None,
                           reason=f"no modality requested; predicted {MODALITY_NAMES.get(pred, pred)} ({p:.2f})",
                           extra=extra)
    ok = pred == want
    return CheckResult.judge(name, probs.get(want, 0.0), ok,
                             f"requested {MODALITY_NAMES.get(want, want)}, predicted "
                             f"{MODALITY_NAMES.get(pred, pred)} ({p:.2f})", **extra)


def modality_match_batch(images: list[LoadedImage], ctx: CheckContext) -> list[CheckResult]:
    return _run(images, ctx, "modality", "modality.match", judge_modality)


modality_match = _single(modality_match_batch)


# -------------------------------------------------------------------------------- region


def regions_agree(want: str, pred: str) -> bool:
    """Same region; ``spine`` (segment unspecified) agrees with any spine segment."""
    if want == pred:
        return True
    return spine_region(want) and spine_region(pred) and "spine" in (want, pred)


def judge_region(image: LoadedImage, probs: dict[str, float], source: str) -> CheckResult:
    name = "region.match"
    pred, p = _top(probs)
    extra: dict[str, Any] = {"predicted": pred, "probs": _rounded(probs), "classifier": source}
    want = requested(image, "region")
    if not want:
        if pred in REGIONS:
            extra["infer"] = {"region": pred}
        return CheckResult(check=name, value=p, passed=None,
                           reason=f"no region requested; predicted {pred} ({p:.2f})", extra=extra)
    ok = regions_agree(want, pred)
    return CheckResult.judge(name, probs.get(want, 0.0), ok, f"requested {want}, predicted {pred} ({p:.2f})",
                             **extra)


def _not_radiograph(im: LoadedImage) -> str:
    """Not-applicable reason for non-radiographs: the image's modality, or when unknown, the
    modality ``modality.match`` predicted for it earlier in stage 0."""
    m = im.meta.modality or im.cache.get("predicted.modality", "")
    return f"classified on radiographs only; image is {MODALITY_NAMES.get(m, m)}" if m and m != "xray" else ""


def region_match_batch(images: list[LoadedImage], ctx: CheckContext) -> list[CheckResult]:
    return _run(images, ctx, "region", "region.match", judge_region, _not_radiograph)


region_match = _single(region_match_batch)


# -------------------------------------------------------------------------------- view

_VIEW_CLASS = {"ap": "frontal", "pa": "frontal", "lateral": "lateral"}


def judge_view(image: LoadedImage, probs: dict[str, float], source: str) -> CheckResult:
    name = "view.match"
    pred, p = _top(probs)
    extra: dict[str, Any] = {"predicted": pred, "probs": _rounded(probs), "classifier": source}
    want = _VIEW_CLASS.get(requested(image, "view"), "")
    if not want:
        if pred == "lateral":  # AP vs PA is not decidable from appearance; only lateral is inferred
            extra["infer"] = {"view": "lateral"}
        return CheckResult(check=name, value=p, passed=None,
                           reason=f"no view requested; predicted {pred} ({p:.2f})", extra=extra)
    ok = pred == want
    return CheckResult.judge(name, probs.get(want, 0.0), ok, f"requested {want}, predicted {pred} ({p:.2f})",
                             **extra)


def view_match_batch(images: list[LoadedImage], ctx: CheckContext) -> list[CheckResult]:
    return _run(images, ctx, "view", "view.match", judge_view, _not_radiograph)


view_match = _single(view_match_batch)


# -------------------------------------------------------------------------------- ultrasound content

US_FILE = Path(__file__).resolve().parent.parent / "classify" / "prompts" / "us_content.json"


def requested_us_content(prompt: str) -> list[str]:
    """Ultrasound classes a prompt asks for ("fetal head" -> obstetric, "renal" -> kidney)."""
    terms = load_json(str(US_FILE))["request_terms"]
    return sorted({h.label for h in find_terms(prompt, terms, ("no", "without", "not")) if not h.negated})


def judge_us(image: LoadedImage, probs: dict[str, float], source: str) -> CheckResult:
    """Pass when the predicted content is what the prompt asked for; value = P(obstetric)."""
    name = "us.obstetric"
    pred, p = _top(probs)
    p_ob = float(probs.get("obstetric", 0.0))
    extra: dict[str, Any] = {"predicted": pred, "probs": _rounded(probs), "classifier": source}
    want = [w for w in requested_us_content(image.meta.prompt) if w in probs]
    if not want:
        return CheckResult(check=name, value=p_ob, passed=None,
                           reason=f"no organ requested; content looks {pred} ({p:.2f})", extra=extra)
    extra["requested"] = want
    if pred in want:
        return CheckResult.judge(name, p_ob, True, f"requested {'/'.join(want)}, looks {pred} ({p:.2f})", **extra)
    if pred == "obstetric":
        why = f"requested {'/'.join(want)}, but the image looks obstetric/fetal ({p:.2f})"
    else:
        why = f"requested {'/'.join(want)}, looks {pred} ({p:.2f})"
    return CheckResult.judge(name, p_ob, False, why, **extra)


def us_obstetric_batch(images: list[LoadedImage], ctx: CheckContext) -> list[CheckResult]:
    return _run(images, ctx, "us_content", "us.obstetric", judge_us)


us_obstetric = _single(us_obstetric_batch)

"""CLIP zero-shot classifier and the classifier-based checks.

Random-weight open_clip models (a tiny registered config) for the machinery; a fixed fake
classifier for the verdict logic. Real-weight accuracy: benchmarks/clip_zeroshot_accuracy.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np
import pytest

from anatscore.checks import CheckContext
from anatscore.checks import classify_match as cm
from anatscore.classify import clip_zeroshot as cz
from anatscore.config import EvalConfig
from anatscore.types import ImageMeta, LoadedImage
from anatscore.vocab import MODALITIES, REGIONS
from anatscore.weights import WeightsMissingError

TINY = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "head_width": 16, "patch_size": 16},
    "text_cfg": {"context_length": 32, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> cz.ClipZeroShot:
    import open_clip
    import torch

    d = tmp_path_factory.mktemp("clipcfg")
    (d / "anatscore-tiny-zs.json").write_text(json.dumps(TINY))
    open_clip.add_model_config(d / "anatscore-tiny-zs.json")
    torch.manual_seed(0)
    cfg = EvalConfig(device="cpu", batch_size=2,
                     options={"classify": {"model": "anatscore-tiny-zs", "pretrained": "random"}})
    return cz.from_config(cfg)


def _img(i: int = 0, modality: str = "", region: str = "", view: str = "", prompt: str = "",
         inferred: dict | None = None) -> LoadedImage:
    rng = np.random.default_rng(i)
    meta = ImageMeta(image_id=f"i{i}", path=f"i{i}.png", modality=modality, region=region, view=view,
                     prompt=prompt, inferred=dict(inferred or {}))
    return LoadedImage(meta=meta, grey=rng.random((48, 40), dtype=np.float32))


# ---------------------------------------------------------------------------------- prompt data


def test_prompt_files_cover_the_vocabulary() -> None:
    assert set(cz.load_prompts("region")) == set(REGIONS)
    mod = cz.load_prompts("modality")
    assert set(MODALITIES) <= set(mod) and {"film_photo", "illustration", "photo"} <= set(mod)
    assert list(cz.load_prompts("view")) == ["frontal", "lateral"]
    us = cz.load_prompts("us_content")
    terms = json.loads((cz.PROMPTS_DIR / "us_content.json").read_text())["request_terms"]
    assert set(terms) == set(us) and "obstetric" in us
    for task in cz.TASK_FILES:
        assert all(len(p) >= 2 for p in cz.load_prompts(task).values()), task
    with pytest.raises(KeyError):
        cz.load_prompts("nonsense")


def test_ensemble_and_softmax_known_answers() -> None:
    t = np.array([[1, 0], [0, 1], [-1, 0]], np.float32)
    e = cz.ensemble(t, [2, 1])
    np.testing.assert_allclose(e, [[np.sqrt(0.5), np.sqrt(0.5)], [-1, 0]], atol=1e-6)
    p = cz.softmax_probs(np.array([[1.0, 0.0]]), np.array([[1.0, 0.0], [0.0, 1.0]]), scale=np.log(3.0))
    np.testing.assert_allclose(p, [[0.75, 0.25]], atol=1e-9)  # e^{ln 3} : e^0 = 3 : 1


@pytest.mark.parametrize("prompt,want", [
    ("ultrasound of the liver", ["liver"]),
    ("fetal head ultrasound at 20 weeks", ["obstetric"]),
    ("renal ultrasound, no fetus", ["kidney"]),
    ("an ultrasound image", []),
])
def test_requested_us_content(prompt: str, want: list) -> None:
    assert cm.requested_us_content(prompt) == want


# ---------------------------------------------------------------------------------- classifier machinery


def test_predict_probabilities_and_batch_invariance(tiny: cz.ClipZeroShot) -> None:
    imgs = [_img(i) for i in range(3)]
    batched = tiny.predict(imgs, "modality")
    single = [tiny.predict([_img(i)], "modality")[0] for i in range(3)]
    assert list(batched[0]) == list(cz.load_prompts("modality"))
    for a, b in zip(batched, single):
        assert sum(a.values()) == pytest.approx(1.0, abs=1e-5)
        np.testing.assert_allclose(list(a.values()), list(b.values()), atol=1e-5)
    assert all(f"embedding:{tiny.name}" in im.cache for im in imgs)


def test_text_embeddings_computed_once_per_task(tiny: cz.ClipZeroShot, monkeypatch: pytest.MonkeyPatch) -> None:
    from anatscore.backbones import clip

    calls: list[int] = []
    real = clip.embed_texts

    def counting(*a, **k):  # type: ignore[no-untyped-def]
        calls.append(1)
        return real(*a, **k)

    monkeypatch.setattr(clip, "embed_texts", counting)
    tiny._classes.pop("view", None)
    for i in range(3):
        tiny.predict([_img(i)], "view")
    assert len(calls) == 1


def test_class_embedding_is_prompt_mean(tiny: cz.ClipZeroShot) -> None:
    from anatscore.backbones import clip

    labels, emb = tiny._task("view")
    prompts = cz.load_prompts("view")
    ref = clip.embed_texts(tiny.model, tiny.tokenizer, prompts["lateral"]).mean(axis=0)
    np.testing.assert_allclose(emb[labels.index("lateral")], ref / np.linalg.norm(ref), atol=1e-5)


def test_custom_prompt_folder(tiny: cz.ClipZeroShot, tmp_path: Path) -> None:
    (tmp_path / "view.json").write_text(json.dumps({"task": "view", "classes": {"a": ["x"], "b": ["y", "z"]}}))
    clf = cz.ClipZeroShot(tiny.model, tiny.preprocess, tiny.tokenizer, "tiny", prompts_dir=tmp_path)
    assert list(clf.predict([_img()], "view")[0]) == ["a", "b"]


# ---------------------------------------------------------------------------------- check verdicts


class FakeClassifier:
    """Returns fixed probabilities per task (the verdict logic under test, not a model)."""

    name = "fake"

    def __init__(self, top: dict[str, str]) -> None:
        self.top = top

    def labels(self, task: str) -> Sequence[str]:
        if task not in self.top:
            raise KeyError(task)
        return list(cz.load_prompts(task))

    def predict(self, images: Sequence[LoadedImage], task: str) -> list[dict[str, float]]:
        labels = self.labels(task)
        p = {lab: 0.1 / (len(labels) - 1) for lab in labels}
        p[self.top[task]] = 0.9
        return [dict(p) for _ in images]


def _ctx(top: dict[str, str]) -> CheckContext:
    ctx = CheckContext(config=EvalConfig(device="cpu"))
    ctx.models["classifier:clip"] = FakeClassifier(top)
    return ctx


def test_modality_match_verdicts() -> None:
    ctx = _ctx({"modality": "film_photo"})
    r = cm.modality_match(_img(modality="ct"), ctx)
    assert r.passed is False and "photo of a printed exam" in r.reason and r.extra["predicted"] == "film_photo"
    r = cm.modality_match(_img(), ctx)
    assert r.passed is None and "infer" not in r.extra  # a failure class is never inferred
    ctx = _ctx({"modality": "ct"})
    assert cm.modality_match(_img(modality="ct"), ctx).passed is True
    r = cm.modality_match(_img(), ctx)
    assert r.passed is None and r.extra["infer"] == {"modality": "ct"}
    # a value a classifier filled in earlier is not a request
    r = cm.modality_match(_img(modality="xray", inferred={"modality": "classifier:gallery"}), ctx)
    assert r.passed is None
    assert cm.modality_match(_img(modality="xray", inferred={"modality": "dicom"}), ctx).passed is False


def test_region_and_view_verdicts() -> None:
    ctx = _ctx({"region": "lumbar_spine", "view": "lateral"})
    assert cm.region_match(_img(region="spine"), ctx).passed is True
    r = cm.region_match(_img(region="knee"), ctx)
    assert r.passed is False and "requested knee, predicted lumbar_spine" in r.reason
    assert cm.region_match(_img(region="thoracic_spine"), ctx).passed is False
    assert cm.region_match(_img(modality="us", region="knee"), ctx).passed is None
    assert cm.view_match(_img(view="pa"), ctx).passed is False
    assert cm.view_match(_img(view="lateral"), ctx).passed is True
    assert cm.view_match(_img(), ctx).extra["infer"] == {"view": "lateral"}


def test_us_obstetric_verdicts() -> None:
    ctx = _ctx({"us_content": "obstetric"})
    r = cm.us_obstetric(_img(modality="us", prompt="an ultrasound of the liver"), ctx)
    assert r.passed is False and "looks obstetric" in r.reason and r.value == pytest.approx(0.9)
    assert cm.us_obstetric(_img(modality="us", prompt="fetal ultrasound"), ctx).passed is True
    assert cm.us_obstetric(_img(modality="us", prompt="an ultrasound"), ctx).passed is None
    ctx = _ctx({"us_content": "kidney"})
    r = cm.us_obstetric(_img(modality="us", prompt="renal ultrasound"), ctx)
    assert r.passed is True and r.value == pytest.approx(0.1 / 9)


def test_unsupported_task_is_not_applicable() -> None:
    ctx = _ctx({"modality": "xray"})  # no us_content support, like a gallery without labels for it
    r = cm.us_obstetric_batch([_img(modality="us", prompt="liver")], ctx)[0]
    assert r.passed is None and "does not answer" in r.reason


def test_batched_checks_equal_single(tiny: cz.ClipZeroShot) -> None:
    ctx = CheckContext(config=EvalConfig(device="cpu"))
    ctx.models["classifier:clip"] = tiny
    imgs = [_img(i, modality="xray") for i in range(3)]
    batched = cm.region_match_batch(imgs, ctx)
    single = [cm.region_match(_img(i, modality="xray"), ctx) for i in range(3)]
    assert [r.extra["predicted"] for r in batched] == [r.extra["predicted"] for r in single]


def test_missing_clip_weights_give_one_actionable_message(caplog: pytest.LogCaptureFixture) -> None:
    ctx = CheckContext(config=EvalConfig(device="cpu"))
    with pytest.raises(WeightsMissingError, match="biomedclip"):
        cm.classifier(ctx)
    rows = cm.modality_match_batch([_img(0), _img(1)], ctx) + cm.region_match_batch([_img(2)], ctx)
    assert all(r.passed is None and r.reason.startswith("weights not installed") and "biomedclip" in r.reason
               for r in rows)
    assert sum("not applicable this run" in m for m in caplog.messages) == 1


def test_backend_selection() -> None:
    assert cm.backend_name(CheckContext(config=EvalConfig())) == "clip"
    cfg = EvalConfig(options={"classify": {"gallery": "refs/"}})
    assert cm.backend_name(CheckContext(config=cfg)) == "gallery"
    ctx = CheckContext(config=EvalConfig(options={"classify": {"backend": "nope"}}))
    with pytest.raises(ValueError, match="unknown classify backend"):
        cm.classifier(ctx)


def test_region_skips_images_predicted_non_radiograph_in_stage_0() -> None:
    ctx = _ctx({"modality": "us", "region": "knee"})
    im = _img()  # modality unknown: modality.match runs first in stage 0
    assert cm.modality_match(im, ctx).extra["infer"] == {"modality": "us"}
    r = cm.region_match(im, ctx)
    assert r.passed is None and "ultrasound" in r.reason and "infer" not in r.extra

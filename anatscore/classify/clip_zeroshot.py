"""CLIP zero-shot classifier (open_clip; BiomedCLIP by default) for modality, region, view and
ultrasound content.

Each task's classes and prompt ensembles are data (``anatscore/classify/prompts/<task>.json``).
A class's text embedding is the mean of its prompts' L2-normalised embeddings, re-normalised
(prompt ensembling, Radford et al. 2021). Class probabilities are
``softmax(s * <image, class>)`` with ``s`` the model's learned logit scale (capped at 100).
Text embeddings are computed once per task per classifier instance (one instance per run,
through ``ctx.model``); image embeddings once per image (memoised in ``LoadedImage.cache``).

Options (``EvalConfig.options["classify"]``): ``model`` (default BiomedCLIP), ``pretrained``
(tag or checkpoint file), ``record`` (weights record), ``prompts`` (a folder of task JSON files
replacing the packaged ones).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..config import EvalConfig
from ..terms import load_json
from ..types import LoadedImage

PROMPTS_DIR = Path(__file__).with_name("prompts")
TASK_FILES = ("modality", "region", "view", "us_content")


def load_prompts(task: str, folder: Path | str | None = None) -> dict[str, list[str]]:
    """``{class: [prompt, ...]}`` of ``task`` from ``folder`` (default: the packaged prompts)."""
    path = Path(folder or PROMPTS_DIR) / f"{task}.json"
    if not path.is_file():
        raise KeyError(f"no prompts for task {task!r} ({path} is missing)")
    data = load_json(str(path))
    classes = data["classes"]
    if not classes or any(not v for v in classes.values()):
        raise ValueError(f"{path}: every class needs at least one prompt")
    return {k: list(v) for k, v in classes.items()}


def ensemble(text_emb: np.ndarray, counts: Sequence[int]) -> np.ndarray:
    """Per-class mean of consecutive prompt embeddings (``counts`` per class), re-normalised."""
    out, i = [], 0
    for n in counts:
        v = text_emb[i:i + n].mean(axis=0)
        out.append(v / max(float(np.linalg.norm(v)), 1e-12))
        i += n
    return np.stack(out).astype(np.float32)


def softmax_probs(image_emb: np.ndarray, class_emb: np.ndarray, scale: float) -> np.ndarray:
    """``softmax(scale * image_emb @ class_emb.T)`` row-wise, (N, K)."""
    z = scale * (image_emb @ class_emb.T)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


class ClipZeroShot:
    """Zero-shot classifier implementing :class:`anatscore.classify.Classifier`."""

    def __init__(self, model: Any, preprocess: Any, tokenizer: Any, model_id: str,
                 prompts_dir: Path | str | None = None, batch_size: int = 32, record: str = "") -> None:
        self.record = record  # weights record the model came from ("" for files / random)
        self.model = model
        self.preprocess = preprocess
        self.tokenizer = tokenizer
        self.name = f"clip:{model_id}"
        self.prompts_dir = prompts_dir
        self.batch_size = batch_size
        self._classes: dict[str, tuple[list[str], np.ndarray]] = {}

    @classmethod
    def from_config(cls, config: EvalConfig, device: str = "cpu") -> "ClipZeroShot":
        """Build from ``config.options["classify"]`` (model, pretrained, record, prompts)."""
        from ..backbones import clip

        opt = config.options.get("classify", {})
        model_name = str(opt.get("model", clip.DEFAULT_MODEL))
        pretrained = str(opt.get("pretrained", ""))
        record = str(opt.get("record", ""))
        bundle = clip.load(model_name, pretrained, device, record=record)
        model_id = model_name + (f"@{pretrained}" if pretrained else "")
        used = "" if pretrained == clip.RANDOM or Path(pretrained).is_file() else (record or clip.record_for(model_name, pretrained))
        return cls(*bundle, model_id=model_id, prompts_dir=opt.get("prompts"), batch_size=config.batch_size,
                   record=used)

    def _task(self, task: str) -> tuple[list[str], np.ndarray]:
        if task not in self._classes:
            from ..backbones import clip

            prompts = load_prompts(task, self.prompts_dir)
            labels = list(prompts)
            texts = [p for lab in labels for p in prompts[lab]]
            emb = clip.embed_texts(self.model, self.tokenizer, texts)
            self._classes[task] = (labels, ensemble(emb, [len(prompts[lab]) for lab in labels]))
        return self._classes[task]

    def labels(self, task: str) -> Sequence[str]:
        return list(load_prompts(task, self.prompts_dir))

    def embed(self, images: Sequence[LoadedImage]) -> np.ndarray:
        """Image embeddings (N, D), memoised per image under ``self.name``."""
        from ..backbones import clip

        key = f"embedding:{self.name}"
        todo = [im for im in images if key not in im.cache]
        if todo:
            emb = clip.embed_images(self.model, self.preprocess, todo, self.batch_size)
            for im, e in zip(todo, emb):
                im.cache[key] = e
        return np.stack([im.cache[key] for im in images])

    def predict(self, images: Sequence[LoadedImage], task: str) -> list[dict[str, float]]:
        from ..backbones import clip

        if not images:
            return []
        labels, class_emb = self._task(task)
        probs = softmax_probs(self.embed(images), class_emb, clip.logit_scale(self.model))
        return [{lab: float(p) for lab, p in zip(labels, row)} for row in probs]


def from_config(config: EvalConfig, device: str = "cpu") -> ClipZeroShot:
    """Factory used by :mod:`anatscore.checks.classify_match` (``classify.backend = "clip"``)."""
    return ClipZeroShot.from_config(config, device)

"""Image classifiers that predict modality, region, view and ultrasound content.

Two backends implement the same protocol: CLIP zero-shot (``anatscore.classify.clip_zeroshot``,
needs open_clip weights) and a reference-gallery k-NN classifier (``anatscore.classify.gallery``,
works with any feature extractor, including the offline Inception). Checks such as
``modality.match`` ask :func:`classifier_for` for whichever is configured.
"""

from __future__ import annotations

from typing import Protocol, Sequence

from ..types import LoadedImage

#: The questions a classifier can answer.
TASKS = ("modality", "region", "view", "us_content")


class Classifier(Protocol):
    """``predict`` returns, per image, class probabilities (summing to 1) for one task."""

    name: str

    def labels(self, task: str) -> Sequence[str]:
        ...

    def predict(self, images: Sequence[LoadedImage], task: str) -> list[dict[str, float]]:
        ...

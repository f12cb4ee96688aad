"""open_clip image embeddings ("clip" extractor), L2-normalised, as CMMD uses them.

A thin wrapper over :mod:`anatscore.backbones.clip` (network, eval transform and weights through
the weights manager). ``model_name`` / ``pretrained`` select the network: the default is the
CMMD paper's embedding, OpenAI CLIP ``ViT-L-14-336`` (``pretrained="openai"``); BiomedCLIP is
``model_name="hf-hub:microsoft/BiomedCLIP-PubMedBERT_256-vit_base_patch16_224", pretrained=""``
(weights record ``biomedclip``). CMMD values are comparable with papers only on the default.
Images reach the network as :func:`~anatscore.features.rgb_uint8` (grey replicated to RGB), then
the model's own open_clip eval transform (bicubic resize of the short side, centre crop, CLIP
mean/std). Tests inject a randomly initialised network (``model=`` and ``transform=``).
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

import numpy as np

from ..types import LoadedImage
from . import FeatureExtractor, rgb_uint8

DEFAULT_MODEL = "ViT-L-14-336"
DEFAULT_PRETRAINED = "openai"


class CLIPExtractor(FeatureExtractor):
    """L2-normalised open_clip image embeddings (``cmmd@clip``)."""

    name = "clip"

    def __init__(
        self,
        device: str = "cpu",
        model_name: str = DEFAULT_MODEL,
        pretrained: str = DEFAULT_PRETRAINED,
        model: Optional[Any] = None,
        transform: Optional[Callable[[Any], Any]] = None,
        batch_size: int = 16,
    ) -> None:
        from ..backbones import clip as bc

        self.model_name, self.pretrained = model_name, pretrained
        self.batch_size = max(1, int(batch_size))
        if model is None:
            bundle = bc.load(model_name, pretrained, device)
            model, transform = bundle.model, bundle.preprocess
            rec = bc.record_for(model_name, pretrained)
            if rec:
                from .. import weights

                self.weights_sha256 = weights.sha256_of(rec)
            else:
                self.weights_sha256 = f"open_clip:{model_name}:{pretrained}"
        else:
            self.weights_sha256 = f"injected:{type(model).__name__}"
        if transform is None:
            raise ValueError("an injected model needs its eval transform (transform=)")
        self.model, self.transform = model.to(device).eval(), transform
        self.dim = int(getattr(model, "embed_dim", 0) or self.extract([_probe()]).shape[1])

    def preprocessing(self) -> dict[str, Any]:
        return {
            "input": "rgb_uint8 (colour if chroma, else rint(grey*255) replicated x3)",
            "model": self.model_name,
            "pretrained": self.pretrained,
            "transform": repr(self.transform),
            "output": "encode_image, L2-normalised",
        }

    def extract(self, images: Sequence[LoadedImage]) -> np.ndarray:
        from ..backbones import clip as bc

        if not images:
            return np.zeros((0, self.dim), np.float32)
        return bc.embed_images(self.model, self.transform, [rgb_uint8(im) for im in images], self.batch_size)


def _probe() -> LoadedImage:
    from ..types import ImageMeta

    return LoadedImage(ImageMeta(image_id="probe", path="probe"), np.zeros((8, 8), np.float32))

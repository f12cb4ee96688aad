"""open_clip image embeddings ("clip" extractor), L2-normalised, as CMMD uses them.

Default model: ``ViT-L-14-336`` with OpenAI weights, the embedding of the CMMD paper
(Jayasumana et al. 2024); ``model_name`` selects any open_clip architecture (e.g. BiomedCLIP via
``hf-hub:microsoft/BiomedCLIP-PubMedBERT_256-vit_base_patch16_224`` where the hub is reachable).
Images reach the network as :func:`~anatscore.features.rgb_uint8` (grey replicated to RGB) and
then through the model's own open_clip evaluation transform (bicubic resize of the short side,
centre crop, CLIP mean/std normalisation).

Weights: ``weights=PATH`` (an open_clip checkpoint), or the weights manager's record
``clip-<model_name>``; tests inject a randomly initialised network (``model=``). When the models
engineer's :mod:`anatscore.backbones.clip` lands, loading moves there.
"""

from __future__ import annotations

import os
from typing import Any, Optional, Sequence, Union

import numpy as np

from ..types import LoadedImage
from . import FeatureExtractor, rgb_uint8, sha256_file

DEFAULT_MODEL = "ViT-L-14-336"


class CLIPExtractor(FeatureExtractor):
    """L2-normalised open_clip image embeddings (``cmmd@clip``)."""

    name = "clip"

    def __init__(
        self,
        device: str = "cpu",
        model_name: str = DEFAULT_MODEL,
        weights: Union[str, os.PathLike[str], None] = None,
        model: Optional[Any] = None,
        batch_size: int = 16,
    ) -> None:
        import open_clip

        self.device = device
        self.model_name = model_name
        self.batch_size = max(1, int(batch_size))
        if model is None:
            if weights is None:
                from .. import weights as wm

                weights = wm.local_path(f"clip-{model_name}")
            model = open_clip.create_model(model_name, pretrained=str(weights))
            self.weights_sha256 = sha256_file(str(weights))
        else:
            self.weights_sha256 = f"injected:{type(model).__name__}"
        visual = model.visual
        size = visual.image_size
        self.image_size = tuple(size) if isinstance(size, (tuple, list)) else (size, size)
        mean = getattr(visual, "image_mean", None)
        std = getattr(visual, "image_std", None)
        self.transform = open_clip.image_transform(self.image_size, is_train=False, mean=mean, std=std)
        self.model = model.to(device).eval()
        self.dim = int(getattr(model, "embed_dim", 0) or self._probe_dim())

    def _probe_dim(self) -> int:
        import torch

        with torch.inference_mode():
            x = torch.zeros((1, 3, *self.image_size), device=self.device)
            return int(self.model.encode_image(x).shape[-1])

    def preprocessing(self) -> dict[str, Any]:
        return {
            "input": "rgb_uint8 (colour if chroma, else rint(grey*255) replicated x3)",
            "model": self.model_name,
            "transform": f"open_clip eval transform {self.image_size} (bicubic resize, centre crop, CLIP mean/std)",
            "output": "encode_image, L2-normalised",
        }

    def extract(self, images: Sequence[LoadedImage]) -> np.ndarray:
        import torch
        from PIL import Image

        out = []
        with torch.inference_mode():
            for i in range(0, len(images), self.batch_size):
                batch = [self.transform(Image.fromarray(rgb_uint8(im))) for im in images[i : i + self.batch_size]]
                emb = self.model.encode_image(torch.stack(batch).to(self.device)).double()
                out.append(torch.nn.functional.normalize(emb, dim=-1).cpu().numpy())
        return np.concatenate(out).astype(np.float32) if out else np.zeros((0, self.dim), np.float32)

"""torchxrayvision DenseNet-121 features ("xrv" extractor): 1024-d, domain-specific for radiographs.

A thin wrapper over :mod:`anatscore.backbones.xrv` (network loading through the weights manager,
record ``xrv-<variant>``, default ``densenet121-res224-all``). Preprocessing is torchxrayvision's
own contract as implemented there: grey [0, 1] mapped linearly to [-1024, 1024], centre crop to
the short side, antialiased resize to 224 x 224 (``XRayCenterCrop`` + ``XRayResizer``), memoised
per image so the xrv checks and this extractor share one preprocessing. Features are
``model.features2`` (ReLU + global average pool of the last dense block). Tests inject a randomly
initialised network (``model=``).
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

from ..types import LoadedImage
from . import FeatureExtractor

DIM = 1024


class XRVExtractor(FeatureExtractor):
    """1024-d torchxrayvision DenseNet-121 features (``fid@xrv``)."""

    name = "xrv"
    dim = DIM

    def __init__(self, device: str = "cpu", variant: str = "", model: Optional[Any] = None, batch_size: int = 16) -> None:
        from ..backbones import xrv as bx

        self.variant = variant or bx.DENSENET_VARIANT
        self.batch_size = max(1, int(batch_size))
        if model is None:
            from .. import weights

            model = bx.load_densenet(self.variant, device)
            self.weights_sha256 = weights.sha256_of(bx.densenet_record(self.variant))
        else:
            self.weights_sha256 = f"injected:{type(model).__name__}"
        self.model = model.to(device).eval()

    def preprocessing(self) -> dict[str, Any]:
        from ..backbones import xrv as bx

        return {
            "input": "grey float [0,1] -> 2048*g-1024",
            "crop": "XRayCenterCrop (short side)",
            "resize": f"{bx.CLASSIFIER_SIZE}x{bx.CLASSIFIER_SIZE} XRayResizer (skimage, antialiased)",
            "variant": self.variant,
            "output": "DenseNet.features2 (relu + global average pool)",
        }

    def extract(self, images: Sequence[LoadedImage]) -> np.ndarray:
        from ..backbones import xrv as bx

        out = [
            bx.densenet_features(self.model, bx.inputs(images[i : i + self.batch_size])).astype(np.float32)
            for i in range(0, len(images), self.batch_size)
        ]
        return np.concatenate(out) if out else np.zeros((0, DIM), np.float32)

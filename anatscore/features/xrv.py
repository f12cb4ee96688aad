"""torchxrayvision DenseNet-121 features ("xrv" extractor): 1024-d, domain-specific for radiographs.

Preprocessing is torchxrayvision's own contract: grey [0, 1] mapped linearly to [-1024, 1024]
(what ``xrv.datasets.normalize(img, 255)`` gives for 8-bit input), centre crop to a square,
resize to 224 x 224 with ``skimage.transform.resize`` (antialiased, ``mode="constant"``,
``preserve_range``) as ``xrv.datasets.XRayResizer`` does; features are ``model.features2``
(ReLU + global average pool of the last dense block).

Weights: a torchxrayvision ``DenseNet`` state_dict file (``weights=PATH``) or the weights manager's
record ``xrv-densenet121-res224-all``; tests inject a randomly initialised network (``model=``).
When the models engineer's :mod:`anatscore.backbones.xrv` lands, loading moves there.
"""

from __future__ import annotations

import os
from typing import Any, Optional, Sequence, Union

import numpy as np

from ..types import LoadedImage
from . import FeatureExtractor, sha256_file

SIZE = 224
DIM = 1024
WEIGHTS_RECORD = "xrv-densenet121-res224-all"


def preprocess(grey: np.ndarray) -> np.ndarray:
    """(1, 224, 224) float32 in [-1024, 1024] from a grey image in [0, 1]."""
    from skimage.transform import resize

    g = (np.clip(np.nan_to_num(np.asarray(grey, np.float32)), 0.0, 1.0) * 2.0 - 1.0) * 1024.0
    h, w = g.shape
    s = min(h, w)
    top, left = (h - s) // 2, (w - s) // 2
    g = g[top : top + s, left : left + s]
    return resize(g[None], (1, SIZE, SIZE), mode="constant", preserve_range=True, anti_aliasing=True).astype(np.float32)


class XRVExtractor(FeatureExtractor):
    """1024-d torchxrayvision DenseNet-121 features (``fid@xrv``)."""

    name = "xrv"
    dim = DIM

    def __init__(
        self,
        device: str = "cpu",
        weights: Union[str, os.PathLike[str], None] = None,
        model: Optional[Any] = None,
        batch_size: int = 16,
    ) -> None:
        import torch

        self.device = device
        self.batch_size = max(1, int(batch_size))
        if model is None:
            import torchxrayvision as xrv

            if weights is None:
                from .. import weights as wm

                weights = wm.local_path(WEIGHTS_RECORD)
            model = xrv.models.DenseNet(weights=None)
            model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
            self.weights_sha256 = sha256_file(str(weights))
        else:
            self.weights_sha256 = f"injected:{type(model).__name__}"
        self.model = model.to(device).eval()

    def preprocessing(self) -> dict[str, Any]:
        return {
            "input": "grey float [0,1] -> [-1024,1024]",
            "crop": "centre square",
            "resize": f"{SIZE}x{SIZE} skimage.transform.resize anti_aliasing=True mode=constant",
            "output": "DenseNet.features2 (relu + global average pool)",
        }

    def extract(self, images: Sequence[LoadedImage]) -> np.ndarray:
        import torch

        out = []
        with torch.inference_mode():
            for i in range(0, len(images), self.batch_size):
                x = torch.from_numpy(np.stack([preprocess(im.grey) for im in images[i : i + self.batch_size]]))
                out.append(self.model.features2(x.to(self.device)).double().cpu().numpy())
        return np.concatenate(out).astype(np.float32) if out else np.zeros((0, DIM), np.float32)

"""Feature extractors for set-level realism metrics (registered in ``registry.EXTRACTORS``).

Every extractor turns a batch of :class:`~anatscore.types.LoadedImage` into an ``(n, dim)``
float32 array, computed once per image and shared by every metric of a run.

**How images reach RGB networks** (``inception``, ``clip``; stated once, used by all): the
decoded image is brought to 8 bits and three channels by :func:`rgb_uint8`:

- if the decoder kept a colour array with real chroma (channels differ anywhere), that array is
  used as is (uint8 RGB, as decoded);
- otherwise the grey image (float32 in [0, 1], bright = dense) is quantised to uint8 as
  ``rint(clip(grey, 0, 1) * 255)`` (round half to even) and replicated to R = G = B.

So an 8-bit grey PNG reaches the network with exactly the values ``PIL.Image.convert("RGB")``
gives (what pytorch-fid and clean-fid read), and a 16-bit radiograph is reduced to 8 bits once,
the same way for real and generated images. Each extractor then states its own resize and
normalisation in :meth:`FeatureExtractor.preprocessing`, which is part of every cache key.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from typing import Any, Optional, Sequence

import numpy as np

from ..types import LoadedImage

#: Bumped whenever any extractor's output for the same input could change; part of cache keys.
FEATURES_VERSION = "1"


def quantise(grey: np.ndarray) -> np.ndarray:
    """float [0, 1] -> uint8 by ``rint(clip(x, 0, 1) * 255)`` (NaN -> 0)."""
    g = np.nan_to_num(np.asarray(grey, np.float32), nan=0.0)
    return np.rint(np.clip(g, 0.0, 1.0) * 255.0).astype(np.uint8)


def has_chroma(colour: Optional[np.ndarray]) -> bool:
    """Whether a uint8 (H, W, 3) array carries colour (any pixel with R, G, B not all equal)."""
    if colour is None or colour.ndim != 3 or colour.shape[2] < 3:
        return False
    c = colour[..., :3]
    return bool(np.any(c[..., 0] != c[..., 1]) or np.any(c[..., 1] != c[..., 2]))


def rgb_uint8(image: LoadedImage) -> np.ndarray:
    """(H, W, 3) uint8 as fed to every RGB network: colour if it has chroma, else grey x 3."""
    if has_chroma(image.colour):
        return np.array(image.colour[..., :3], dtype=np.uint8, order="C")  # type: ignore[index]
    g = quantise(image.grey)
    return np.repeat(g[:, :, None], 3, axis=2)


def sha256_file(path: str, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


class FeatureExtractor(ABC):
    """Base class: ``extract(images) -> (n, dim) float32``; subclasses set ``name`` and ``dim``.

    Attributes:
        name: registry name (``inception``), the ``@extractor`` suffix in ``metrics.json``.
        dim: feature dimension.
        feature_names: one name per column for interpretable extractors (``radiomic``), else None.
        standardize: metrics divide each feature by its standard deviation over both compared
            sets first (hand-made features in mixed units); False for network embeddings.
        weights_sha256: hash of the weight file used ("" for weight-free extractors).
    """

    name: str = ""
    dim: int = 0
    feature_names: Optional[tuple[str, ...]] = None
    standardize: bool = False
    weights_sha256: str = ""

    @abstractmethod
    def preprocessing(self) -> dict[str, Any]:
        """Plain-data statement of the input conventions (resize, range, channels)."""

    @abstractmethod
    def extract(self, images: Sequence[LoadedImage]) -> np.ndarray:
        """Features of ``images`` as an (n, dim) float32 array, row i for images[i]."""

    def identity(self) -> dict[str, Any]:
        """Everything that determines the features of a given image (for cache keys / files)."""
        return {
            "extractor": self.name,
            "dim": self.dim,
            "features_version": FEATURES_VERSION,
            "preprocessing": self.preprocessing(),
            "weights_sha256": self.weights_sha256,
        }

    def fingerprint(self) -> str:
        """sha256 of :meth:`identity` (stable JSON)."""
        return hashlib.sha256(json.dumps(self.identity(), sort_keys=True).encode()).hexdigest()


def build_extractor(name: str, device: str = "cpu", **options: Any) -> FeatureExtractor:
    """The registered extractor ``name`` (see ``anatscore list``) built on ``device``."""
    from ..registry import EXTRACTORS, resolve

    for spec in EXTRACTORS:
        if spec.name == name:
            return resolve(spec.target)(device=device, **options)
    known = ", ".join(s.name for s in EXTRACTORS)
    raise KeyError(f"unknown feature extractor {name!r}; registered: {known}")

"""open_clip models (BiomedCLIP by default): loading through the weights manager, embeddings.

Model selection (the ``model`` / ``pretrained`` options of the CLIP checks and extractor):

- ``model="hf-hub:microsoft/BiomedCLIP-PubMedBERT_256-vit_base_patch16_224"`` (default) with
  ``pretrained=""``: BiomedCLIP from the weights record ``biomedclip``, a cached folder holding
  open_clip's ``open_clip_config.json`` and weights (loaded as ``local-dir:``). BiomedCLIP's text
  tower and tokenizer are PubMedBERT, which open_clip builds with the ``transformers`` package
  (``pip install anatscore[biomedclip]``).
- any open_clip architecture name and pretrained tag, e.g. ``model="ViT-B-32",
  pretrained="laion2b_s34b_b79k"``: the record from :data:`RECORDS` when there is one, else
  open_clip's own pretrained mechanism (needs a connection or its populated cache).
- ``pretrained="/path/to/checkpoint.pt"`` (an existing file) or ``model="local-dir:/path"``: a
  local checkpoint, used as is.
- ``pretrained="random"``: random initialisation (tests only; never a default).

Image preprocessing is open_clip's own eval transform for the model (resize shortest side to
224 bicubic, centre crop, the model's mean/std); images are given to it as 8-bit RGB, the
decoded colour when the file had colour (colour cast matters for "photo of a film"), else the
grey image replicated. Embeddings are L2-normalised float32, so ``a @ b.T`` is cosine similarity.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable, NamedTuple, Sequence, Union

import numpy as np

log = logging.getLogger(__name__)

DEFAULT_MODEL = "hf-hub:microsoft/BiomedCLIP-PubMedBERT_256-vit_base_patch16_224"
RANDOM = "random"

#: (model, pretrained tag) -> weights record name in ``models/weights/``.
RECORDS: dict[tuple[str, str], str] = {
    (DEFAULT_MODEL, ""): "biomedclip",
    ("ViT-B-32", "laion2b_s34b_b79k"): "clip-vit-b-32-laion2b",
    ("ViT-B-32", "openai"): "clip-vit-b-32-openai",
    ("ViT-L-14-336", "openai"): "clip-vit-l-14-336-openai",  # CMMD's embedding (realism `clip`)
}


class ClipBundle(NamedTuple):
    """``(model, preprocess, tokenizer)`` as returned by :func:`load`; unpacks like a tuple."""

    model: Any
    preprocess: Callable[[Any], Any]
    tokenizer: Callable[..., Any]


def record_for(model_name: str, pretrained: str = "") -> str:
    """The weights record serving ``(model_name, pretrained)``, or ``""`` when none does."""
    return RECORDS.get((model_name, pretrained or ""), "")


def _create(model_name: str, pretrained: str | None, device: str) -> ClipBundle:
    import open_clip

    model, _, preprocess = open_clip.create_model_and_transforms(model_name, pretrained=pretrained,
                                                                 device=device)
    tokenizer = open_clip.get_tokenizer(model_name)
    model.eval()
    return ClipBundle(model, preprocess, tokenizer)


def load(model_name: str = DEFAULT_MODEL, pretrained: str = "", device: str = "cpu",
         record: str = "") -> ClipBundle:
    """Build an open_clip model with its eval transform and tokenizer (see module docstring).

    Args:
        model_name: open_clip architecture name, ``hf-hub:org/repo`` or ``local-dir:/path``.
        pretrained: pretrained tag, a checkpoint file path, ``""`` (the record's weights) or
            ``"random"``.
        device: torch device string.
        record: weights record to use instead of the :data:`RECORDS` lookup.

    Raises:
        anatscore.weights.WeightsMissingError: the weights are not installed (the message names
            the command that installs them).
    """
    from .. import weights

    if pretrained == RANDOM:
        if model_name.startswith(("hf-hub:", "local-dir:")):
            raise ValueError("random initialisation needs a built-in open_clip architecture name")
        return _create(model_name, None, device)
    if model_name.startswith("local-dir:") or (pretrained and Path(pretrained).is_file()):
        return _create(model_name, pretrained or None, device)
    rec = record or record_for(model_name, pretrained)
    if rec:
        path = weights.local_path(rec)  # WeightsMissingError names the fix
        if path.is_dir():
            return _create(f"local-dir:{path}", None, device)
        name = model_name
        if name.startswith("hf-hub:"):
            raise weights.WeightsMissingError(
                f"weights record {rec!r} must be a folder with open_clip_config.json for {model_name}")
        return _create(name, str(path), device)
    if not pretrained and not model_name.startswith("hf-hub:"):
        raise ValueError(f"open_clip model {model_name!r} needs a pretrained tag, a checkpoint file "
                         f"or pretrained='random'")
    try:
        return _create(model_name, pretrained or None, device)
    except Exception as exc:  # noqa: BLE001 - open_clip/hub errors become one actionable message
        raise weights.WeightsMissingError(
            f"cannot load open_clip {model_name!r} pretrained={pretrained!r} ({exc.__class__.__name__}: "
            f"{exc}); offline, pass a local checkpoint file as pretrained= or a local-dir: model"
        ) from exc


ImageLike = Union[np.ndarray, "PIL.Image.Image", Any]  # noqa: F821


def to_pil(image: ImageLike) -> "PIL.Image.Image":  # noqa: F821
    """An 8-bit RGB PIL image from a LoadedImage (colour if decoded, else grey), a grey float
    array in [0, 1], a uint8 (H, W[, 3]) array, or a PIL image."""
    from PIL import Image

    if isinstance(image, Image.Image):
        return image.convert("RGB")
    colour = getattr(image, "colour", None)
    if colour is not None:
        return Image.fromarray(np.asarray(colour, dtype=np.uint8)).convert("RGB")
    arr = getattr(image, "grey", image)
    arr = np.asarray(arr)
    if arr.dtype != np.uint8:
        arr = (np.clip(arr.astype(np.float32), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=2)
    return Image.fromarray(arr[..., :3]).convert("RGB")


def _device_of(model: Any) -> Any:
    return next(model.parameters()).device


def embed_images(model: Any, preprocess: Callable[[Any], Any], images: Sequence[ImageLike],
                 batch_size: int = 32) -> np.ndarray:
    """L2-normalised image embeddings (N, D) float32."""
    import torch

    dev = _device_of(model)
    out: list[np.ndarray] = []
    for i in range(0, len(images), batch_size):
        x = torch.stack([preprocess(to_pil(im)) for im in images[i:i + batch_size]]).to(dev)
        with torch.inference_mode():
            f = model.encode_image(x).float()
        out.append(torch.nn.functional.normalize(f, dim=-1).cpu().numpy())
    return np.concatenate(out).astype(np.float32) if out else np.zeros((0, 0), np.float32)


def embed_texts(model: Any, tokenizer: Callable[..., Any], texts: Sequence[str],
                batch_size: int = 256) -> np.ndarray:
    """L2-normalised text embeddings (N, D) float32."""
    import torch

    dev = _device_of(model)
    out: list[np.ndarray] = []
    for i in range(0, len(texts), batch_size):
        tokens = tokenizer(list(texts[i:i + batch_size])).to(dev)
        with torch.inference_mode():
            f = model.encode_text(tokens).float()
        out.append(torch.nn.functional.normalize(f, dim=-1).cpu().numpy())
    return np.concatenate(out).astype(np.float32) if out else np.zeros((0, 0), np.float32)


def logit_scale(model: Any) -> float:
    """The model's learned temperature ``exp(logit_scale)`` (100 for OpenAI CLIP), clamped to 100."""
    s = getattr(model, "logit_scale", None)
    if s is None:
        return 100.0
    return float(min(float(np.exp(float(s.detach().cpu()))), 100.0))

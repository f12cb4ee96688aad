"""torchxrayvision networks and their exact preprocessing contract.

Every torchxrayvision model was trained on images prepared the same way, and this module
reproduces that pipeline on anatscore's decoded images:

1. grey float32 in [0, 1] (``LoadedImage.grey``; bright = dense) is mapped linearly to
   [-1024, 1024]: ``x = 2048 * g - 1024``. For an 8-bit file (``g = v / 255``) this is exactly
   ``xrv.utils.normalize(v, 255) = (2 v / 255 - 1) * 1024``; 16-bit sources keep their precision.
2. single channel, centre crop to the short side (``xrv.datasets.XRayCenterCrop``);
3. resize to the model's resolution with ``xrv.datasets.XRayResizer`` (skimage, anti-aliased),
   224 for the DenseNet classifiers, autoencoder and view model, 512 for the segmenters.

Steps 2-3 call the library's own transforms, so the contract cannot drift from what the models
were trained with (``tests/test_backbones.py`` checks the whole chain against
``xrv.utils.load_image`` on real radiographs).

Networks are built from their architectures without torchxrayvision's download-on-construct
paths; weights come only from :mod:`anatscore.weights` (records ``xrv-*`` in
``models/weights/``). The builders (``build_*``) return randomly initialised networks whose
``state_dict`` keys match the converted weight files; the weights manager uses them for
strict-load verification on import, and tests use them directly.

torchxrayvision calls ``warnings.filterwarnings("ignore")`` at import time (``models.py``);
:func:`xrv` imports it inside ``warnings.catch_warnings()`` so the caller's warning filters survive.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Callable, Sequence

import numpy as np

log = logging.getLogger(__name__)

#: The 18 findings of the DenseNet ``all`` model, in output order (``xrv.models.model_urls``).
DENSENET_VARIANT = "densenet121-res224-all"
#: Native input resolutions.
CLASSIFIER_SIZE = 224
SEGMENTER_SIZE = 512
#: ImageNet statistics the segmenters and the view model apply after mapping to [0, 1].
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)

_XRV: ModuleType | None = None


def xrv() -> ModuleType:
    """The ``torchxrayvision`` module, imported once without clobbering warning filters."""
    global _XRV
    if _XRV is None:
        with warnings.catch_warnings():
            import torchxrayvision  # noqa: F401 - sets filterwarnings("ignore") on import
            import torchxrayvision.autoencoders  # noqa: F401
            import torchxrayvision.baseline_models.chestx_anatomy  # noqa: F401
            import torchxrayvision.baseline_models.chestx_det  # noqa: F401

            _XRV = torchxrayvision
    return _XRV


# --------------------------------------------------------------------------------------------
# preprocessing
# --------------------------------------------------------------------------------------------


def to_xrv_range(grey: np.ndarray) -> np.ndarray:
    """Map grey float in [0, 1] to torchxrayvision's [-1024, 1024]: ``x = 2048 g - 1024``.

    Values are clipped to [0, 1] first (decoders guarantee the range; clipping guards NaN-free
    generator output that overshoots). Returns float32 of the same shape.
    """
    g = np.clip(np.asarray(grey, dtype=np.float32), 0.0, 1.0)
    return g * np.float32(2048.0) - np.float32(1024.0)


def preprocess(grey: np.ndarray, size: int = CLASSIFIER_SIZE) -> "torch.Tensor":  # noqa: F821
    """One grey image (H, W) in [0, 1] -> tensor (1, size, size) float32 in [-1024, 1024].

    Centre crop to the short side and anti-aliased resize, with torchxrayvision's own
    ``XRayCenterCrop`` and ``XRayResizer`` (skimage engine).
    """
    import torch

    grey = np.asarray(grey)
    if grey.ndim == 3:  # colour decoded as (H, W, C): the library keeps the first channel
        grey = grey[..., 0]
    if grey.ndim != 2 or min(grey.shape) < 2:
        raise ValueError(f"expected a 2-D grey image, got shape {grey.shape}")
    lib = xrv()
    img = to_xrv_range(grey)[None]
    img = lib.datasets.XRayCenterCrop()(img)
    if img.shape[1] != size:
        img = lib.datasets.XRayResizer(size)(img)
    return torch.from_numpy(np.ascontiguousarray(img, dtype=np.float32))


def preprocess_batch(greys: Sequence[np.ndarray], size: int = CLASSIFIER_SIZE) -> "torch.Tensor":  # noqa: F821
    """Several grey images -> tensor (N, 1, size, size) in [-1024, 1024] (see :func:`preprocess`)."""
    import torch

    return torch.stack([preprocess(g, size) for g in greys])


def inputs(images: Sequence[Any], size: int = CLASSIFIER_SIZE) -> "torch.Tensor":  # noqa: F821
    """Batch (N, 1, size, size) for decoded images, each preprocessed once per size per image
    (memoised in ``LoadedImage.cache`` as ``xrv.input<size>``, shared by every xrv check)."""
    import torch

    return torch.stack([im.memo(f"xrv.input{size}", lambda im=im: preprocess(im.grey, size)) for im in images])


def _imagenet_rgb(batch: "torch.Tensor") -> "torch.Tensor":  # noqa: F821
    """(N, 1, H, W) in [-1024, 1024] -> (N, 3, H, W) ImageNet-normalised, as the segmenters and
    the view model do internally: ``((x + 1024) / 2048 - mean) / std``."""
    import torch

    x = (batch + 1024.0) / 2048.0
    x = x.repeat(1, 3, 1, 1)
    mean = torch.tensor(_IMAGENET_MEAN, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(_IMAGENET_STD, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x - mean) / std


def _check_batch(batch: "torch.Tensor", size: int | None = None) -> None:  # noqa: F821
    if batch.ndim != 4 or batch.shape[1] != 1:
        raise ValueError(f"expected a batch (N, 1, H, W), got {tuple(batch.shape)}")
    if size is not None and tuple(batch.shape[2:]) != (size, size):
        raise ValueError(f"this model takes {size}x{size} inputs, got {tuple(batch.shape[2:])}; "
                         f"use preprocess(grey, size={size})")


# --------------------------------------------------------------------------------------------
# weights
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class XrvNet:
    """One torchxrayvision network family: its weight record, builder and input resolution."""

    record: str
    builder: Callable[[], Any]
    size: int
    labels: tuple[str, ...]


def _strip_prefixes(state: dict[str, Any], prefixes: tuple[str, ...] = ("module.",)) -> dict[str, Any]:
    """Remove DataParallel-style key prefixes (the PSPNet release file has ``module.``)."""
    out: dict[str, Any] = {}
    for k, v in state.items():
        for p in prefixes:
            if k.startswith(p):
                k = k[len(p):]
                break
        out[k] = v
    return out


def _load(net: XrvNet, device: str, strict: bool = True) -> Any:
    """Build ``net`` and load its record's state_dict via the weights manager (``weights_only``).

    ``op_threshs`` (a buffer some pickled DenseNets carry) is dropped: thresholds come from
    :func:`op_thresholds` and are applied by :func:`pathology_scores`, not inside the network.
    """
    from .. import weights

    model = net.builder()
    state = weights.load_state_dict(net.record)
    state = {k: v for k, v in _strip_prefixes(state).items() if k != "op_threshs"}
    result = model.load_state_dict(state, strict=strict)
    if not strict and (result.missing_keys or result.unexpected_keys):
        log.warning("%s: %d missing and %d unexpected keys when loading", net.record,
                    len(result.missing_keys), len(result.unexpected_keys))
    return model.to(device).eval()


# --------------------------------------------------------------------------------------------
# DenseNet-121 pathology classifiers
# --------------------------------------------------------------------------------------------


def densenet_labels(variant: str = DENSENET_VARIANT) -> tuple[str, ...]:
    """Output order of a DenseNet variant's findings (18 for ``densenet121-res224-all``)."""
    return tuple(xrv().models.model_urls[variant]["labels"])


def op_thresholds(variant: str = DENSENET_VARIANT) -> np.ndarray:
    """The variant's calibrated operating-point thresholds on sigmoid outputs (NaN = finding
    not trained for this variant), aligned with :func:`densenet_labels`."""
    return np.asarray(xrv().models.model_urls[variant]["op_threshs"], dtype=np.float64)


def build_densenet(variant: str = DENSENET_VARIANT) -> Any:
    """A randomly initialised ``xrv.models.DenseNet`` with the variant's label count.

    ``op_threshs`` stays unset so ``forward`` returns raw logits; thresholds are applied by
    :func:`pathology_scores`.
    """
    lib = xrv()
    model = lib.models.DenseNet(weights=None, num_classes=len(densenet_labels(variant)))
    model.targets = list(densenet_labels(variant))
    model.pathologies = model.targets
    return model.eval()


def densenet_record(variant: str = DENSENET_VARIANT) -> str:
    """Weight record name of a DenseNet variant: ``xrv-<variant>``."""
    return f"xrv-{variant}"


def load_densenet(variant: str = DENSENET_VARIANT, device: str = "cpu") -> Any:
    """The pretrained DenseNet ``variant`` (e.g. ``densenet121-res224-all``) on ``device``.

    Raises :class:`anatscore.weights.WeightsMissingError` when its record is not installed.
    """
    net = XrvNet(densenet_record(variant), lambda: build_densenet(variant), CLASSIFIER_SIZE,
                 densenet_labels(variant))
    return _load(net, device)


def densenet_logits(model: Any, batch: "torch.Tensor") -> np.ndarray:  # noqa: F821
    """Raw logits (N, n_findings) for a (N, 1, 224, 224) batch in [-1024, 1024]."""
    import torch

    _check_batch(batch, CLASSIFIER_SIZE)
    dev = next(model.parameters()).device
    with torch.inference_mode():
        feats = model.features2(batch.to(dev))
        return model.classifier(feats).float().cpu().numpy()


def densenet_features(model: Any, batch: "torch.Tensor") -> np.ndarray:  # noqa: F821
    """Penultimate features (N, 1024): ReLU + global average pool of the last dense block."""
    import torch

    _check_batch(batch, CLASSIFIER_SIZE)
    dev = next(model.parameters()).device
    with torch.inference_mode():
        return model.features2(batch.to(dev)).float().cpu().numpy()


def pathology_scores(logits: np.ndarray, thresholds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Calibrated scores and presence from raw logits (N, K) and operating thresholds (K,).

    ``p = sigmoid(logit)``; ``present = p >= t`` (False where ``t`` is NaN). The calibrated score
    is torchxrayvision's ``op_norm``: ``p / (2 t)`` below the threshold and
    ``1 - (1 - p) / (2 (1 - t))`` above, so the threshold maps to 0.5 (NaN where ``t`` is NaN).
    Returns ``(score, present)``, both (N, K).
    """
    import torch
    from scipy.special import expit

    logits = np.asarray(logits, dtype=np.float64)
    t = np.asarray(thresholds, dtype=np.float64)
    p = expit(logits)
    score = xrv().models.op_norm(torch.from_numpy(p).float(), torch.from_numpy(t).float()).double().numpy()
    score = np.where(np.isnan(t)[None, :], np.nan, score)
    present = np.where(np.isnan(t)[None, :], False, p >= np.nan_to_num(t, nan=np.inf)[None, :])
    return score, present


# --------------------------------------------------------------------------------------------
# segmenters: PSPNet (ChestX-Det, 14 structures) and CXAS UNet-ResNet50 (159 structures)
# --------------------------------------------------------------------------------------------


def pspnet_labels() -> tuple[str, ...]:
    """The 14 ChestX-Det structures, in output-channel order."""
    return tuple(xrv().baseline_models.chestx_det.PSPNet.targets)


def build_pspnet() -> Any:
    """The bare ChestX-Det PSPNet network (randomly initialised, 14 output channels).

    ``xrv.baseline_models.chestx_det.PSPNet()`` downloads weights in its constructor; this
    builds the inner network (``ptsemseg.pspnet``) that the release state_dict fits.
    """
    from torchxrayvision.baseline_models.chestx_det.ptsemseg.pspnet import pspnet

    xrv()
    return pspnet(len(pspnet_labels())).eval()


def load_pspnet(device: str = "cpu") -> Any:
    """The pretrained PSPNet (record ``xrv-pspnet``) on ``device``."""
    return _load(XrvNet("xrv-pspnet", build_pspnet, SEGMENTER_SIZE, pspnet_labels()), device)


def pspnet_logits(model: Any, batch: "torch.Tensor") -> "torch.Tensor":  # noqa: F821
    """Per-structure logits (N, 14, H, W) for a (N, 1, H, W) batch in [-1024, 1024].

    The native resolution is 512 (use ``preprocess(grey, 512)``); the input transform is the
    library's: three channels, ``(x + 1024) / 2048``, ImageNet mean/std. Sigmoid > 0.5 = mask.
    """
    import torch

    _check_batch(batch)
    dev = next(model.parameters()).device
    with torch.inference_mode():
        return model(_imagenet_rgb(batch.to(dev))).float()


def cxas_labels() -> tuple[str, ...]:
    """The 159 CXAS structures (individual ribs, vertebrae C1-L5, ...), in channel order."""
    return tuple(xrv().baseline_models.chestx_anatomy.TARGETS)


def build_cxas() -> Any:
    """The CXAS UNet-ResNet50 network (randomly initialised; ``weights=False`` downloads nothing)."""
    return xrv().baseline_models.chestx_anatomy.UNetResNet50(weights=False).eval()


def load_cxas(device: str = "cpu") -> Any:
    """The pretrained CXAS model (record ``xrv-cxas``) on ``device``.

    The release checkpoint nests the backbone differently from the wrapper; keys are remapped
    with torchxrayvision's own helpers and loaded non-strictly, as the library does.
    """
    from .. import weights

    anat = xrv().baseline_models.chestx_anatomy
    model = build_cxas()
    state = anat._remap_state_dict_keys(anat._extract_state_dict(weights.load_state_dict("xrv-cxas")))
    result = model.load_state_dict(state, strict=False)
    if result.missing_keys:
        log.warning("xrv-cxas: %d missing keys when loading (first: %s)", len(result.missing_keys),
                    result.missing_keys[0])
    return model.to(device).eval()


def cxas_logits(model: Any, batch: "torch.Tensor") -> "torch.Tensor":  # noqa: F821
    """Per-structure logits (N, 159, H, W) for a (N, 1, H, W) batch in [-1024, 1024] (native 512)."""
    import torch

    _check_batch(batch)
    dev = next(model.parameters()).device
    with torch.inference_mode():
        return model._forward(_imagenet_rgb(batch.to(dev)))["logits"].float()


# --------------------------------------------------------------------------------------------
# autoencoder (out-of-distribution score) and view model
# --------------------------------------------------------------------------------------------


def build_autoencoder() -> Any:
    """The ResNet-101 autoencoder of ``xrv.autoencoders`` (``101-elastic`` architecture), random."""
    return xrv().autoencoders.ResNetAE101().eval()


def load_autoencoder(device: str = "cpu") -> Any:
    """The pretrained autoencoder (record ``xrv-resnet-ae``) on ``device``."""
    return _load(XrvNet("xrv-resnet-ae", build_autoencoder, CLASSIFIER_SIZE, ()), device)


def reconstruction_error(model: Any, batch: "torch.Tensor") -> np.ndarray:  # noqa: F821
    """Per-image mean absolute reconstruction error, as a fraction of the input range.

    ``err = mean |AE(x) - x| / 2048`` for x in [-1024, 1024] at 224x224. Real chest
    radiographs reconstruct well; images unlike the training distribution do not, so this is an
    out-of-distribution score (compare with the same figure on real references).
    """
    import torch

    _check_batch(batch, CLASSIFIER_SIZE)
    dev = next(model.parameters()).device
    x = batch.to(dev)
    with torch.inference_mode():
        out = model(x)["out"]
        return ((out - x).abs().mean(dim=(1, 2, 3)) / 2048.0).float().cpu().numpy()


VIEW_LABELS: tuple[str, ...] = ("frontal", "lateral")


def build_view_model() -> Any:
    """The xinario chest view classifier's network: a torchvision ResNet-50 (first 2 outputs)."""
    import torchvision

    return torchvision.models.resnet50(weights=None).eval()


def load_view_model(device: str = "cpu") -> Any:
    """The pretrained frontal/lateral view classifier (record ``xrv-view``) on ``device``."""
    return _load(XrvNet("xrv-view", build_view_model, CLASSIFIER_SIZE, VIEW_LABELS), device)


def view_probabilities(model: Any, batch: "torch.Tensor") -> np.ndarray:  # noqa: F821
    """(N, 2) softmax probabilities of (frontal, lateral) for a 224x224 batch in [-1024, 1024]."""
    import torch

    _check_batch(batch, CLASSIFIER_SIZE)
    dev = next(model.parameters()).device
    with torch.inference_mode():
        logits = model(_imagenet_rgb(batch.to(dev)))[:, :2]
        return torch.softmax(logits.float(), dim=1).cpu().numpy()


#: Weight record -> builder, for the weights manager's strict-load verification on import.
BUILDERS: dict[str, str] = {
    "xrv-densenet121-res224-all": "anatscore.backbones.xrv:build_densenet",
    "xrv-pspnet": "anatscore.backbones.xrv:build_pspnet",
    "xrv-cxas": "anatscore.backbones.xrv:build_cxas",
    "xrv-resnet-ae": "anatscore.backbones.xrv:build_autoencoder",
    "xrv-view": "anatscore.backbones.xrv:build_view_model",
}

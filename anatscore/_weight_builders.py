"""Randomly initialised architectures and format converters named by weight records.

The weights manager resolves a record's ``"architecture"`` (``"module:callable"``) lazily to
verify on install that a file's tensors load strictly into the network they are meant for.
Records name the owning module's builder first (e.g. ``anatscore.backbones.xrv:build_pspnet``)
and one of these as ``"architecture_fallback"`` so verification works before those modules
exist. None of these download anything.
"""

from __future__ import annotations

import warnings
from typing import Any


def _quiet_xrv() -> Any:
    """Import torchxrayvision without letting its import-time ``filterwarnings("ignore")``
    change the caller's warning filters."""
    with warnings.catch_warnings():
        import torchxrayvision  # noqa: F401
        import torchxrayvision.autoencoders  # noqa: F401
        import torchxrayvision.baseline_models.chestx_anatomy  # noqa: F401
        import torchxrayvision.baseline_models.chestx_det  # noqa: F401

        return torchxrayvision


def fid_inception() -> Any:
    """torchvision's Inception-v3 with the FID graph's 1008-way head (same tensor names and
    shapes as pytorch-fid's ``fid_inception_v3``; the FID blocks differ only in ``forward``)."""
    import torchvision

    return torchvision.models.inception_v3(weights=None, num_classes=1008, aux_logits=False,
                                           init_weights=False).eval()


def xrv_densenet(num_classes: int = 18) -> Any:
    """``xrv.models.DenseNet(weights=None)``: no download, no ``op_threshs`` buffer."""
    return _quiet_xrv().models.DenseNet(weights=None, num_classes=num_classes).eval()


def xrv_pspnet(n_classes: int = 14) -> Any:
    """The inner ChestX-Det PSPNet (``xrv...chestx_det.PSPNet`` downloads in its constructor)."""
    _quiet_xrv()
    from torchxrayvision.baseline_models.chestx_det.ptsemseg.pspnet import pspnet

    return pspnet(n_classes).eval()


def xrv_cxas() -> Any:
    """The CXAS UNet-ResNet50 wrapper; ``weights=False`` downloads nothing."""
    return _quiet_xrv().baseline_models.chestx_anatomy.UNetResNet50(weights=False).eval()


def xrv_autoencoder() -> Any:
    """``xrv.autoencoders.ResNetAE101`` (the ``101-elastic`` architecture)."""
    return _quiet_xrv().autoencoders.ResNetAE101().eval()


def torchvision_resnet50(num_classes: int = 1000, in_channels: int = 3) -> Any:
    """torchvision ResNet-50 (xinario view model: 1000 outputs, 3 channels; xrv ResNet-50
    classifier: 18 outputs, 1-channel ``conv1``)."""
    import torch
    import torchvision

    model = torchvision.models.resnet50(weights=None, num_classes=num_classes)
    if in_channels != 3:
        model.conv1 = torch.nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
    return model.eval()


def open_clip_model(model_name: str) -> Any:
    """``open_clip.create_model(model_name, pretrained=None)``: built-in configs work offline;
    ``hf-hub:`` and ``local-dir:`` names need their config (and maybe ``transformers``)."""
    import open_clip

    return open_clip.create_model(model_name, pretrained=None).eval()


def cxas_state_dict(obj: Any) -> dict[str, Any]:
    """CXAS checkpoints nest their tensors and name the backbone one level up; normalise with
    torchxrayvision's own helpers (as its loader does)."""
    anat = _quiet_xrv().baseline_models.chestx_anatomy
    return anat._remap_state_dict_keys(anat._extract_state_dict(obj))


def openai_clip_state_dict_from_module(state: dict[str, Any]) -> dict[str, Any]:
    """OpenAI's released CLIP files are TorchScript archives (read with ``torch.jit.load``, which
    runs no Python pickle); rebuild open_clip's ``ViT-B-32-quickgelu`` state_dict from the
    archive's tensors with open_clip's own converter."""
    from open_clip.model import build_model_from_openai_state_dict

    model = build_model_from_openai_state_dict(dict(state), quick_gelu=True)
    model.float()  # open_clip casts to fp16 (OpenAI ships fp16 tensors); keep fp32 on disk
    return {k: v.detach().clone() for k, v in model.state_dict().items()}

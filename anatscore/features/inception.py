"""The FID Inception-v3 (TensorFlow graph of 2015-12-05) and its feature extractor.

Architecture: torchvision's Inception-v3 blocks with the four differences of the TF graph that
pytorch-fid documents (average pools in the A, C and first E blocks exclude padding from the
mean; the last E block pools with max instead of average), no auxiliary head, 2048-d global
average-pooled features. Parameter names are pytorch-fid's (= torchvision's), so both the
official pytorch-fid file (``pt_inception-2015-12-05-6726825d.pth``) and the workplace file
``inception-2015-12-05-fid-nofc.pth`` load; ``fc`` and ``num_batches_tracked`` are optional.

Preprocessing (``resize`` option):

- ``"clean"`` (default): each channel of the uint8 RGB image (see :func:`~anatscore.features.rgb_uint8`)
  is resized to 299 x 299 with PIL's bicubic filter on float32 data (antialiased, as clean-fid's
  "clean" mode; values clipped to [0, 255], not re-quantised), then scaled to [0, 1].
- ``"pytorch-fid"``: uint8 / 255 is resized with ``torch.nn.functional.interpolate(bilinear,
  align_corners=False)`` and no antialiasing, exactly as pytorch-fid does; use it to reproduce
  pytorch-fid numbers. It aliases badly on large radiographs (1024² -> 299²), which is why it is
  not the default.

Both then map [0, 1] to [-1, 1] by ``2x - 1`` (pytorch-fid's input scaling).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence, Union

import numpy as np

from ..types import LoadedImage
from . import FeatureExtractor, rgb_uint8, sha256_file

SIZE = 299
DIM = 2048
WEIGHTS_RECORD = "inception-fid"
RESIZE_MODES = ("clean", "pytorch-fid")

# Branch layouts of the mixed blocks, as data: each branch is a sequence of steps applied in
# order; a step is a sub-module name, a pooling keyword, or a tuple of sub-modules whose outputs
# are concatenated (the split 1x3 / 3x1 convolutions of the E blocks).
_A = (("branch1x1",), ("branch5x5_1", "branch5x5_2"), ("branch3x3dbl_1", "branch3x3dbl_2", "branch3x3dbl_3"), ("avg", "branch_pool"))
_C = (
    ("branch1x1",),
    ("branch7x7_1", "branch7x7_2", "branch7x7_3"),
    ("branch7x7dbl_1", "branch7x7dbl_2", "branch7x7dbl_3", "branch7x7dbl_4", "branch7x7dbl_5"),
    ("avg", "branch_pool"),
)


def _e(pool: str) -> tuple:
    return (
        ("branch1x1",),
        ("branch3x3_1", ("branch3x3_2a", "branch3x3_2b")),
        ("branch3x3dbl_1", "branch3x3dbl_2", ("branch3x3dbl_3a", "branch3x3dbl_3b")),
        (pool, "branch_pool"),
    )


def build_fid_inception() -> "torch.nn.Module":  # noqa: F821
    """The FID Inception-v3 architecture with uninitialised weights (eval mode, fc included).

    Used by the weights manager for strict-load verification and by :func:`load_fid_inception`.
    """
    import torch
    import torch.nn.functional as F
    from torch import nn
    from torchvision.models import inception as tv

    pools = {
        "avg": lambda x: F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False),
        "max": lambda x: F.max_pool2d(x, kernel_size=3, stride=1, padding=1),
    }

    def run(block: nn.Module, layout: tuple, x: torch.Tensor) -> torch.Tensor:
        outs = []
        for branch in layout:
            y = x
            for step in branch:
                if isinstance(step, tuple):
                    y = torch.cat([getattr(block, s)(y) for s in step], 1)
                elif step in pools:
                    y = pools[step](y)
                else:
                    y = getattr(block, step)(y)
            outs.append(y)
        return torch.cat(outs, 1)

    def mixed(cls: type, layout: tuple, *args: int) -> nn.Module:
        sub = type(f"FID{cls.__name__}", (cls,), {"forward": lambda self, x: run(self, layout, x)})
        return sub(*args)

    class FIDInceptionV3(nn.Module):
        """2048-d pool3 features of the TF 2015-12-05 Inception-v3; input (B, 3, 299, 299) in [-1, 1]."""

        def __init__(self) -> None:
            super().__init__()
            self.Conv2d_1a_3x3 = tv.BasicConv2d(3, 32, kernel_size=3, stride=2)
            self.Conv2d_2a_3x3 = tv.BasicConv2d(32, 32, kernel_size=3)
            self.Conv2d_2b_3x3 = tv.BasicConv2d(32, 64, kernel_size=3, padding=1)
            self.Conv2d_3b_1x1 = tv.BasicConv2d(64, 80, kernel_size=1)
            self.Conv2d_4a_3x3 = tv.BasicConv2d(80, 192, kernel_size=3)
            self.Mixed_5b = mixed(tv.InceptionA, _A, 192, 32)
            self.Mixed_5c = mixed(tv.InceptionA, _A, 256, 64)
            self.Mixed_5d = mixed(tv.InceptionA, _A, 288, 64)
            self.Mixed_6a = tv.InceptionB(288)
            self.Mixed_6b = mixed(tv.InceptionC, _C, 768, 128)
            self.Mixed_6c = mixed(tv.InceptionC, _C, 768, 160)
            self.Mixed_6d = mixed(tv.InceptionC, _C, 768, 160)
            self.Mixed_6e = mixed(tv.InceptionC, _C, 768, 192)
            self.Mixed_7a = tv.InceptionD(768)
            self.Mixed_7b = mixed(tv.InceptionE, _e("avg"), 1280)
            self.Mixed_7c = mixed(tv.InceptionE, _e("max"), 2048)
            self.fc = nn.Linear(DIM, 1008)  # logits; unused for FID/KID, optional in files

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
            x = F.max_pool2d(x, kernel_size=3, stride=2)
            x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x))
            x = F.max_pool2d(x, kernel_size=3, stride=2)
            for name in ("5b", "5c", "5d", "6a", "6b", "6c", "6d", "6e", "7a", "7b", "7c"):
                x = getattr(self, f"Mixed_{name}")(x)
            return torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)

    return FIDInceptionV3().eval()


def load_fid_inception(path: Union[str, os.PathLike[str], None] = None, device: str = "cpu") -> "torch.nn.Module":  # noqa: F821
    """FID Inception with weights from ``path`` (default: the weights manager's ``inception-fid``).

    Accepts both key layouts in circulation: with or without ``fc.*`` and with or without
    ``*.num_batches_tracked``. Every other parameter and buffer must be present with the right
    shape, and no unknown key is allowed, so a wrong file fails loudly instead of giving
    plausible-looking features.
    """
    import torch

    if path is None:
        from .. import weights

        path = weights.local_path(WEIGHTS_RECORD)
    state = torch.load(Path(path), map_location="cpu", weights_only=True)
    if not isinstance(state, dict):
        raise ValueError(f"{path}: expected a state_dict, got {type(state).__name__}")
    model = build_fid_inception()
    expected = model.state_dict()
    optional = {k for k in expected if k.startswith("fc.") or k.endswith("num_batches_tracked")}
    missing = sorted(set(expected) - set(state) - optional)
    unexpected = sorted(set(state) - set(expected))
    bad_shape = sorted(k for k in state if k in expected and tuple(state[k].shape) != tuple(expected[k].shape))
    if missing or unexpected or bad_shape:
        raise ValueError(
            f"{path} is not an FID Inception-v3 state_dict: missing {missing[:5]}, "
            f"unexpected {unexpected[:5]}, wrong shape {bad_shape[:5]}"
        )
    model.load_state_dict(state, strict=False)
    if not any(k.startswith("fc.") for k in state):
        model.fc = torch.nn.Identity()  # logits unavailable; features unaffected
    return model.to(device).eval()


def preprocess(images: Sequence[LoadedImage], resize: str = "clean") -> "torch.Tensor":  # noqa: F821
    """(B, 3, 299, 299) float32 in [0, 1] following the module's stated conventions."""
    import torch
    import torch.nn.functional as F
    from PIL import Image

    if resize not in RESIZE_MODES:
        raise ValueError(f"resize must be one of {RESIZE_MODES}, got {resize!r}")
    out = []
    for image in images:
        rgb = rgb_uint8(image)
        if resize == "pytorch-fid":
            t = torch.from_numpy(rgb).permute(2, 0, 1).float().div(255.0)[None]
            out.append(F.interpolate(t, size=(SIZE, SIZE), mode="bilinear", align_corners=False)[0])
            continue
        grey_only = bool(np.all(rgb[..., 0] == rgb[..., 1]) and np.all(rgb[..., 1] == rgb[..., 2]))
        chans = [rgb[..., 0]] if grey_only else [rgb[..., c] for c in range(3)]
        resized = [
            np.asarray(Image.fromarray(c.astype(np.float32), mode="F").resize((SIZE, SIZE), Image.Resampling.BICUBIC))
            for c in chans
        ]
        arr = np.stack(resized * 3 if grey_only else resized, axis=0)
        out.append(torch.from_numpy(np.clip(arr, 0.0, 255.0) / 255.0))
    return torch.stack(out).float()


class InceptionExtractor(FeatureExtractor):
    """2048-d pool features of the FID Inception-v3 (``fid@inception`` = FID as published)."""

    name = "inception"
    dim = DIM

    def __init__(
        self, device: str = "cpu", weights: Union[str, os.PathLike[str], None] = None, resize: str = "clean", batch_size: int = 16
    ) -> None:
        if resize not in RESIZE_MODES:
            raise ValueError(f"resize must be one of {RESIZE_MODES}, got {resize!r}")
        if weights is None:
            from .. import weights as wm

            weights = wm.local_path(WEIGHTS_RECORD)
        self.weights_path = str(weights)
        self.weights_sha256 = sha256_file(self.weights_path)
        self.device = device
        self.resize = resize
        self.batch_size = max(1, int(batch_size))
        self.model = load_fid_inception(self.weights_path, device)

    def preprocessing(self) -> dict[str, Any]:
        resize = (
            "PIL bicubic (antialiased) on float32 per channel, clip [0,255], no re-quantisation"
            if self.resize == "clean"
            else "torch bilinear align_corners=False, no antialias (pytorch-fid)"
        )
        return {
            "input": "rgb_uint8 (colour if chroma, else rint(grey*255) replicated x3)",
            "resize": f"{SIZE}x{SIZE} {resize}",
            "resize_mode": self.resize,
            "scale": "x/255 then 2x-1",
        }

    def extract(self, images: Sequence[LoadedImage]) -> np.ndarray:
        import torch

        feats = []
        with torch.inference_mode():
            for i in range(0, len(images), self.batch_size):
                x = preprocess(images[i : i + self.batch_size], self.resize).to(self.device)
                feats.append(self.model(2.0 * x - 1.0).double().cpu().numpy())
        if not feats:
            return np.zeros((0, DIM), np.float32)
        return np.concatenate(feats).astype(np.float32)

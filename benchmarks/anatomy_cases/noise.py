"""``image.noise`` cases: real radiographs of every region with diffusion noise added.

The failure it stands for: an image taken from a diffusion sampler before it has finished (or a
generator that leaves noise in). Every 4th real film of each folder (sorted), reduced to 256 px on
its long side (the scale :mod:`anatscore.anatomy.noise` reads at), is mixed with white noise as a
DDPM forward step does, ``x_t = sqrt(a) x0 + sqrt(1 - a) eps`` on the image in [-1, 1], at
``a`` = 0.5 (half way through sampling: ``noise_dominated``) and ``a`` = 0.9 (late, but noise
still well above any real film's: ``noise_residual``); expected to fail ``image.noise``.

The real films themselves are scored by the harness in their own modules: ``image.noise`` is a
precondition (``ANATOMY_PRECONDITIONS``), expected to pass on every real case of every module.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np

from . import Case

NOISE = "image.noise"
LEVELS = {"noise_dominated": 0.5, "noise_residual": 0.9}

#: real folder (under real/xray) -> (region, view, glob)
FOLDERS = {
    "knee_kl": ("knee", "ap", "*/*.png"),
    "chest/jsrt_scr/images": ("chest", "pa", "*.png"),
    "head_cephalogram": ("head", "lateral", "*.png"),
    "pelvis_ddh": ("pelvis", "ap", "*.png"),
    "msk_mura_examples": ("", "", "*.png"),  # region from the file name
    "wrist_grazpedwri": ("wrist", "pa", "*.png"),
    "pydicom_data": ("", "", "RG*_display.png"),
}
_MURA = {"HAND": "hand", "FOREARM": "forearm", "WRIST": "wrist"}
_PYDICOM = {"RG1": ("chest", "pa"), "RG3": ("leg", "ap")}


def _diffused(path: Path, alpha_bar: float, seed: int) -> np.ndarray:
    from PIL import Image
    from skimage.transform import resize

    with Image.open(path) as im:
        g = np.asarray(im.convert("L"), dtype=np.float32) / 255.0
    s = 256 / max(g.shape)
    if s < 1:
        g = resize(g, (round(g.shape[0] * s), round(g.shape[1] * s)), anti_aliasing=True)
    eps = np.random.default_rng(seed).standard_normal(g.shape)
    xt = np.sqrt(alpha_bar) * (2 * g - 1) + np.sqrt(1 - alpha_bar) * eps
    return np.clip((xt + 1) / 2, 0, 1).astype(np.float32)


def _region(folder: str, path: Path) -> tuple[str, str]:
    region, view, _ = FOLDERS[folder]
    if folder == "msk_mura_examples":
        return _MURA.get(path.stem, ""), "pa"
    if folder == "pydicom_data":
        return _PYDICOM.get(path.stem.split("_")[0], ("", ""))
    return region, view


def cases(data_dir: Path | None) -> Iterator[Case]:
    if data_dir is None:
        return
    for folder, (_, _, pattern) in FOLDERS.items():
        files = sorted((data_dir / "real" / "xray" / folder).glob(pattern))
        for i, path in enumerate(files[::4]):
            region, view = _region(folder, path)
            if not region:
                continue
            for ft, a in LEVELS.items():
                yield Case(f"{folder}/{path.name}#{ft}", region, "corrupt",
                           lambda p=path, a=a, s=i: _diffused(p, a, s), {NOISE: False}, ft, view)

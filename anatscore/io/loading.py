"""Decode one image file to a :class:`~anatscore.types.LoadedImage`.

Minimal first version (PIL only); to be extended with DICOM, 16-bit, TIFF and the bad-input
guards described in the README.
"""

from __future__ import annotations

import numpy as np

from ..config import EvalConfig
from ..types import CheckResult, ImageMeta, LoadedImage


class LoadError(Exception):
    """An input could not be decoded; ``str(err)`` is the human reason for the ``load`` record."""


def load_image(meta: ImageMeta, config: EvalConfig | None = None) -> LoadedImage:
    """Decode ``meta.abspath``; raise :class:`LoadError` with a clear reason on bad input."""
    from PIL import Image

    try:
        with Image.open(meta.abspath) as im:
            im.load()
            rgb = np.asarray(im.convert("RGB"))
            grey = np.asarray(im.convert("F"), dtype=np.float32) / 255.0
    except Exception as exc:  # noqa: BLE001 - every decoder failure becomes a load record
        raise LoadError(f"cannot decode image: {exc}") from exc
    meta.height, meta.width = grey.shape
    return LoadedImage(meta=meta, grey=grey, colour=rgb)


def load_check(image: LoadedImage, ctx: object) -> CheckResult:
    """The ``load`` record of an image that decoded."""
    h, w = image.grey.shape
    return CheckResult.judge("load", None, True, f"decoded {w}x{h} {image.meta.format}".strip())

"""Find the images under a folder and attach what a manifest or sidecar says about them."""

from __future__ import annotations

import os
from pathlib import Path

from ..types import ImageMeta

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".dcm", ".dicom"}


def discover(root: str | os.PathLike[str]) -> list[ImageMeta]:
    """Every image under ``root`` (recursively), sorted by relative path."""
    root = Path(root)
    out: list[ImageMeta] = []
    for p in sorted(root.rglob("*")):
        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES:
            rel = p.relative_to(root).as_posix()
            out.append(ImageMeta(image_id=rel, path=rel, abspath=str(p), size_bytes=p.stat().st_size))
    return out

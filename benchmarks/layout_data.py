"""The real images of ``../shared/data`` as labelled cases for the layout and modality benchmarks.

Reads ``manifest.csv`` (never copies the data): one :class:`RealCase` per native image with its
modality (xray/ct/mri/us/nm), a coarse region where the manifest allows, the *source group* used
to split gallery from query (a dataset folder; the unrelated pydicom test files are one group per
file) and its true layout (number of panels; 1 for every native image except the dual-view
ultrasound). The ``generated/`` figures and grids are separate cases (:func:`generated_grids`).

DICOM files are decoded by :func:`load_case`: through :func:`anatscore.io.loading.load_image`
when it handles them, else by a small pydicom fallback (first frame, modality LUT, VOI window or
0.5-99.5 percentile window, MONOCHROME1 inverted, palette/YBR converted to RGB).
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from anatscore.types import ImageMeta, LoadedImage

log = logging.getLogger(__name__)

#: manifest modality prefix -> canonical modality
_MODALITY_PREFIX: tuple[tuple[str, str], ...] = (
    ("XR", "xray"), ("CR", "xray"), ("CT", "ct"), ("MR", "mri"), ("NM", "nm"), ("US", "us"),
)

#: manifest region text (lower case, substring) -> coarse region label for the gallery benchmark
_REGION_WORDS: tuple[tuple[str, str], ...] = (
    ("chest", "chest"), ("knee", "knee"), ("skull", "head"), ("head", "head"), ("pelvis", "pelvis"),
    ("hip", "pelvis"), ("breast", "breast"), ("abdomen", "abdomen"), ("cardiac", "heart"),
    ("elbow", "elbow"), ("finger", "hand"), ("hand", "hand"), ("forearm", "forearm"),
    ("humerus", "humerus"), ("shoulder", "shoulder"), ("wrist", "wrist"), ("leg", "leg"),
    ("whole-body", "whole_body"),
)

#: native images whose layout is several views side by side (true multi-panel, not a false alarm)
_TRUE_PANELS: dict[str, int] = {"real/us/dicom_pydicom/gdcm-US-ALOKA-16.dcm": 2}

#: generated figures that are grids of panels (rows, cols) as described in the manifest
_GENERATED_GRIDS: dict[str, tuple[int, int]] = {
    "generated/brain_mri_gan_diffusion/Samples_Brats20.png": (6, 5),
    "generated/hand_gan_thumbnails/fake_images.png": (0, 0),  # a grid; count not in manifest
    "generated/hand_gan_thumbnails/real_images.png": (0, 0),
    "generated/cxr_lesion_inpainting/frames/f_001.png": (2, 4),
    "generated/cxr_lesion_inpainting/frames/f_005.png": (2, 4),
    "generated/cxr_lesion_inpainting/frames/f_010.png": (2, 4),
}


@dataclass(frozen=True)
class RealCase:
    """One labelled native image: path relative to the data folder, labels, split group."""

    path: str
    modality: str
    region: str
    group: str
    panels: int = 1


def _modality(text: str) -> str:
    for prefix, mod in _MODALITY_PREFIX:
        if text.startswith(prefix):
            return mod
    return ""


def _region(text: str) -> str:
    low = text.lower()
    for word, region in _REGION_WORDS:
        if word in low:
            return region
    return ""


def real_cases(data_dir: Path) -> list[RealCase]:
    """Every native (not generated) image of the manifest, with labels and split group.

    Skips masks, label files, videos and the ``*_display.png`` renderings of DICOM files that are
    themselves in the set (they would be near-duplicates across the split).
    """
    cases: list[RealCase] = []
    with open(Path(data_dir) / "manifest.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            path = row["path"]
            mod = _modality(row["modality"])
            if not mod or row.get("generated", "no") != "no" or path.startswith("generated/"):
                continue
            if "figure" in row["modality"] or path.endswith("_display.png"):
                continue
            if not path.lower().endswith((".png", ".jpg", ".jpeg", ".dcm", ".tif", ".tiff", ".bmp")):
                continue
            folder = path.rsplit("/", 1)[0]
            # unrelated test files (different scanners and patients) each form their own group;
            # dataset folders are one group (same acquisition, possibly the same patients)
            group = path if "dicom_pydicom" in folder or "msk_mura" in folder else folder
            if "infant_hip_nhbs" in folder:
                group = "real/us/infant_hip_nhbs"
            if "knee_kl" in folder:
                group = "real/xray/knee_kl"
            if "breast_busi" in folder:
                group = "real/us/breast_busi"
            cases.append(RealCase(path, mod, _region(row["region"]), group, _TRUE_PANELS.get(path, 1)))
    return cases


def generated_grids(data_dir: Path) -> list[tuple[str, tuple[int, int]]]:
    """Generated figures known to be grids, with (rows, cols) where the manifest states them."""
    return [(p, rc) for p, rc in _GENERATED_GRIDS.items() if (Path(data_dir) / p).is_file()]


def _dicom_fallback(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    """Decode the first frame of a DICOM file to (grey [0, 1], RGB uint8 or None)."""
    import pydicom
    from pydicom.pixels import apply_color_lut, apply_modality_lut, apply_voi_lut

    ds = pydicom.dcmread(str(path))
    arr = ds.pixel_array
    frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
    if frames > 1:
        arr = arr[0]
    pi = str(ds.get("PhotometricInterpretation", "MONOCHROME2"))
    if pi == "PALETTE COLOR":
        rgb = apply_color_lut(arr, ds)
        if rgb.dtype != np.uint8:
            rgb = (rgb / 257).astype(np.uint8) if rgb.max() > 255 else rgb.astype(np.uint8)
        return rgb.mean(axis=2).astype(np.float32) / 255.0, rgb
    if arr.ndim == 3 and arr.shape[-1] == 3:
        rgb = arr.astype(np.uint8)
        return rgb.mean(axis=2).astype(np.float32) / 255.0, rgb
    img = apply_modality_lut(arr, ds).astype(np.float64)
    if "WindowCenter" in ds:
        img = apply_voi_lut(img, ds).astype(np.float64)
        lo, hi = float(img.min()), float(img.max())
    else:
        lo, hi = np.percentile(img, [0.5, 99.5])
    grey = np.clip((img - lo) / max(hi - lo, 1e-9), 0, 1)
    if pi == "MONOCHROME1":
        grey = 1.0 - grey
    return grey.astype(np.float32), None


def load_case(data_dir: Path, rel: str) -> LoadedImage:
    """Decode one image of the data folder (see the module docstring for DICOM)."""
    from anatscore.io.loading import LoadError, load_image

    p = Path(data_dir) / rel
    meta = ImageMeta(image_id=rel, path=rel, abspath=str(p), format=p.suffix.lstrip(".").lower())
    try:
        return load_image(meta)
    except LoadError:
        if p.suffix.lower() != ".dcm":
            raise
    grey, rgb = _dicom_fallback(p)
    meta.height, meta.width = grey.shape
    return LoadedImage(meta=meta, grey=grey, colour=rgb)

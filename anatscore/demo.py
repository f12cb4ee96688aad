"""The demo set: real DICOM files that ship inside pydicom / pydicom-data, plus controlled corruptions.

Nothing is downloaded and no repository file is needed: every source image comes from an
installed package (``pydicom.data.get_testdata_file``), so ``anatscore demo`` works offline
right after ``pip install``. The set covers the paper's failure modes in miniature:

- originals, copied as DICOM: a computed radiograph of the chest (JPEG 2000 lossless,
  MONOCHROME1), an extremity radiograph (MONOCHROME1), CT, MR and ultrasound (RGB and palette);
- corruptions of them, written as PNG: a mirrored chest radiograph, a radiograph rendered as a
  tinted photograph of a film on a light box, a 2x2 multi-panel grid of CT/MR slices;
- bad inputs: a truncated DICOM, a zero-byte PNG and a text file named ``.png``.

``manifest.csv`` records what each file is (modality, region, task, backend = ``original`` or
``corrupted:<kind>``) so the run can be compared by backend.
"""

from __future__ import annotations

import csv
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import numpy as np


@dataclass(frozen=True)
class DemoSource:
    """One DICOM test file shipped with pydicom / pydicom-data and what it shows."""

    name: str  # file name for pydicom.data.get_testdata_file
    dest: str  # path inside the demo folder
    modality: str
    region: str = ""
    note: str = ""


SOURCES: tuple[DemoSource, ...] = (
    DemoSource("RG1_J2KR.dcm", "originals/xray_chest_cr_j2k.dcm", "xray", "chest", "CR chest, JPEG 2000, MONOCHROME1"),
    DemoSource("RG3_UNCR.dcm", "originals/xray_extremity_cr.dcm", "xray", "", "CR extremity, MONOCHROME1"),
    DemoSource("CT_small.dcm", "originals/ct_small.dcm", "ct", "", "CT slice 128x128"),
    DemoSource("693_UNCR.dcm", "originals/ct_693.dcm", "ct", "", "CT slice 512x512"),
    DemoSource("MR-SIEMENS-DICOM-WithOverlays.dcm", "originals/mri_abdomen.dcm", "mri", "abdomen", "MR abdomen"),
    DemoSource("MR_small.dcm", "originals/mri_small.dcm", "mri", "", "MR slice 64x64"),
    DemoSource("US1_UNCR.dcm", "originals/us_rgb.dcm", "us", "", "ultrasound, RGB"),
    DemoSource("OBXXXX1A.dcm", "originals/us_obstetric_palette.dcm", "us", "", "obstetric ultrasound, palette colour"),
)

_FIELDS = ("path", "modality", "region", "view", "task", "prompt", "backend", "seed")


def source_path(name: str) -> Path:
    """The installed path of a pydicom / pydicom-data test file (no network)."""
    from pydicom.data import get_testdata_file

    p = get_testdata_file(name, download=False)
    if p is None:
        raise FileNotFoundError(f"DICOM test file {name} is not installed; `pip install pydicom-data` provides it")
    return Path(p)


def dicom_to_uint8(path: Path, max_side: int = 768) -> np.ndarray:
    """Display pixels of a DICOM file as uint8 (H, W) or (H, W, 3), for building corruptions.

    Applies the modality LUT (rescale slope/intercept) and VOI LUT/window with pydicom, inverts
    MONOCHROME1 so bone is bright, takes the first frame, stretches the 0.5-99.5 percentile
    range to 0-255 and subsamples to at most ``max_side`` pixels per side.
    """
    import pydicom
    from pydicom.pixels import apply_modality_lut, apply_voi_lut, convert_color_space

    ds = pydicom.dcmread(str(path))
    arr = ds.pixel_array
    if int(ds.get("NumberOfFrames", 1) or 1) > 1:
        arr = arr[0]
    pi = str(ds.get("PhotometricInterpretation", ""))
    if pi == "PALETTE COLOR":
        from pydicom.pixels import apply_color_lut

        arr = apply_color_lut(arr, ds)
    elif pi.startswith("YBR"):
        arr = convert_color_space(arr, pi, "RGB")
    if arr.ndim == 2:
        arr = apply_voi_lut(apply_modality_lut(arr, ds), ds).astype(np.float64)
        if pi == "MONOCHROME1":
            arr = arr.max() - arr
    step = max(1, int(np.ceil(max(arr.shape[:2]) / max_side)))
    arr = np.asarray(arr[::step, ::step], dtype=np.float64)
    lo, hi = np.percentile(arr, [0.5, 99.5])
    out = np.clip((arr - lo) / max(hi - lo, 1e-9), 0, 1)
    return np.round(out * 255).astype(np.uint8)


def mirrored(grey: np.ndarray) -> np.ndarray:
    """Left-right mirror (situs errors: heart on the right, markers reversed)."""
    return np.ascontiguousarray(grey[:, ::-1])


def film_photo(grey: np.ndarray, seed: int = 0) -> np.ndarray:
    """A radiograph rendered as a phone photograph of a film on a light box (RGB uint8).

    The film sits, slightly rotated, on a bright, cool-tinted light box with a dark frame; the
    film itself is warm-tinted, vignetted and carries sensor noise: the colour and layout cues
    of the "photo of a printed exam" failure.
    """
    from skimage.transform import rotate

    rng = np.random.default_rng(seed)
    h, w = grey.shape
    pad = max(h, w) // 6
    film = grey.astype(np.float64) / 255.0
    canvas = np.full((h + 2 * pad, w + 2 * pad), 0.92)
    canvas[pad:pad + h, pad:pad + w] = 0.08 + 0.8 * (1.0 - film)  # a film is a negative on a light box
    canvas = rotate(canvas, angle=4.0, mode="constant", cval=0.15)
    yy, xx = np.mgrid[0:canvas.shape[0], 0:canvas.shape[1]]
    cy, cx = (canvas.shape[0] - 1) / 2, (canvas.shape[1] - 1) / 2
    r = np.hypot((yy - cy) / cy, (xx - cx) / cx)
    canvas = canvas * (1.0 - 0.35 * np.clip(r - 0.4, 0, None))
    tint = np.array([1.0, 0.93, 0.78])
    rgb = canvas[..., None] * tint + rng.normal(0, 0.02, canvas.shape + (3,))
    return np.round(np.clip(rgb, 0, 1) * 255).astype(np.uint8)


def grid_2x2(tiles: list[np.ndarray], gutter: int = 8) -> np.ndarray:
    """Four greyscale slices tiled 2x2 on a white sheet (a printed multi-panel exam)."""
    from skimage.transform import resize

    side = min(min(t.shape[:2]) for t in tiles)
    cells = [np.round(resize(t.astype(np.float64), (side, side), anti_aliasing=True, preserve_range=True))
             .astype(np.uint8) for t in tiles[:4]]
    size = 2 * side + 3 * gutter
    sheet = np.full((size, size), 255, np.uint8)
    for k, cell in enumerate(cells):
        y = gutter + (k // 2) * (side + gutter)
        x = gutter + (k % 2) * (side + gutter)
        sheet[y:y + side, x:x + side] = cell
    return sheet


def _grey(a: np.ndarray) -> np.ndarray:
    if a.ndim == 2:
        return a
    return np.round(a[..., :3].astype(np.float64) @ np.array([0.299, 0.587, 0.114])).astype(np.uint8)


def build_demo(dest: str | Path) -> Path:
    """Write the demo folder (images + ``manifest.csv``) into ``dest`` and return it."""
    from PIL import Image

    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, str]] = []
    decoded: dict[str, np.ndarray] = {}
    for src in SOURCES:
        p = source_path(src.name)
        out = dest / src.dest
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(p, out)
        rows.append({"path": src.dest, "modality": src.modality, "region": src.region, "task": "",
                     "prompt": src.note, "backend": "original"})
        decoded[src.name] = dicom_to_uint8(p)

    chest = decoded["RG1_J2KR.dcm"]
    made: list[tuple[str, Callable[[], np.ndarray], str, str, str, str]] = [
        ("corrupted/xray_chest_mirrored.png", lambda: mirrored(chest), "xray", "chest", "mirrored",
         "chest radiograph, PA"),
        ("corrupted/xray_chest_film_photo.png", lambda: film_photo(chest), "xray", "chest", "film_photo",
         "chest radiograph, PA"),
        ("corrupted/ct_mr_grid_2x2.png",
         lambda: grid_2x2([_grey(decoded[n]) for n in ("693_UNCR.dcm", "CT_small.dcm", "MR_small.dcm",
                                                        "MR-SIEMENS-DICOM-WithOverlays.dcm")]),
         "ct", "", "grid_2x2", "axial CT slice"),
    ]
    for rel, make, modality, region, kind, prompt in made:
        out = dest / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(make()).save(out)
        rows.append({"path": rel, "modality": modality, "region": region, "task": "text2img",
                     "prompt": prompt, "backend": f"corrupted:{kind}"})

    bad = dest / "bad_inputs"
    bad.mkdir(parents=True, exist_ok=True)
    raw = source_path("CT_small.dcm").read_bytes()
    (bad / "ct_truncated.dcm").write_bytes(raw[: len(raw) // 2])
    (bad / "zero_bytes.png").write_bytes(b"")
    (bad / "not_an_image.png").write_text("this is a text file with an image suffix\n", encoding="utf-8")
    for rel, kind, modality in (("bad_inputs/ct_truncated.dcm", "truncated", "ct"),
                                ("bad_inputs/zero_bytes.png", "zero_bytes", ""),
                                ("bad_inputs/not_an_image.png", "not_an_image", "")):
        rows.append({"path": rel, "modality": modality, "region": "", "task": "text2img", "prompt": "",
                     "backend": f"corrupted:{kind}"})

    with open(dest / "manifest.csv", "w", newline="", encoding="utf-8") as fh:
        wr = csv.DictWriter(fh, fieldnames=_FIELDS, extrasaction="ignore")
        wr.writeheader()
        for r in rows:
            wr.writerow({k: r.get(k, "") for k in _FIELDS})
    return dest


def run_demo(out: Optional[str | Path] = None, progress: bool = False) -> "object":
    """Build the demo folder under ``out`` (default ``anatscore-demo/<timestamp>``) and evaluate it.

    Returns the :class:`~anatscore.api.EvalResult`; the images are in ``out/images`` and the run
    folder (with ``report.html``) in ``out/run``.
    """
    from .api import default_run_dir, evaluate

    root = Path(out) if out is not None else default_run_dir("anatscore-demo")
    if root.exists() and any(root.iterdir()):
        from .api import RunExistsError

        raise RunExistsError(f"refusing to overwrite {root}: it already exists; choose another --out")
    images = build_demo(root / "images")
    return evaluate(images, out=root / "run", progress=progress)

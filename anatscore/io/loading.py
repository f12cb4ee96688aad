"""Decode one image file to a :class:`~anatscore.types.LoadedImage`.

What comes out, whatever went in (see the README's "Inputs" section):

- ``grey``: float32 (H, W) in [0, 1], bright = dense. Colour sources are converted with the
  ITU-R BT.601 luma weights ``Y = 0.299 R + 0.587 G + 0.114 B`` (what PIL's ``convert("L")``
  uses), computed in float so no precision is lost.
- Integer sources are divided by the maximum of their *container* bit depth, ``2**bits - 1``
  (8-bit: 255, 16-bit: 65535): a 12-bit image stored in a 16-bit PNG stays dark, exactly as a
  viewer would show it. Float sources (TIFF) already in [0, 1] are kept; other float ranges are
  min-max scaled to [0, 1] (recorded in ``info["intensity_mapping"]``).
- DICOM: the Modality LUT / rescale slope-intercept and then the VOI LUT or window are applied
  with pydicom's own :func:`~pydicom.pixels.apply_modality_lut` and
  :func:`~pydicom.pixels.apply_voi_lut`; the result is mapped to [0, 1] by the VOI output range
  (for a window: the same ``[y_min, y_max]`` pydicom maps into; for a VOI LUT: the LUT's data
  range). Without any VOI information the modality values are min-max scaled. MONOCHROME1 is
  inverted afterwards (``grey = 1 - grey``) so bone is bright. Colour DICOM (RGB, YBR_* which
  pydicom converts to RGB, PALETTE COLOR through its LUT) keeps ``colour``.
- Multi-frame files (DICOM, TIFF, animated WebP): frame ``meta.extra["frame"]`` (default 0) is
  decoded alone. ``EvalConfig.dicom_frames="all"`` makes :func:`~anatscore.io.discover.discover`
  emit one record per DICOM frame (``image_id`` ``path#frame=N``); the default ``"first"`` scores
  frame 0 and records the frame count in ``info["n_frames"]``.
- ``colour``: uint8 (H, W, 3) for colour sources (16-bit colour is scaled to 8 bits; 16-bit
  colour PNGs reach us already at 8 bits because Pillow decodes them so, noted in
  ``info["precision_note"]``), ``None`` for single-channel sources. Alpha is dropped (the colour values are kept as stored) and
  ``info["alpha_min"]`` records the smallest alpha.

Bad input raises :class:`LoadError` with a human reason: missing, zero-byte, not an image
(sniffed from the first bytes, not the file name), truncated, corrupt, undecodable DICOM (e.g.
no pixel data), larger than ``config.max_pixels`` (checked from the header *before* decoding),
NaN/inf pixels, and constant images (every pixel equal: nothing to score; this is what a
generator's safety filter returns as an all-black image). All state is local to the call, so
decoding is thread-safe.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np

from ..config import EvalConfig
from ..types import CheckResult, ImageMeta, LoadedImage
from .. import vocab

log = logging.getLogger(__name__)

#: BT.601 luma weights used for every colour -> grey conversion.
LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114], dtype=np.float64)

#: DICOM (0008,0060) Modality codes -> anatscore modality, for codes vocab.normalise lacks.
DICOM_MODALITY: dict[str, str] = {
    "CR": "xray", "DX": "xray", "DR": "xray", "MG": "xray", "RF": "xray", "XA": "xray",
    "PX": "xray", "IO": "xray", "RG": "xray", "CT": "ct", "MR": "mri", "US": "us",
    "NM": "nm", "PT": "nm",
}

#: DICOM (0018,0015) Body Part Examined defined terms -> anatscore region, where vocab lacks them.
DICOM_BODY_PART: dict[str, str] = {
    "CSPINE": "cervical_spine", "TSPINE": "thoracic_spine", "LSPINE": "lumbar_spine",
    "LSSPINE": "lumbar_spine", "SSPINE": "spine", "CTSPINE": "spine", "TLSPINE": "spine",
    "SPINE": "spine", "HEAD": "head", "SKULL": "head", "HIP": "pelvis", "PELVIS": "pelvis",
    "HAND": "hand", "FINGER": "finger", "THUMB": "finger", "WRIST": "wrist", "FOREARM": "forearm",
    "ELBOW": "elbow", "ARM": "humerus", "HUMERUS": "humerus", "SHOULDER": "shoulder",
    "CLAVICLE": "shoulder", "CHEST": "chest", "THORAX": "chest", "ABDOMEN": "abdomen",
    "KNEE": "knee", "LEG": "leg", "ANKLE": "ankle", "FOOT": "foot", "TOE": "foot",
    "HEEL": "foot", "FEMUR": "femur", "THIGH": "femur",
}

#: DICOM (0018,5101) View Position -> anatscore view.
DICOM_VIEW: dict[str, str] = {"AP": "ap", "PA": "pa", "LL": "lateral", "RL": "lateral",
                              "LATERAL": "lateral", "LAT": "lateral", "RLD": "lateral",
                              "LLD": "lateral"}

#: DICOM tags copied into ``info["dicom"]`` when present.
DICOM_TAGS: tuple[str, ...] = (
    "Modality", "BodyPartExamined", "ViewPosition", "StudyDescription", "SeriesDescription",
    "PhotometricInterpretation", "BitsStored", "BitsAllocated", "PixelRepresentation",
    "PixelSpacing", "ImagerPixelSpacing", "RescaleSlope", "RescaleIntercept", "WindowCenter",
    "WindowWidth", "NumberOfFrames", "Manufacturer", "PatientOrientation", "Laterality",
    "ImageLaterality",
)

_INPAINT_TASKS = ("inpaint", "outpaint")


class LoadError(Exception):
    """An input could not be decoded; ``str(err)`` is the human reason for the ``load`` record."""


class RefusedInput(LoadError):
    """The record is a refused generation (manifest ``refused=true``): nothing to decode.

    Not a failure: the runner should check ``meta.refused`` and record it as refused instead
    of calling :func:`load_image`; this is raised only if it does call it.
    """


@dataclass
class _Decoded:
    """Intermediate result of one decoder: grey in [0, 1], optional colour, info."""

    grey: np.ndarray
    colour: Optional[np.ndarray]
    fmt: str
    info: dict[str, Any]


# ----------------------------------------------------------------------------------------------
# entry points
# ----------------------------------------------------------------------------------------------


def load_image(meta: ImageMeta, config: EvalConfig | None = None) -> LoadedImage:
    """Decode ``meta.abspath`` (frame ``meta.extra.get("frame", 0)``) into a LoadedImage.

    Fills ``meta.width/height/format`` and, for DICOM, ``meta.modality/region/view`` from the
    header when they are empty (recording ``meta.inferred[field] = "dicom"``). For inpaint and
    outpaint tasks (or whenever the manifest names them) ``original`` and ``mask`` are loaded too.

    Raises:
        LoadError: with a human-readable reason for every kind of bad input.
    """
    config = config or EvalConfig()
    if meta.refused:
        raise RefusedInput("generation was refused (manifest refused=true): nothing to decode")
    pre = meta.extra.get("load_error")
    if pre:
        raise LoadError(str(pre))
    if not meta.abspath:
        raise LoadError("no file path for this record")
    frame = int(meta.extra.get("frame", 0) or 0)
    dec = decode_file(meta.abspath, config, frame=frame)
    _check_content(dec.grey, "image")
    meta.height, meta.width = dec.grey.shape
    meta.format = dec.fmt
    if dec.fmt == "dicom":
        _infer_from_dicom(meta, dec.info.get("dicom", {}))
    image = LoadedImage(meta=meta, grey=dec.grey, colour=dec.colour, info=dec.info)
    _attach_original_and_mask(image, config)
    return image


def load_check(image: LoadedImage, ctx: object) -> CheckResult:
    """The ``load`` record of an image that decoded: passes, describing what was decoded."""
    h, w = image.grey.shape
    info = image.info
    parts = [f"decoded {w}x{h} {image.meta.format}".strip()]
    if info.get("bit_depth"):
        parts.append(f"{info['bit_depth']}-bit")
    if info.get("photometric"):
        parts.append(str(info["photometric"]))
    if info.get("n_frames", 1) > 1:
        parts.append(f"frame {info.get('frame', 0)} of {info['n_frames']}")
    return CheckResult.judge(
        "load", None, True, " ".join(parts),
        width=w, height=h, bit_depth=info.get("bit_depth"), format=image.meta.format,
    )


def decode_file(path: str | Path, config: EvalConfig | None = None, frame: int = 0) -> _Decoded:
    """Decode one file to grey [0, 1] (+ colour) without any ImageMeta bookkeeping.

    Used for the image itself and for inpainting originals and masks.
    """
    config = config or EvalConfig()
    p = Path(path)
    if not p.exists():
        raise LoadError(f"file not found: {p.name}")
    if not p.is_file():
        raise LoadError(f"not a regular file: {p.name}")
    size = p.stat().st_size
    if size == 0:
        raise LoadError("empty file (0 bytes)")
    with open(p, "rb") as fh:
        head = fh.read(512)
    kind = sniff(head, p.suffix.lower())
    if kind is None:
        raise LoadError(f"not an image: {_describe_bytes(head)} ({p.name})")
    decoder = _DECODERS[kind]
    return decoder(p, config, frame)


# ----------------------------------------------------------------------------------------------
# format sniffing
# ----------------------------------------------------------------------------------------------

_MAGIC: tuple[tuple[bytes, int, str], ...] = (
    # DICOM first: a DICOM preamble may itself look like a TIFF header (dual-personality files)
    (b"DICM", 128, "dicom"),
    (b"\x89PNG\r\n\x1a\n", 0, "pil"),
    (b"\xff\xd8\xff", 0, "pil"),
    (b"II*\x00", 0, "tiff"),
    (b"MM\x00*", 0, "tiff"),
    (b"II+\x00", 0, "tiff"),
    (b"MM\x00+", 0, "tiff"),
    (b"BM", 0, "pil"),
    (b"GIF8", 0, "pil"),
)


def sniff(head: bytes, suffix: str = "") -> Optional[str]:
    """Which decoder family the first bytes belong to: ``pil``, ``tiff``, ``dicom`` or None.

    DICOM files without the 128-byte preamble (legal in old files) are accepted when the name
    ends in ``.dcm``/``.dicom`` and pydicom can parse them (checked by the DICOM decoder).
    """
    for magic, off, kind in _MAGIC:
        if head[off:off + len(magic)] == magic:
            return kind
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "pil"
    if suffix in (".dcm", ".dicom") or suffix == "":
        # possibly a preamble-less DICOM: group 0x0008 or 0x0002 little-endian tag at byte 0
        if head[:2] in (b"\x08\x00", b"\x02\x00"):
            return "dicom"
    return None


def _describe_bytes(head: bytes) -> str:
    sample = head[:64]
    try:
        text = sample.decode("utf-8")
        if all(c.isprintable() or c.isspace() for c in text):
            return f"file starts with text {text[:24].strip()!r}"
    except UnicodeDecodeError:
        pass
    return f"unrecognised header bytes {sample[:8].hex(' ')}"


# ----------------------------------------------------------------------------------------------
# PIL (PNG, JPEG, BMP, WebP, GIF) and TIFF
# ----------------------------------------------------------------------------------------------


def _guard_pixels(w: int, h: int, n: int, config: EvalConfig, what: str) -> None:
    if w <= 0 or h <= 0:
        raise LoadError(f"{what} declares an empty size {w}x{h}")
    if w * h * max(n, 1) > config.max_pixels:
        raise LoadError(
            f"decompression-bomb guard: {what} declares {w}x{h}"
            + (f"x{n} frames" if n > 1 else "")
            + f" = {w * h * max(n, 1):,} pixels, above max_pixels={config.max_pixels:,}"
        )


def _decode_pil(path: Path, config: EvalConfig, frame: int) -> _Decoded:
    from PIL import Image, UnidentifiedImageError

    try:
        im = Image.open(path)
    except Image.DecompressionBombError as exc:
        raise LoadError(f"decompression-bomb guard (PIL): {exc}") from exc
    except UnidentifiedImageError as exc:
        raise LoadError(f"corrupt image: PIL cannot identify {path.name}") from exc
    except OSError as exc:
        raise LoadError(f"corrupt image header: {exc}") from exc
    with im:
        fmt = (im.format or path.suffix.lstrip(".")).lower()
        w, h = im.size
        _guard_pixels(w, h, 1, config, f"{fmt.upper()} header")
        n_frames = int(getattr(im, "n_frames", 1) or 1)
        try:
            if frame:
                im.seek(frame)
            im.load()
        except EOFError as exc:
            raise LoadError(f"frame {frame} does not exist ({n_frames} frames)") from exc
        except Image.DecompressionBombError as exc:
            raise LoadError(f"decompression-bomb guard (PIL): {exc}") from exc
        except (OSError, SyntaxError, ValueError) as exc:
            msg = str(exc)
            if "truncated" in msg.lower():
                raise LoadError(f"truncated file: {msg}") from exc
            raise LoadError(f"corrupt {fmt.upper()} data: {msg}") from exc
        info: dict[str, Any] = {"mode": im.mode, "n_frames": n_frames, "frame": frame}
        grey, colour, info2 = _pil_to_arrays(im, fmt)
    info.update(info2)
    if fmt == "png" and _png_16bit_colour(path):
        # Pillow decodes 16-bit-per-channel colour PNGs to 8 bits per channel (known limitation)
        info["precision_note"] = "16-bit colour PNG decoded at 8 bits per channel (Pillow)"
    return _Decoded(grey=grey, colour=colour, fmt=fmt, info=info)


def _png_16bit_colour(path: Path) -> bool:
    """True for a PNG whose IHDR says 16 bits per sample with colour (types 2 RGB, 6 RGBA)."""
    with open(path, "rb") as fh:
        head = fh.read(26)
    return len(head) == 26 and head[12:16] == b"IHDR" and head[24] == 16 and head[25] in (2, 6)


def _pil_bit_depth(im: Any, fmt: str) -> int:
    """Container bit depth of an integer PIL image (16 for 16-bit PNG/TIFF, else by mode)."""
    mode = im.mode
    if mode.startswith("I;16"):
        return 16
    if mode == "I":
        # Pillow opens 16-bit greyscale PNGs as "I" on some versions; PNG stores at most 16 bits
        if fmt == "png":
            return 16
        arr_max = int(np.asarray(im).max()) if im.size[0] * im.size[1] else 0
        return 16 if arr_max <= 65535 else 32
    if mode == "1":
        return 1
    return 8


def _pil_to_arrays(im: Any, fmt: str) -> tuple[np.ndarray, Optional[np.ndarray], dict[str, Any]]:
    mode = im.mode
    info: dict[str, Any] = {}
    if mode == "P" or mode == "PA":
        im = im.convert("RGBA" if ("transparency" in im.info or mode == "PA") else "RGB")
        info["palette"] = True
        mode = im.mode
    if mode in ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        arr = np.asarray(im)
        if mode == "LA":
            info["alpha_min"] = int(arr[..., 1].min())
            arr = arr[..., 0]
        if mode == "F":
            grey, mapping = _float_to_unit(arr.astype(np.float64))
            info.update(bit_depth=32, photometric="grey", intensity_mapping=mapping)
            return grey, None, info
        bits = _pil_bit_depth(im, fmt)
        info.update(bit_depth=bits, photometric="grey",
                     intensity_mapping=f"value / {2 ** bits - 1}")
        return (arr.astype(np.float64) / (2 ** bits - 1)).astype(np.float32), None, info
    if mode not in ("RGB", "RGBA"):
        im = im.convert("RGBA" if "A" in mode else "RGB")
    arr = np.asarray(im)
    if arr.shape[-1] == 4:
        info["alpha_min"] = int(arr[..., 3].min())
        arr = arr[..., :3]
    colour = np.ascontiguousarray(arr, dtype=np.uint8)
    info.update(bit_depth=8, photometric="RGB", intensity_mapping="BT.601 luma / 255")
    return _luma(colour.astype(np.float64) / 255.0), colour, info


def _decode_tiff(path: Path, config: EvalConfig, frame: int) -> _Decoded:
    """TIFF through tifffile (16-bit, float, multi-channel); PIL as fallback for codecs
    tifffile lacks without imagecodecs (e.g. JPEG-in-TIFF)."""
    import tifffile

    try:
        with tifffile.TiffFile(path) as tif:
            pages = tif.pages
            n_frames = len(pages)
            if frame >= n_frames:
                raise LoadError(f"frame {frame} does not exist ({n_frames} pages)")
            page = pages[frame]
            shape = page.shape
            spp = int(getattr(page, "samplesperpixel", 1) or 1)
            h, w = int(page.imagelength), int(page.imagewidth)
            _guard_pixels(w, h, 1, config, "TIFF header")
            try:
                arr = page.asarray()
            except ValueError as exc:  # typically: a codec tifffile needs imagecodecs for
                if "imagecodecs" in str(exc):
                    raise _UsePil() from exc
                raise
            photometric = str(getattr(page.photometric, "name", page.photometric))
            bits = int(page.bitspersample)
            dtype_kind = arr.dtype.kind
    except LoadError:
        raise
    except _UsePil:
        dec = _decode_pil(path, config, frame)
        return dec
    except (tifffile.TiffFileError, ValueError, OSError, IndexError, KeyError) as exc:
        msg = str(exc)
        low = msg.lower()
        if "truncat" in low or "failed to read" in low or "out of range" in low or isinstance(exc, IndexError):
            raise LoadError(f"truncated TIFF: {msg}") from exc
        raise LoadError(f"corrupt TIFF: {msg}") from exc
    info: dict[str, Any] = {"n_frames": n_frames, "frame": frame, "bit_depth": bits,
                            "tiff_shape": list(shape), "photometric": photometric}
    arr = np.asarray(arr)
    if arr.ndim == 3 and arr.shape[0] in (3, 4) and arr.shape[-1] not in (3, 4) and spp in (3, 4):
        arr = np.moveaxis(arr, 0, -1)  # planar configuration
    if arr.ndim == 3 and arr.shape[-1] in (2, 4):
        info["alpha_min"] = float(arr[..., -1].min())
        arr = arr[..., :-1]
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[-1] != 3):
        raise LoadError(f"unsupported TIFF layout: array shape {arr.shape}")
    if dtype_kind == "f":
        unit, mapping = _float_to_unit(arr.astype(np.float64))
    elif dtype_kind in "ui" or dtype_kind == "b":
        if dtype_kind == "b":
            bits = 1
        if photometric == "MINISWHITE":
            arr = (2 ** bits - 1) - arr.astype(np.int64)
        unit = arr.astype(np.float64) / (2 ** bits - 1)
        mapping = f"value / {2 ** bits - 1}"
    else:
        raise LoadError(f"unsupported TIFF sample type {arr.dtype}")
    info["intensity_mapping"] = mapping
    if unit.ndim == 3:
        colour = np.clip(np.rint(unit * 255.0), 0, 255).astype(np.uint8)
        return _Decoded(grey=_luma(unit), colour=colour, fmt="tiff", info=info)
    return _Decoded(grey=unit.astype(np.float32), colour=None, fmt="tiff", info=info)


class _UsePil(Exception):
    pass


def _float_to_unit(arr: np.ndarray) -> tuple[np.ndarray, str]:
    """Float data: kept if already within [0, 1], else min-max scaled; non-finite refused."""
    bad = int(np.count_nonzero(~np.isfinite(arr)))
    if bad:
        raise LoadError(f"image contains {bad} NaN/inf pixel value(s)")
    lo, hi = float(arr.min()), float(arr.max())
    if lo >= 0.0 and hi <= 1.0:
        return arr.astype(np.float32), "float kept as is (already in [0, 1])"
    if hi == lo:
        return np.zeros(arr.shape, np.float32), f"float constant {lo:g}"
    return ((arr - lo) / (hi - lo)).astype(np.float32), f"float min-max [{lo:g}, {hi:g}] -> [0, 1]"


def _luma(rgb_unit: np.ndarray) -> np.ndarray:
    """BT.601 luma of an (H, W, 3) float array in [0, 1] -> float32 (H, W)."""
    return (rgb_unit[..., :3] @ LUMA_WEIGHTS).astype(np.float32)


# ----------------------------------------------------------------------------------------------
# DICOM
# ----------------------------------------------------------------------------------------------


#: (7FE0,0010) Pixel Data tag as it appears in little-endian files.
_PIXEL_DATA_TAG = b"\xe0\x7f\x10\x00"


def _decode_dicom(path: Path, config: EvalConfig, frame: int) -> _Decoded:
    import pydicom
    from pydicom.errors import InvalidDicomError
    from pydicom.pixels import apply_color_lut, apply_modality_lut, apply_voi_lut, pixel_array

    try:
        ds = pydicom.dcmread(path, force=True)
    except InvalidDicomError as exc:
        raise LoadError(f"not a valid DICOM file: {exc}") from exc
    except Exception as exc:  # noqa: BLE001 - pydicom raises many types on garbage
        raise LoadError(f"corrupt DICOM header: {type(exc).__name__}: {exc}") from exc
    if "PixelData" not in ds and "FloatPixelData" not in ds and "DoubleFloatPixelData" not in ds:
        if _PIXEL_DATA_TAG in path.read_bytes():
            raise LoadError("DICOM pixel data element is unreadable: the file is truncated or corrupt "
                            "after the header")
        raise LoadError("DICOM file has no pixel data (e.g. a structured report or a header-only file)")
    rows, cols = int(ds.get("Rows", 0) or 0), int(ds.get("Columns", 0) or 0)
    n_frames = int(ds.get("NumberOfFrames", 1) or 1)
    _guard_pixels(cols, rows, 1, config, "DICOM header")
    if frame >= n_frames:
        raise LoadError(f"frame {frame} does not exist ({n_frames} frames)")
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).strip().upper()
    tags = _dicom_tags(ds)
    info: dict[str, Any] = {
        "n_frames": n_frames, "frame": frame, "photometric": photometric,
        "bit_depth": int(ds.get("BitsStored", 0) or 0),
        "transfer_syntax": str(getattr(ds.file_meta, "TransferSyntaxUID", "")) if hasattr(ds, "file_meta") else "",
        "dicom": tags,
    }
    try:
        arr = pixel_array(ds, index=frame if n_frames > 1 else None)
    except Exception as exc:  # noqa: BLE001 - every pixel-decoder failure becomes a reason
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        msg = msg.split(" - ")[0]  # pydicom appends generic advice after " - "
        low = msg.lower()
        if "plugin" in low or "unable to decode" in low or "no pixel data handlers" in low:
            raise LoadError(f"cannot decode DICOM pixel data ({info['transfer_syntax']}): {msg}") from exc
        if any(w in low for w in ("buffer", "length", "truncat", "size", "less than expected", "end of")):
            raise LoadError(f"truncated or inconsistent DICOM pixel data: {msg}") from exc
        raise LoadError(f"cannot decode DICOM pixel data: {type(exc).__name__}: {msg}") from exc
    if arr.ndim == 3 and arr.shape[-1] not in (3, 4) and n_frames > 1:
        arr = arr[0]  # defensive: some plugins return all frames
    if photometric == "PALETTE COLOR":
        rgb = apply_color_lut(arr, ds)
        return _dicom_colour(rgb, info, "palette LUT -> RGB")
    if arr.ndim == 3:
        # RGB or YBR_*: pydicom's pixel_array converts YBR to RGB (as_rgb=True default)
        return _dicom_colour(arr, info, "colour -> RGB (pydicom)")
    # greyscale: Modality LUT / rescale, then VOI LUT / window
    values = apply_modality_lut(arr, ds)
    has_voi = bool(ds.get("VOILUTSequence")) or (
        ds.get("WindowCenter") is not None and ds.get("WindowWidth") is not None
    )
    if has_voi:
        try:
            lo, hi = _voi_output_range(ds)
            out = np.asarray(apply_voi_lut(values, ds), dtype=np.float64)
            grey = (out - lo) / (hi - lo) if hi > lo else np.zeros_like(out)
            mapping = f"modality LUT, VOI ({'LUT' if ds.get('VOILUTSequence') else 'window'}) -> [{lo:g}, {hi:g}] -> [0, 1]"
        except Exception as exc:  # noqa: BLE001 - a broken VOI falls back to min-max
            log.info("%s: VOI LUT/window unusable (%s); min-max scaling instead", path.name, exc)
            grey, mapping = _minmax(values)
            mapping += f" (VOI unusable: {exc})"
    else:
        grey, mapping = _minmax(values)
    grey = np.clip(grey, 0.0, 1.0)
    if photometric == "MONOCHROME1":
        grey = 1.0 - grey
        mapping += ", MONOCHROME1 inverted"
    info["intensity_mapping"] = mapping
    return _Decoded(grey=grey.astype(np.float32), colour=None, fmt="dicom", info=info)


def _minmax(values: np.ndarray) -> tuple[np.ndarray, str]:
    v = np.asarray(values, dtype=np.float64)
    bad = int(np.count_nonzero(~np.isfinite(v)))
    if bad:
        raise LoadError(f"image contains {bad} NaN/inf pixel value(s)")
    lo, hi = float(v.min()), float(v.max())
    if hi <= lo:
        return np.zeros(v.shape), f"constant {lo:g}"
    return (v - lo) / (hi - lo), f"modality LUT, min-max [{lo:g}, {hi:g}] -> [0, 1]"


def _voi_output_range(ds: Any) -> tuple[float, float]:
    """The value range pydicom's ``apply_voi_lut`` maps into.

    For a VOI LUT it is the LUT data range. For a window it mirrors pydicom's
    ``apply_windowing`` (PS3.3 C.11.2.1.2): ``[y_min, y_max]`` of the stored bit depth, passed
    through rescale slope/intercept when present; pydicom does not return this range, so we
    recompute it here to map the window output to [0, 1].
    """
    seq = ds.get("VOILUTSequence")
    if seq:
        # pass the LUT's whole input domain through pydicom's own apply_voi (LUTData may be
        # stored as US values or as OW bytes; pydicom knows how to read both)
        from pydicom.pixels import apply_voi

        n, first = int(seq[0].LUTDescriptor[0]) or 65536, int(seq[0].LUTDescriptor[1])
        data = np.asarray(apply_voi(np.arange(first, first + n), ds), dtype=np.float64)
        return float(data.min()), float(data.max())
    if ds.get("ModalityLUTSequence"):
        bits = int(ds.ModalityLUTSequence[0].LUTDescriptor[2])
        y_min, y_max = 0.0, float(2 ** bits - 1)
    elif int(ds.get("PixelRepresentation", 0) or 0) == 0:
        y_min, y_max = 0.0, float(2 ** int(ds.BitsStored) - 1)
    else:
        y_min, y_max = float(-(2 ** (int(ds.BitsStored) - 1))), float(2 ** (int(ds.BitsStored) - 1) - 1)
    slope, icpt = ds.get("RescaleSlope"), ds.get("RescaleIntercept")
    if slope is not None and icpt is not None:
        y_min, y_max = y_min * float(slope) + float(icpt), y_max * float(slope) + float(icpt)
    return min(y_min, y_max), max(y_min, y_max)


def _dicom_colour(rgb: np.ndarray, info: dict[str, Any], mapping: str) -> _Decoded:
    rgb = np.asarray(rgb)
    if rgb.shape[-1] == 4:
        rgb = rgb[..., :3]
    bits = 16 if rgb.dtype.itemsize > 1 else 8
    unit = rgb.astype(np.float64) / (2 ** bits - 1)
    colour = np.clip(np.rint(unit * 255.0), 0, 255).astype(np.uint8)
    info["intensity_mapping"] = f"{mapping}, BT.601 luma / {2 ** bits - 1}"
    return _Decoded(grey=_luma(unit), colour=colour, fmt="dicom", info=info)


def _dicom_tags(ds: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kw in DICOM_TAGS:
        try:
            val = ds.get(kw)
        except Exception:  # noqa: BLE001 - a malformed element is skipped, not fatal
            continue
        if val is None or val == "":
            continue
        if isinstance(val, (list, tuple)) or type(val).__name__ == "MultiValue":
            val = [_plain(v) for v in val]
        else:
            val = _plain(val)
        out[kw] = val
    return out


def _plain(v: Any) -> Any:
    if isinstance(v, (int, float, str)):
        return v
    try:
        f = float(v)
        return int(f) if f.is_integer() and "." not in str(v) else f
    except (TypeError, ValueError):
        return str(v)


#: Free-text tags searched for a region word when Body Part Examined gives none (it is optional and
#: often a generic term such as ``EXTREMITY``); first tag naming exactly one region wins.
DICOM_REGION_TEXT_TAGS: tuple[str, ...] = ("StudyDescription", "SeriesDescription", "ProtocolName")


def _region_from_text(tags: dict[str, Any]) -> tuple[str, str]:
    """(region, tag) from the first free-text tag that names exactly one region, else ("", "")."""
    from ..terms import find_terms

    for tag in DICOM_REGION_TEXT_TAGS:
        text = str(tags.get(tag, "") or "").replace("^", " ")
        found = {h.label for h in find_terms(text, vocab.phrases("region"))}
        if len(found) == 1:
            return found.pop(), tag
    return "", ""


def _infer_from_dicom(meta: ImageMeta, tags: dict[str, Any]) -> None:
    """Fill empty meta.modality/region/view from DICOM tags; record ``inferred[f] = "dicom"``
    (``"dicom:StudyDescription"`` etc. for a region read from a description)."""
    lookups = (
        ("modality", "Modality", DICOM_MODALITY),
        ("region", "BodyPartExamined", DICOM_BODY_PART),
        ("view", "ViewPosition", DICOM_VIEW),
    )
    for field_name, tag, table in lookups:
        if getattr(meta, field_name):
            continue
        raw = str(tags.get(tag, "") or "").strip()
        if not raw:
            continue
        value = table.get(raw.upper().replace(" ", ""))
        if value is None:
            try:
                value = vocab.normalise(field_name, raw)
            except ValueError:
                value = ""
        if value:
            setattr(meta, field_name, value)
            meta.inferred[field_name] = "dicom"
    if not meta.region:
        region, tag = _region_from_text(tags)
        if region:
            meta.region = region
            meta.inferred["region"] = f"dicom:{tag}"


_DECODERS = {"pil": _decode_pil, "tiff": _decode_tiff, "dicom": _decode_dicom}


# ----------------------------------------------------------------------------------------------
# content checks, originals and masks
# ----------------------------------------------------------------------------------------------


def _check_content(grey: np.ndarray, what: str) -> None:
    bad = int(np.count_nonzero(~np.isfinite(grey)))
    if bad:
        raise LoadError(f"{what} contains {bad} NaN/inf pixel value(s)")
    if grey.size == 0:
        raise LoadError(f"{what} is empty (0 pixels)")
    lo, hi = float(grey.min()), float(grey.max())
    if hi - lo < 1e-6:
        raise LoadError(
            f"{what} is constant (every pixel = {lo:.3f}): nothing to score "
            "(an all-black image is what a generator's safety filter returns)"
        )


def _resolve_aux(meta: ImageMeta, field_name: str) -> Optional[str]:
    rel = getattr(meta, field_name)
    if not rel:
        return None
    ab = meta.extra.get(f"{field_name}_abspath")
    if ab:
        return str(ab)
    if meta.abspath and meta.path and meta.abspath.replace("\\", "/").endswith(meta.path):
        root = meta.abspath[: len(meta.abspath) - len(meta.path)]
        return str(Path(root) / rel)
    return str(Path(meta.abspath).parent / rel)


def _attach_original_and_mask(image: LoadedImage, config: EvalConfig) -> None:
    """Load ``original`` (grey) and ``mask`` (bool, True = generated) when named.

    Size rules: the mask must match the image; for inpainting the original must match the
    image too; for outpainting the original is the smaller source and may differ.
    """
    meta = image.meta
    h, w = image.grey.shape
    orig_path = _resolve_aux(meta, "original")
    mask_path = _resolve_aux(meta, "mask")
    if meta.task in _INPAINT_TASKS and not (orig_path and mask_path):
        missing = [n for n, p in (("original", orig_path), ("mask", mask_path)) if not p]
        image.info["aux_missing"] = missing
        log.info("%s: task %s without %s; original+mask checks will not apply",
                 meta.image_id, meta.task, " and ".join(missing))
    if orig_path:
        try:
            dec = decode_file(orig_path, config)
        except LoadError as exc:
            raise LoadError(f"original {meta.original!r}: {exc}") from exc
        if meta.task != "outpaint" and dec.grey.shape != (h, w):
            oh, ow = dec.grey.shape
            raise LoadError(f"original {meta.original!r} is {ow}x{oh} but the image is {w}x{h}")
        image.original = dec.grey
    if mask_path:
        try:
            dec = decode_file(mask_path, config)
        except LoadError as exc:
            raise LoadError(f"mask {meta.mask!r}: {exc}") from exc
        if dec.grey.shape != (h, w):
            mh, mw = dec.grey.shape
            raise LoadError(f"mask {meta.mask!r} is {mw}x{mh} but the image is {w}x{h}")
        mask = dec.grey > 0.5
        image.mask = mask
        image.info["mask_fraction"] = float(mask.mean())

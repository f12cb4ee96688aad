"""Head (lateral skull) cases: the 31 real cephalograms expected to pass ``head.skull_vault``,
and controlled corruptions of each placed with the orthodontists' landmarks:

- ``vault_segment_erased``: a stretch of the frontal bone (rows 35..75 % of the way from the
  film's top to the nasion landmark, from the skin to 4 % of the width inside the brightest
  column of the frontal bone) replaced by scalp-level soft tissue with the scalp's own
  fine-grain texture, feathered edges (no rim);
- ``vault_wavy``: the same part of the vault rippled by ``skimage.transform.warp`` with a smooth
  horizontal displacement ``A sin(2 pi y / lambda)`` (``A`` = 2 % of the width, ``lambda`` = 45 %
  of the nasion height) under a Gaussian window centred on the skin line (sigma 6 % of the width)
  and on the forehead rows.

Landmarks: ``landmarks_half_mollabashi/<id>.json`` (labelme; ``l2`` = nasion). The even-indexed
films (sorted by name) calibrate, the odd-indexed are held out (``meta["half"]``).
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Iterator, Optional

import numpy as np
from PIL import Image
from scipy import ndimage as ndi

from . import Case

CEPH = "real/xray/head_cephalogram"
VAULT = "head.skull_vault"


def _grey(path: Path) -> np.ndarray:
    """Same decoding as ``anatscore.io.loading`` for 8-bit files: PIL 'L' / 255."""
    with Image.open(path) as im:
        return np.asarray(im.convert("L"), dtype=np.float32) / 255.0


def nasion(landmark_file: Path) -> tuple[float, float]:
    """(row, col) of the nasion (label ``l2``) in the half-resolution film."""
    shapes = json.loads(landmark_file.read_text())["shapes"]
    x, y = next(s["points"][0] for s in shapes if s["label"] == "l2")
    return float(y), float(x)


def _skin_cols(g: np.ndarray, rows: np.ndarray, start_col: int) -> np.ndarray:
    """Per row, the first column right of ``start_col`` where the smoothed film drops to air
    (below the midpoint of the row's soft-tissue and air levels): the forehead's skin line."""
    gs = ndi.gaussian_filter(g, 2.0)
    out = np.empty(rows.size, int)
    for i, r in enumerate(rows):
        line = gs[r, start_col:]
        air = float(np.percentile(line, 5))
        head = float(np.median(line[: max(3, line.size // 8)]))
        below = np.flatnonzero(line < 0.5 * (air + head))
        out[i] = start_col + (int(below[0]) if below.size else line.size - 1)
    return out


def _forehead_rows(g: np.ndarray, n_row: float, lo: float, hi: float) -> np.ndarray:
    return np.arange(int(lo * n_row), int(hi * n_row))


def erase_vault_segment(g: np.ndarray, nasion_rc: tuple[float, float], lo: float = 0.35,
                        hi: float = 0.75) -> np.ndarray:
    """Replace a stretch of the frontal bone by scalp-level soft tissue (see module docstring).

    Per row: the bone = the brightest column of the smoothed row within 20 % of the width left
    of the nasion (to 3 % right of it); the skin = the first column right of it below the
    midpoint of that peak and the row's air level. The erased span runs from 4 % of the width
    inside the bone peak to the skin; its fill is the scalp's level (the median just inside the
    skin) plus noise of the film's fine-grain amplitude, with feathered edges.
    """
    h, w = g.shape
    ny, nx = nasion_rc
    gs = ndi.gaussian_filter(g, 2.0)
    rows = _forehead_rows(g, ny, lo, hi)
    mask = np.zeros_like(g, dtype=bool)
    scalp: list[float] = []
    a0, a1 = max(0, int(nx - 0.2 * w)), min(w - 1, int(nx + 0.03 * w))
    for r in rows:
        line = gs[r]
        peak = a0 + int(np.argmax(line[a0:a1]))
        air = float(np.percentile(line[peak:], 5))
        below = np.flatnonzero(line[peak:] < 0.5 * (line[peak] + air))
        skin = peak + (int(below[0]) if below.size else 0)
        mask[r, max(0, peak - int(0.04 * w)):min(w, skin + 1)] = True
        scalp.extend(g[r, max(peak + 1, skin - int(0.01 * w)):skin])
    level = float(np.median(scalp)) if scalp else float(np.median(g))
    rng = np.random.default_rng(int(ny) * 7 + int(nx))
    fine = g - ndi.gaussian_filter(g, 1.5)
    noise = rng.normal(0.0, float(np.std(fine)) or 0.01, g.shape)
    fill = level + ndi.gaussian_filter(noise, 0.8) * 1.5
    alpha = ndi.gaussian_filter(mask.astype(np.float64), 2.0)
    out = (1 - alpha) * g + alpha * fill
    return np.clip(out, 0, 1).astype(np.float32)


def wavy_vault(g: np.ndarray, nasion_rc: tuple[float, float], amp: float = 0.02,
               wavelength: float = 0.45) -> np.ndarray:
    """Ripple the forehead's vault with a smooth, localised displacement (see module docstring)."""
    from skimage.transform import warp

    h, w = g.shape
    ny, nx = nasion_rc
    rows = np.arange(h)
    skin = _skin_cols(g, np.clip(rows, 0, int(ny)), max(0, int(nx - 0.25 * w))).astype(np.float64)
    yy, xx = np.mgrid[:h, :w].astype(np.float64)
    win_x = np.exp(-0.5 * ((xx - skin[:, None]) / (0.06 * w)) ** 2)
    win_y = np.exp(-0.5 * ((yy - 0.45 * ny) / (0.3 * ny)) ** 2)
    dx = amp * w * np.sin(2 * np.pi * yy / (wavelength * ny)) * win_x * win_y
    return warp(g, np.array([yy, xx + dx]), order=1, mode="edge", preserve_range=True).astype(np.float32)


def _corrupt(kind: str, img: Path, lm: Path) -> np.ndarray:
    g = _grey(img)
    n = nasion(lm)
    return erase_vault_segment(g, n) if kind == "erase" else wavy_vault(g, n)


def cephalograms(data: Optional[Path]) -> list[tuple[Path, Path]]:
    """(image, landmark file) pairs of the real cephalograms, sorted by name."""
    if data is None:
        return []
    root = data / CEPH
    out = []
    for p in sorted((root / "images_half").glob("*.png")):
        lm = root / "landmarks_half_mollabashi" / f"{p.stem}.json"
        if lm.is_file():
            out.append((p, lm))
    return out


def cases(data_dir: Optional[Path]) -> Iterator[Case]:
    """Real cephalograms (expected to pass) and two corruptions of each."""
    for i, (img, lm) in enumerate(cephalograms(data_dir)):
        half = "even" if i % 2 == 0 else "odd"
        name = f"cephalogram/{img.name}"
        meta = {"half": half}
        yield Case(name, "head", "real", partial(_grey, img), {VAULT: True}, view="lateral", meta=meta)
        yield Case(f"{name}#vault_erased", "head", "corrupt", partial(_corrupt, "erase", img, lm),
                   {VAULT: False}, failure_type="vault_segment_erased", view="lateral", meta=dict(meta))
        yield Case(f"{name}#vault_wavy", "head", "corrupt", partial(_corrupt, "wavy", img, lm),
                   {VAULT: False}, failure_type="vault_wavy", view="lateral", meta=dict(meta))

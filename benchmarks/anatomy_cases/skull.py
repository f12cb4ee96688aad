"""Head (lateral skull) cases: the 31 real cephalograms expected to pass ``head.skull_vault``,
and controlled corruptions of each placed with the orthodontists' landmarks:

- ``vault_segment_erased``: a stretch of the frontal bone (rows 35..75 % of the way from the
  film's top to the nasion landmark, from just beyond the outer surface of the bone to 4 % of
  the width inside its brightest column) replaced by the straight-line blend of the tissue on
  either side (cranial cavity, scalp) with the film's own fine-grain noise, feathered (no rim);
- ``vault_wavy``: the same part of the vault rippled by ``skimage.transform.warp`` with a smooth
  horizontal displacement ``A sin(2 pi y / lambda)`` (``A`` = 3 % of the width, ``lambda`` = 45 %
  of the nasion height) under a Gaussian window centred on the frontal bone (sigma 6 % of the width)
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


def _forehead_rows(g: np.ndarray, n_row: float, lo: float, hi: float) -> np.ndarray:
    return np.arange(max(0, int(lo * n_row)), min(g.shape[0], int(hi * n_row)))


def frontal_bone(g: np.ndarray, nasion_rc: tuple[float, float], rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the frontal bone's brightest column and its outer surface (columns).

    On the smoothed row, walking right from 20 % of the width behind the nasion, the head ends
    where the row first drops to within 0.1 of its air level (5th percentile right of the
    start); the bone is the brightest column before that, and its outer surface the first
    column after it below the midpoint of bone and air. Placed from the landmark and the
    film, independently of ``anatscore.anatomy.skull``.
    """
    w = g.shape[1]
    gs = ndi.gaussian_filter(g, 2.0)
    a0 = max(0, int(nasion_rc[1] - 0.2 * w))
    peaks = np.empty(rows.size, int)
    outers = np.empty(rows.size, int)
    for i, r in enumerate(rows):
        line = gs[r, a0:]
        air = float(np.percentile(line, 5))
        gone = np.flatnonzero(line[5:] < air + 0.1)
        end = 5 + (int(gone[0]) if gone.size else line.size - 5)
        peak = int(np.argmax(line[:end]))
        below = np.flatnonzero(line[peak:] < 0.5 * (line[peak] + air))
        peaks[i] = a0 + peak
        outers[i] = a0 + peak + (int(below[0]) if below.size else 0)
    return peaks, outers


def erase_vault_segment(g: np.ndarray, nasion_rc: tuple[float, float], lo: float = 0.35,
                        hi: float = 0.75) -> np.ndarray:
    """Replace a stretch of the frontal bone by the neighbouring tissue (see module docstring).

    The bone per row comes from :func:`frontal_bone`. The span from 4 % of the width inside
    the bone peak to 2 px beyond its outer surface is replaced by the straight-line blend of the
    tissue either side (cranial cavity inside, scalp outside) plus noise of the film's own
    fine-grain amplitude, with feathered edges: no bone, no rim.
    """
    h, w = g.shape
    ny, nx = nasion_rc
    gs = ndi.gaussian_filter(g, 2.0)
    rows = _forehead_rows(g, ny, lo, hi)
    peaks, outers = frontal_bone(g, nasion_rc, rows)
    out = g.astype(np.float64).copy()
    mask = np.zeros_like(g, dtype=bool)
    for r, peak, outer in zip(rows, peaks, outers):
        c0, c1 = max(0, peak - int(0.04 * w)), min(w - 1, outer + 2)
        v0, v1 = float(gs[r, max(0, c0 - 2)]), float(gs[r, min(w - 1, c1 + 2)])
        out[r, c0:c1 + 1] = np.linspace(v0, v1, c1 - c0 + 1)
        mask[r, c0:c1 + 1] = True
    rng = np.random.default_rng(int(ny) * 7 + int(nx))
    fine = g - ndi.gaussian_filter(g, 1.5)
    noise = ndi.gaussian_filter(rng.normal(0.0, float(np.std(fine)) or 0.01, g.shape), 0.8) * 1.5
    # smooth the blend across rows too, so that row-to-row jitter of the span leaves no streaks
    fill = ndi.gaussian_filter(out, (2.0, 0.5)) + noise
    alpha = ndi.gaussian_filter(mask.astype(np.float64), 2.0)
    return np.clip((1 - alpha) * g + alpha * fill, 0, 1).astype(np.float32)


def wavy_vault(g: np.ndarray, nasion_rc: tuple[float, float], amp: float = 0.03,
               wavelength: float = 0.45) -> np.ndarray:
    """Ripple the forehead's vault with a smooth, localised displacement (see module docstring).

    The horizontal window is centred per row on the frontal bone (midway between its brightest
    column and its outer surface, :func:`frontal_bone`, median-filtered over rows), so bone and
    scalp move together; rows outside 10..90 % of the nasion height take the nearest row's
    centre.
    """
    from skimage.transform import warp

    h, w = g.shape
    ny, nx = nasion_rc
    rows = _forehead_rows(g, ny, 0.1, 0.9)
    peaks, outers = frontal_bone(g, nasion_rc, rows)
    centre_rows = ndi.median_filter(0.5 * (peaks + outers).astype(np.float64), size=9, mode="nearest")
    centre = np.interp(np.arange(h), rows, centre_rows)
    yy, xx = np.mgrid[:h, :w].astype(np.float64)
    win_x = np.exp(-0.5 * ((xx - centre[:, None]) / (0.06 * w)) ** 2)
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


def phantom_cases(seeds: int = 4) -> Iterator[Case]:
    """Synthetic full-vault heads (``anatscore.anatomy.skull.skull_phantom``): intact (pass),
    a 50-degree vault gap, a 5 % ripple (fail)."""
    from anatscore.anatomy.skull import skull_phantom

    for s in range(seeds):
        yield Case(f"head-phantom-intact-s{s}", "head", "phantom", partial(skull_phantom, seed=s),
                   {VAULT: True}, view="lateral", meta={"half": "phantom"})
        yield Case(f"head-phantom-gap50-s{s}", "head", "phantom", partial(skull_phantom, gap_deg=50.0, seed=s),
                   {VAULT: False}, failure_type="phantom_vault_gap", view="lateral", meta={"half": "phantom"})
        yield Case(f"head-phantom-ripple-s{s}", "head", "phantom", partial(skull_phantom, ripple=0.05, seed=s),
                   {VAULT: False}, failure_type="phantom_vault_ripple", view="lateral", meta={"half": "phantom"})


def cases(data_dir: Optional[Path]) -> Iterator[Case]:
    """Phantoms, then the real cephalograms (expected to pass) and two corruptions of each."""
    yield from phantom_cases()
    for i, (img, lm) in enumerate(cephalograms(data_dir)):
        half = "even" if i % 2 == 0 else "odd"
        name = f"cephalogram/{img.name}"
        meta = {"half": half}
        yield Case(name, "head", "real", partial(_grey, img), {VAULT: True}, view="lateral", meta=meta)
        yield Case(f"{name}#vault_erased", "head", "corrupt", partial(_corrupt, "erase", img, lm),
                   {VAULT: False}, failure_type="vault_segment_erased", view="lateral", meta=dict(meta))
        yield Case(f"{name}#vault_wavy", "head", "corrupt", partial(_corrupt, "wavy", img, lm),
                   {VAULT: False}, failure_type="vault_wavy", view="lateral", meta=dict(meta))

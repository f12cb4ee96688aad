"""Head (lateral skull) cases added by branch skull2: the vault rippled *under a smooth scalp*.

``vault_bone_wavy``: on each real cephalogram (``benchmarks/anatomy_cases/skull.py`` has the real
films and the first two corruptions), the frontal bone alone is rippled by
``skimage.transform.warp`` with the horizontal displacement
``A sin(2 pi y / lambda) * wx(x, y) * wy(y)``: ``A`` = 2.5 % of the width, ``lambda`` = 45 % of
the nasion height, ``wy`` a Gaussian over the forehead rows (centre 0.45, sigma 0.3 of the nasion
height) and ``wx`` a Gaussian (sigma 1.2 % of the width) centred per row 1 % of the width inside the
bone's outer surface (:func:`benchmarks.anatomy_cases.skull.frontal_bone`, median-filtered over
rows), so that the displacement at the skin, a scalp's thickness further out, is a small
fraction of ``A``: the scalp outline stays smooth and only the bone trace can
show the ripple (the skin dent measured on these cases is printed by ``benchmarks/skull_vault.py``).

The even-indexed films (sorted by name) calibrate, the odd-indexed are held out (``meta["half"]``).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Iterator, Optional

import numpy as np
from scipy import ndimage as ndi

from . import Case
from .skull import VAULT, _forehead_rows, _grey, cephalograms, frontal_bone, nasion

AMP = 0.025  # of the width (about the scalp thickness on these films)
WAVELENGTH = 0.45  # of the nasion height
SIGMA_X = 0.012  # of the width: horizontal extent of the warp around the bone
INSET = 0.01  # of the width: window centre this far inside the bone's outer surface


def bone_wave_displacement(g: np.ndarray, nasion_rc: tuple[float, float], amp: float = AMP,
                           wavelength: float = WAVELENGTH) -> np.ndarray:
    """The horizontal displacement field (H, W) in pixels of :func:`bone_wavy_vault`:
    ``A sin(2 pi y / lambda) * wx(x, y) * wy(y)`` (see the module docstring)."""
    h, w = g.shape
    ny, _ = nasion_rc
    rows = _forehead_rows(g, ny, 0.1, 0.9)
    peaks, outers = frontal_bone(g, nasion_rc, rows)
    outer = ndi.median_filter(outers.astype(np.float64), size=9, mode="nearest")
    centre = np.interp(np.arange(h), rows, outer) - INSET * w
    yy, xx = np.mgrid[:h, :w].astype(np.float64)
    win_x = np.exp(-0.5 * ((xx - centre[:, None]) / (SIGMA_X * w)) ** 2)
    win_y = np.exp(-0.5 * ((yy - 0.45 * ny) / (0.3 * ny)) ** 2)
    return amp * w * np.sin(2 * np.pi * yy / (wavelength * ny)) * win_x * win_y


def bone_wavy_vault(g: np.ndarray, nasion_rc: tuple[float, float], amp: float = AMP,
                    wavelength: float = WAVELENGTH) -> np.ndarray:
    """Ripple the frontal bone under a smooth scalp (see the module docstring).

    ``g``: grey (H, W) float in [0, 1]; ``nasion_rc``: (row, col) of the nasion landmark.
    Returns a float32 array of the same shape.
    """
    from skimage.transform import warp

    h, w = g.shape
    yy, xx = np.mgrid[:h, :w].astype(np.float64)
    dx = bone_wave_displacement(g, nasion_rc, amp, wavelength)
    return warp(g, np.array([yy, xx + dx]), order=1, mode="edge", preserve_range=True).astype(np.float32)


def _corrupt(img: Path, lm: Path) -> np.ndarray:
    return bone_wavy_vault(_grey(img), nasion(lm))


def cases(data_dir: Optional[Path]) -> Iterator[Case]:
    """One bone-only rippled copy of each real cephalogram (expected to fail ``head.skull_vault``)."""
    for i, (img, lm) in enumerate(cephalograms(data_dir)):
        half = "even" if i % 2 == 0 else "odd"
        yield Case(f"cephalogram/{img.name}#vault_bone_wavy", "head", "corrupt", partial(_corrupt, img, lm),
                   {VAULT: False}, failure_type="vault_bone_wavy", view="lateral", meta={"half": half})

"""Clavicle cases: real chest films expected to pass ``chest.clavicles`` and corruptions of the
JSRT films that remove one or both clavicles, or shift a clavicle out of place.

Removal (:func:`remove_clavicles`) fills each SCR clavicle mask (dilated by 1 % of the side) from
its surroundings: the low frequencies by biharmonic inpainting
(:func:`skimage.restoration.inpaint_biharmonic`) on a copy downsampled 4x, the fine texture
(film minus its Gaussian blur, ``sigma = 2`` px) copied from the neighbourhood just below the
mask (the lung apex), and a feathered blend over ``sigma = 0.4 %`` of the side so no rim is left.
``benchmarks/chest_clavicles.py`` prints the rim contrast of the fill against the film's own.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
from PIL import Image
from scipy import ndimage as ndi
from skimage import restoration, transform

from . import Case
from .axial import other_chests  # noqa: F401 - re-exported for benchmarks/chest_clavicles.py

CHECK = "chest.clavicles"
SIDES = ("right_clavicle", "left_clavicle")


def _grey(path: Path) -> np.ndarray:
    """Same decoding as ``anatscore.io.loading`` for 8-bit files: PIL 'L' / 255."""
    with Image.open(path) as im:
        return np.asarray(im.convert("L"), dtype=np.float32) / 255.0


def _mask(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("L")) > 127


def remove_clavicles(g: np.ndarray, masks: Sequence[np.ndarray], factor: int = 4) -> np.ndarray:
    """Erase the structures under ``masks`` from film ``g`` (grey [0, 1]) realistically.

    Per mask ``m`` (dilated by 1 % of the side): ``fill = up(inpaint_biharmonic(down(g), down(m)))
    + texture(shifted below m)``, blended into ``g`` with a Gaussian-feathered weight.
    """
    out = np.asarray(g, dtype=np.float64).copy()
    n = out.shape[0]
    for m in masks:
        m = ndi.binary_dilation(m, iterations=max(1, n // 100))
        if not m.any():
            continue
        small = transform.downscale_local_mean(out, (factor, factor))
        ms = transform.downscale_local_mean(m.astype(np.float64), (factor, factor)) > 0
        low = restoration.inpaint_biharmonic(small, ms)
        low = transform.resize(low, out.shape, order=1, preserve_range=True)
        # outside the mask the upsampled low-pass is the film's own blur; only its inside is used
        fine = out - ndi.gaussian_filter(out, 2.0)
        rows = np.flatnonzero(m.any(1))
        shift = int(rows[-1] - rows[0] + 1)
        texture = np.roll(fine, -shift, axis=0)  # the texture just below the mask, moved up
        fill = low + texture
        w = np.clip(ndi.gaussian_filter(m.astype(np.float64), 0.004 * n) * 2.0, 0.0, 1.0)
        w = np.maximum(w, m)
        out = w * fill + (1.0 - w) * out
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def _removed(path: Path, mask_paths: Sequence[Path]) -> np.ndarray:
    return remove_clavicles(_grey(path), [_mask(p) for p in mask_paths])


def _shifted(path: Path, mask_path: Path, frac: float = 0.25) -> np.ndarray:
    """One clavicle moved down by ``frac`` of the image height (removed from its place, pasted
    lower over the lung: a misplaced clavicle in the mid-lung field)."""
    g = _grey(path)
    m = _mask(mask_path)
    out = remove_clavicles(g, [m])
    dy = int(frac * g.shape[0])
    src = ndi.binary_dilation(m, iterations=max(1, g.shape[0] // 200))
    bone = g - ndi.gaussian_filter(g, 0.02 * g.shape[0])  # the clavicle's own contrast
    moved = np.roll(np.where(src, bone, 0.0), dy, axis=0)
    wm = np.roll(ndi.gaussian_filter(src.astype(np.float64), 2.0), dy, axis=0)
    return np.clip(out + wm * moved, 0, 1).astype(np.float32)


def jsrt_films(data: Path) -> list[Path]:
    return sorted((data / "real/xray/chest/jsrt_scr/images").glob("*.png"))


def cases(data_dir: Path | None) -> Iterator[Case]:
    """Real chests (``chest.clavicles`` expected to pass) and clavicle corruptions of JSRT films.

    Yields nothing while ``chest.clavicles`` is not registered (it is experimental): the harness
    would otherwise score ``anatomy.plausible`` on corruptions no registered check can see.
    """
    from anatscore.registry import ANATOMY_CHECKS

    if data_dir is None or CHECK not in {s.name for s in ANATOMY_CHECKS}:
        return
    films = jsrt_films(data_dir)
    masks = data_dir / "real/xray/chest/jsrt_scr/masks"
    for p in films:
        yield Case(f"jsrt/{p.name}", "chest", "real", partial(_grey, p), {CHECK: True}, view="pa")
    for name, p in other_chests(data_dir):
        yield Case(name, "chest", "real", partial(_grey, p), {CHECK: True}, view="pa")
    for i, p in enumerate(films):
        side = SIDES[i % 2]
        yield Case(f"jsrt/{p.name}#no_{side}", "chest", "corrupt", partial(_removed, p, [masks / side / p.name]),
                   {CHECK: False}, failure_type="one_clavicle_removed", view="pa")
        if i % 2 == 0:
            yield Case(f"jsrt/{p.name}#no_clavicles", "chest", "corrupt",
                       partial(_removed, p, [masks / s / p.name for s in SIDES]),
                       {CHECK: False}, failure_type="both_clavicles_removed", view="pa")
        if i % 4 == 1:
            s2 = SIDES[(i // 4) % 2]
            yield Case(f"jsrt/{p.name}#{s2}_shifted_down", "chest", "corrupt",
                       partial(_shifted, p, masks / s2 / p.name),
                       {CHECK: False}, failure_type="clavicle_misplaced", view="pa")

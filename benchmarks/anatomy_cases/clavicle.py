"""Clavicle cases: real chest films expected to pass ``chest.clavicles`` and corruptions of the
JSRT films that remove one or both clavicles, or move a clavicle out of place.

Removal (:func:`remove_clavicles`) fills a mask (dilated by 1 % of the side) from its
surroundings: the low frequencies by biharmonic inpainting
(:func:`skimage.restoration.inpaint_biharmonic`) on a copy downsampled 4x, the texture (film minus
its Gaussian blur, ``sigma = 0.8 %`` of the side, i.e. 8 px on a 1024 film) copied from the
neighbourhood just below the mask (the lung apex, ribs included), and a feathered blend over
``sigma = 0.4 %`` of the side so no rim is left. The texture scale matters: with the former
``sigma = 2`` px the fill was smoother than the apex (gradient energy at the detector's scale 0.72
of the region below the clavicle, against 0.87 for the real clavicle region), so a detector of
sharp edges could find the fill rather than a missing bone; at 0.8 % it is 0.89.
``benchmarks/chest_clavicles.py`` prints both ratios and the rim contrast.

Masks: the SCR clavicle masks cover only the part of the bone over the lung
(``clavicle_over_lung_removed``); :func:`whole_clavicle_mask` extends them to the whole bone, from
the sternoclavicular joint to the acromial end (``one_clavicle_removed``,
``both_clavicles_removed``, ``clavicle_misplaced``: a generator that omits a clavicle omits all of it).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Callable, Iterator, Sequence

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


def remove_clavicles(g: np.ndarray, masks: Sequence[np.ndarray], factor: int = 4,
                     ignore: np.ndarray | None = None, texture_sigma: float = 0.008) -> np.ndarray:
    """Erase the structures under ``masks`` from film ``g`` (grey [0, 1]) realistically.

    Per mask ``m`` (dilated by 1 % of the side): ``fill = up(inpaint_biharmonic(down(g), down(m)))
    + texture(shifted below m)``, blended into ``g`` with a Gaussian-feathered weight.
    ``ignore`` (optional): pixels the inpainting must not take boundary values from (black
    anonymisation boxes: the biharmonic fill overshoots to white next to such a step); they are
    inpainted along with the mask but never written.
    """
    out = np.asarray(g, dtype=np.float64).copy()
    n = out.shape[0]
    for m in masks:
        m = ndi.binary_dilation(m, iterations=max(1, n // 100))
        if ignore is not None:
            m &= ~ignore
        if not m.any():
            continue
        small = transform.downscale_local_mean(out, (factor, factor))
        unknown = m if ignore is None else (m | ignore)
        ms = transform.downscale_local_mean(unknown.astype(np.float64), (factor, factor)) > 0
        low = restoration.inpaint_biharmonic(small, ms)
        low = transform.resize(low, out.shape, order=1, preserve_range=True)
        # outside the mask the upsampled low-pass is the film's own blur; only its inside is used
        fine = out - ndi.gaussian_filter(out, texture_sigma * n)
        rows = np.flatnonzero(m.any(1))
        shift = int(rows[-1] - rows[0] + 1)
        texture = np.roll(fine, -shift, axis=0)  # the texture just below the mask, moved up
        fill = low + texture
        w = np.clip(ndi.gaussian_filter(m.astype(np.float64), 0.004 * n) * 2.0, 0.0, 1.0)
        w = np.maximum(w, m)
        if ignore is not None:
            w[ignore] = 0.0
        out = w * fill + (1.0 - w) * out
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def _dark_box(g: np.ndarray) -> np.ndarray:
    """Black anonymisation boxes (film < 0.03), dilated by 1 % of the side."""
    return ndi.binary_dilation(g < 0.03, iterations=max(1, g.shape[0] // 100))


def whole_clavicle_mask(g: np.ndarray, clavicle: np.ndarray, right_lung: np.ndarray, left_lung: np.ndarray,
                        side: str, lateral_u: float = 0.56, medial_u: float = 0.03,
                        work: int = 512) -> np.ndarray:
    """The SCR clavicle mask (over the lung only) extended to the whole bone.

    Thorax frame from the SCR lung masks: centre ``c`` between their outer edges, width ``W``.
    Laterally the band is followed column by column from the mask's lateral end to
    ``lateral_u * W`` from ``c`` (the acromial end; anatomically the clavicle spans about half the
    thorax width per side): the row moves at most ``0.1 t`` from the prediction of the current
    slope (kept within an elevation of -20..40 deg) (``t`` = the mask's median thickness), to the row of the largest band contrast (smoothed
    film, mean within ``0.4 t`` minus mean at ``0.7..1.2 t``), the slope updated slowly. Medially
    the mask's medial third is extrapolated straight to ``medial_u * W`` (the sternoclavicular
    joint). Painted ``1.15 t`` thick laterally and ``1.3 t`` medially (the head is thicker).
    The tracking is not the detector's search (no oriented line filter, no pair constraint);
    ``benchmarks/chest_clavicles.py --show`` draws the masks for a visual check.
    """
    h = g.shape[0]
    gs = transform.resize(np.asarray(g, np.float64), (work, work), anti_aliasing=True, preserve_range=True)
    small = [transform.resize(np.asarray(x, np.float64), (work, work), order=1) > 0.5
             for x in (clavicle, right_lung, left_lung)]
    m, rl, ll = small
    if not (m.any() and rl.any() and ll.any()):
        return np.asarray(clavicle, bool)
    xo_r, xo_l = np.flatnonzero(rl.any(0)).min(), np.flatnonzero(ll.any(0)).max()
    c, w = (xo_r + xo_l) / 2.0, float(xo_l - xo_r)
    sgn = -1 if side == "right" else 1
    ys, xs = np.nonzero(m)
    cols = np.unique(xs)
    yc = ndi.uniform_filter1d(np.array([ys[xs == x].mean() for x in cols]), 7, mode="nearest")
    t = float(np.median(np.bincount(xs)[cols]))
    order = np.argsort(sgn * (cols - c))  # medial -> lateral
    cols, yc = cols[order], yc[order]
    s = ndi.gaussian_filter(gs, t / 4)
    o = np.arange(-1.2 * t, 1.2 * t + 1)
    inner, outer = np.abs(o) <= 0.4 * t, np.abs(o) >= 0.7 * t
    out = m.copy()
    rows = np.arange(work)

    def paint(x: int, y: float, thick: float) -> None:
        if 0 <= x < work:
            out[np.abs(rows - y) <= thick / 2, x] = True

    k = max(3, len(cols) // 2)
    slope = float(np.polyfit(cols[-k:], yc[-k:], 1)[0]) * sgn  # rows per lateral column
    x, y = int(cols[-1]), float(yc[-1])
    x_end = int(round(c + sgn * lateral_u * w))
    while (x - x_end) * sgn < 0 and 2 <= x + sgn < work - 2:
        x += sgn
        cand = y + slope + np.arange(-0.1 * t, 0.1 * t + 0.01, 0.5)
        prof = ndi.map_coordinates(s, [cand[:, None] + o[None, :], np.full((cand.size, o.size), x)],
                                   order=1, mode="nearest")
        contrast = prof[:, inner].mean(1) - prof[:, outer].mean(1)
        yn = float(cand[int(np.argmax(contrast))])
        # elevation of the lateral clavicle kept within -20..40 deg (rows per lateral column)
        slope = float(np.clip(0.85 * slope + 0.15 * (yn - y), -0.84, 0.36))
        y = yn
        paint(x, y, 1.15 * t)
    k = max(3, len(cols) // 3)
    line = np.polyfit(cols[:k], yc[:k], 1)
    for x in range(int(cols[0]), int(round(c + sgn * medial_u * w)) - sgn, -sgn):
        paint(x, float(np.polyval(line, x)), 1.3 * t)
    out = ndi.binary_closing(out, iterations=2)
    return (transform.resize(out.astype(np.float64), (h, g.shape[1]), order=1) > 0.5) | np.asarray(clavicle, bool)


def remove_whole_clavicles(g: np.ndarray, path: Path, sides: Sequence[str]) -> np.ndarray:
    """Erase whole clavicles (``sides``: "right"/"left") of JSRT film ``path`` (masks beside it)."""
    mdir = path.parent.parent / "masks"
    rl, ll = _mask(mdir / "right_lung" / path.name), _mask(mdir / "left_lung" / path.name)
    ms = [whole_clavicle_mask(g, _mask(mdir / f"{s}_clavicle" / path.name), rl, ll, s) for s in sides]
    return remove_clavicles(g, ms, ignore=_dark_box(g))


def _removed_whole(path: Path, sides: Sequence[str]) -> np.ndarray:
    return remove_whole_clavicles(_grey(path), path, sides)


def _removed(path: Path, mask_paths: Sequence[Path]) -> np.ndarray:
    return remove_clavicles(_grey(path), [_mask(p) for p in mask_paths])


def _shifted(path: Path, side: str, frac: float = 0.25) -> np.ndarray:
    """One whole clavicle moved down by ``frac`` of the image height (erased from its place, its
    detail pasted lower over the lung: a misplaced clavicle in the mid-lung field)."""
    g = _grey(path)
    mdir = path.parent.parent / "masks"
    m = whole_clavicle_mask(g, _mask(mdir / f"{side}_clavicle" / path.name), _mask(mdir / "right_lung" / path.name),
                            _mask(mdir / "left_lung" / path.name), side)
    out = remove_clavicles(g, [m], ignore=_dark_box(g))
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
    for p in films:
        yield Case(f"jsrt/{p.name}", "chest", "real", partial(_grey, p), {CHECK: True}, view="pa")
    for name, p in other_chests(data_dir):
        yield Case(name, "chest", "real", partial(_grey, p), {CHECK: True}, view="pa")
    for i, p in enumerate(films):
        for ft, name, img in corruptions(i, p):
            yield Case(f"jsrt/{p.name}#{name}", "chest", "corrupt", img, {CHECK: False}, failure_type=ft, view="pa")


def corruptions(i: int, p: Path) -> list[tuple[str, str, Callable[[], np.ndarray]]]:
    """``(failure_type, name, lazy image)`` of the ``i``-th JSRT film in sorted order.

    The erased side alternates every two films (``(i // 2) % 2``), so each half (even/odd ``i``)
    gets both sides; both clavicles are erased on even films, a clavicle is moved on every 4th.
    """
    side = ("right", "left")[(i // 2) % 2]
    masks = p.parent.parent / "masks"
    out: list[tuple[str, str, Callable[[], np.ndarray]]] = [
        ("one_clavicle_removed", f"no_{side}_clavicle", partial(_removed_whole, p, (side,))),
        ("clavicle_over_lung_removed", f"no_{side}_clavicle_over_lung",
         partial(_removed, p, [masks / f"{side}_clavicle" / p.name])),
    ]
    if i % 2 == 0:
        out.append(("both_clavicles_removed", "no_clavicles", partial(_removed_whole, p, ("right", "left"))))
    if i % 4 == 1:
        s2 = ("right", "left")[(i // 4) % 2]
        out.append(("clavicle_misplaced", f"{s2}_clavicle_shifted_down", partial(_shifted, p, s2)))
    return out

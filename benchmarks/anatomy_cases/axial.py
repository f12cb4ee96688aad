"""Axial skeleton and chest cases: real chest films expected to pass, controlled corruptions of
them (mirrored = situs, one lung field opacified, one hemithorax at half height, the thorax squashed
vertically; the last two compress the lung rows and stretch the abdomen below, so the frame stays
a full film), pelvis films with a bone erased, and spine phantoms with known counts.

Real data: the 127 JSRT PA films (with SCR masks, used here to place the corruptions), the 7
chest films of the torchxrayvision test set and the pydicom-data CR chest. There is no real spine
series in the workplace: spine cases are phantoms (``anatscore.anatomy.spine.spine_phantom``).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
from PIL import Image
from scipy import ndimage as ndi

from . import Case

CHEST_CHECKS = ("chest.lung_fields", "chest.heart_laterality", "chest.ctr", "chest.symmetry",
                "proportions.lung_aspect")


def _grey(path: Path) -> np.ndarray:
    """Same decoding as ``anatscore.io.loading`` for 8-bit files: PIL 'F' / 255."""
    with Image.open(path) as im:
        return np.asarray(im.convert("L"), dtype=np.float32) / 255.0


def _mirrored(path: Path) -> np.ndarray:
    return np.ascontiguousarray(_grey(path)[:, ::-1])


def _erase_lung(path: Path, mask_path: Path) -> np.ndarray:
    """Opacify one lung field: replace its (dilated) SCR mask by the smoothed surrounding density.

    Normalised convolution ``G*(g w) / G*w`` with ``w`` = outside the mask, ``sigma`` = 4 % of
    the side, plus the film's own fine texture (original minus its blur) to avoid a flat patch.
    """
    g = _grey(path).astype(np.float64)
    m = _grey(mask_path) > 0.5
    m = ndi.binary_dilation(m, iterations=max(1, g.shape[0] // 100))
    w = (~m).astype(np.float64)
    s = 0.04 * g.shape[0]
    fill = ndi.gaussian_filter(g * w, s) / np.maximum(ndi.gaussian_filter(w, s), 1e-6)
    # the lung's surroundings (ribs, mediastinum, diaphragm) are denser than aerated lung; the
    # fill is raised to the 75th percentile of the film at least, as in an opacified hemithorax
    fill = np.maximum(fill, np.quantile(g, 0.75))
    texture = g - ndi.gaussian_filter(g, 2.0)
    return np.clip(np.where(m, fill + 0.5 * texture, g), 0, 1).astype(np.float32)


def _squash_band(g: np.ndarray, top: int, bottom: int, factor: float) -> np.ndarray:
    """Compress rows ``top..bottom`` of ``g`` to ``factor`` of their height and stretch the rows
    below to fill, down to ``end`` = halfway from ``bottom`` to the last row; rows above ``top``
    and from ``end`` down are unchanged (no padding; burned-in boxes at the film's foot keep their
    size).

    Inverse row map ``y -> y_src``: identity above ``top`` and from ``end``; ``top + (y - top) /
    factor`` inside the compressed band ``[top, cut)``, ``cut = top + factor (bottom - top)``; a
    linear stretch of ``bottom..end`` onto ``cut..end``. Rows are resampled with linear
    interpolation after a vertical Gaussian of ``sigma = 0.5 / factor`` px (anti-aliasing).
    """
    h = g.shape[0]
    src = ndi.gaussian_filter1d(g.astype(np.float64), 0.5 / factor, axis=0)
    y = np.arange(h, dtype=np.float64)
    cut = top + factor * (bottom - top)
    end = bottom + (h - 1 - bottom) / 2.0
    stretched = bottom + (y - cut) * (end - bottom) / max(end - cut, 1e-6)
    ys = np.where(y < top, y, np.where(y < cut, top + (y - top) / factor, np.where(y < end, stretched, y)))
    y0 = np.clip(np.floor(ys).astype(int), 0, h - 1)
    y1 = np.minimum(y0 + 1, h - 1)
    t = (ys - y0)[:, None]
    out = (1 - t) * src[y0] + t * src[y1]
    out[y >= end] = g[y >= end]
    out[y < top] = g[y < top]
    return out.astype(np.float32)


def _lung_rows(mask_path: Path) -> tuple[int, int, int, int]:
    """(apex row, base row, first column, last column) of an SCR lung mask."""
    m = _grey(mask_path) > 0.5
    rows, cols = np.flatnonzero(m.any(1)), np.flatnonzero(m.any(0))
    return int(rows[0]), int(rows[-1]), int(cols[0]), int(cols[-1])


def _squashed_half(path: Path, masks: Path, side: str, factor: float = 0.5) -> np.ndarray:
    """One hemithorax at ``factor`` of its height: on the image half of the ``side`` lung (split
    at the middle of the mediastinum, between the SCR lung masks' medial edges), the rows from
    that lung's apex to its base are compressed to ``factor`` and the abdomen below stretched to
    fill (a hemidiaphragm raised to mid-thorax). The other half is untouched."""
    g = _grey(path)
    rt, rb, _, r_inner = _lung_rows(masks / "right_lung" / path.name)
    lt, lb, l_inner, _ = _lung_rows(masks / "left_lung" / path.name)
    split = (r_inner + l_inner) // 2
    out = g.copy()
    if side == "right":
        out[:, :split] = _squash_band(g[:, :split], rt, rb, factor)
    else:
        out[:, split:] = _squash_band(g[:, split:], lt, lb, factor)
    return out


def _squashed(path: Path, masks: Path, factor: float = 0.55) -> np.ndarray:
    """The thorax squashed vertically: rows from the higher lung apex to the lower lung base (SCR
    masks) compressed to ``factor`` over the whole width, the abdomen below stretched to fill, so
    each lung's height/width becomes ``factor`` times its own and the frame stays a full film."""
    g = _grey(path)
    rt, rb, _, _ = _lung_rows(masks / "right_lung" / path.name)
    lt, lb, _, _ = _lung_rows(masks / "left_lung" / path.name)
    return _squash_band(g, min(rt, lt), max(rb, lb), factor)


def _chest_real(data: Path) -> Iterator[tuple[str, Path]]:
    jsrt = data / "real/xray/chest/jsrt_scr/images"
    for p in sorted(jsrt.glob("*.png")):
        yield f"jsrt/{p.name}", p
    yield from other_chests(data)


def other_chests(data: Path) -> Iterator[tuple[str, Path]]:
    """The 7 torchxrayvision test chests and the pydicom-data CR chest (no masks)."""
    for p in sorted((data / "real/xray/chest/torchxrayvision_tests").glob("*")):
        if p.suffix.lower() in (".png", ".jpg", ".jpeg"):
            yield f"xrv_tests/{p.name}", p
    cr = data / "real/xray/pydicom_data/RG1_J2KR_display.png"
    if cr.is_file():
        yield "pydicom/RG1_J2KR_display.png", cr


def chest_cases(data: Path) -> Iterator[Case]:
    """Real chests (all five chest checks expected to pass) and their corruptions."""
    for name, p in _chest_real(data):
        yield Case(name, "chest", "real", partial(_grey, p), {c: True for c in CHEST_CHECKS}, view="pa")
    masks = data / "real/xray/chest/jsrt_scr/masks"
    for i, (name, p) in enumerate(n for n in _chest_real(data) if n[0].startswith("jsrt/")):
        yield Case(f"{name}#mirrored", "chest", "corrupt", partial(_mirrored, p),
                   {"chest.heart_laterality": False}, failure_type="mirrored_situs", view="pa")
        side = ("right_lung", "left_lung")[i % 2]
        yield Case(f"{name}#no_{side}", "chest", "corrupt", partial(_erase_lung, p, masks / side / p.name),
                   {"chest.lung_fields": False}, failure_type="lung_field_opacified", view="pa")
        # proportion distortions on every film: one hemithorax at half height (the side
        # alternating; even index = calibration half of the constants, odd = held out) and the
        # thorax squashed vertically
        half = ("right", "left")[(i // 2) % 2]
        yield Case(f"{name}#squashed_{half}_half", "chest", "corrupt", partial(_squashed_half, p, masks, half),
                   {"chest.symmetry": False}, failure_type="hemithorax_half_height", view="pa")
        yield Case(f"{name}#squashed", "chest", "corrupt", partial(_squashed, p, masks),
                   {"proportions.lung_aspect": False}, failure_type="film_squashed_vertically", view="pa")


SPINE_NORMAL: dict[str, tuple[int, ...]] = {
    "lumbar_spine": (5, 6),
    "thoracic_spine": (12, 11),
    "cervical_spine": (6, 7),
}
SPINE_WRONG: dict[str, tuple[int, ...]] = {
    "lumbar_spine": (3, 9),
    "thoracic_spine": (8, 16),
    "cervical_spine": (4, 10),
}


def _phantom(**kw: object) -> Callable[[], np.ndarray]:
    from anatscore.anatomy.spine import spine_phantom

    return partial(spine_phantom, **kw)  # type: ignore[arg-type]


def spine_cases(seeds: int = 6) -> Iterator[Case]:
    """Spine phantoms: normal counts, wrong counts, and a fused level (block vertebra)."""
    both = {"spine.vertebra_count": True, "spine.spacing": True}
    for region, counts in SPINE_NORMAL.items():
        for n in counts:
            for s in range(seeds):
                yield Case(f"{region}-phantom-{n}-s{s}", region, "phantom",
                           _phantom(n=n, seed=s, tilt=0.03 * (s % 3)), dict(both), view="ap")
        for n in SPINE_WRONG[region]:
            for s in range(seeds):
                yield Case(f"{region}-phantom-{n}-wrong-s{s}", region, "phantom",
                           _phantom(n=n, seed=s, tilt=0.03 * (s % 3)), {"spine.vertebra_count": False},
                           failure_type="wrong_vertebra_count", view="ap")
        n = max(counts)
        for s in range(seeds):
            yield Case(f"{region}-phantom-{n}-fused-s{s}", region, "phantom",
                       _phantom(n=n, seed=s, fuse=1 + s % max(1, n - 3), tilt=0.03 * (s % 3)),
                       {"spine.spacing": False}, failure_type="fused_level", view="ap")


def _erase_box(path: Path, box: tuple[float, float, float, float]) -> np.ndarray:
    """Replace the box (y0, y1, x0, x1 in pixels) by soft tissue: the smoothed surroundings,
    capped at the film's median density, plus half the film's fine texture."""
    g = _grey(path).astype(np.float64)
    h, w = g.shape
    y0, y1, x0, x1 = (int(round(v)) for v in box)
    m = np.zeros(g.shape, bool)
    m[max(0, y0):min(h, y1), max(0, x0):min(w, x1)] = True
    wt = (~m).astype(np.float64)
    s = 0.05 * h
    fill = ndi.gaussian_filter(g * wt, s) / np.maximum(ndi.gaussian_filter(wt, s), 1e-6)
    fill = np.minimum(fill, np.median(g[~m]))
    texture = g - ndi.gaussian_filter(g, 2.0)
    return np.clip(np.where(m, fill + 0.5 * texture, g), 0, 1).astype(np.float32)


def pelvis_cases(data: Path) -> Iterator[Case]:
    """The 4 infant AP pelvis films (expected symmetric) and, per film and side, the iliac wing
    or the proximal femur erased (boxes placed from the set's pelvis/femur landmarks)."""
    import json

    for p in sorted((data / "real/xray/pelvis_ddh").glob("*.jpg")):
        yield Case(f"pelvis_ddh/{p.name}", "pelvis", "real", partial(_grey, p), {"pelvis.symmetry": True}, view="ap")
        lm = json.loads(p.with_suffix(".json").read_text())["landmark_list"][0]
        with Image.open(p) as im:
            w, h = im.size
        for side in ("l", "r"):
            (xo, yo), (xi, yi) = lm[f"pel_{side}_o"], lm[f"pel_{side}_i"]
            x0, x1 = sorted((xo, xi))
            wing = (0.03 * h, max(yo, yi) + 0.03 * h, x0 - 0.08 * w, x1 + 0.05 * w)
            yield Case(f"pelvis_ddh/{p.name}#no_wing_{side}", "pelvis", "corrupt", partial(_erase_box, p, wing),
                       {"pelvis.symmetry": False}, failure_type="iliac_wing_removed", view="ap")
            xf, yf = lm[f"fem_{side}"]
            femur = (yf, h, xf - 0.12 * w, xf + 0.12 * w)
            yield Case(f"pelvis_ddh/{p.name}#no_femur_{side}", "pelvis", "corrupt", partial(_erase_box, p, femur),
                       {"pelvis.symmetry": False}, failure_type="femur_removed", view="ap")


def cases(data_dir: Path | None) -> Iterator[Case]:
    if data_dir is not None:
        yield from chest_cases(data_dir)
        yield from pelvis_cases(data_dir)
    yield from spine_cases()

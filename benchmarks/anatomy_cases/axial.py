"""Axial skeleton and chest cases: real chest films expected to pass, controlled corruptions of
them (mirrored = situs, one lung field opacified, one hemithorax at half height, the film squashed
vertically), pelvis films with a bone erased, and spine phantoms with known counts.

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


def _squash_rows(g: np.ndarray, factor: float) -> np.ndarray:
    """Shrink ``g`` vertically by ``factor`` (top-anchored); pad below with its last row."""
    from skimage.transform import resize

    h, w = g.shape
    k = max(1, int(round(h * factor)))
    small = resize(g, (k, w), anti_aliasing=True, preserve_range=True)
    return np.vstack([small, np.repeat(small[-1:], h - k, axis=0)]).astype(np.float32)


def _squashed_half(path: Path, side: str, factor: float = 0.5) -> np.ndarray:
    """One hemithorax (image half) shrunk vertically: a lung field half as tall as the other."""
    g = _grey(path)
    h, w = g.shape
    out = g.copy()
    cols = slice(0, w // 2) if side == "right" else slice(w // 2, w)
    out[:, cols] = _squash_rows(g[:, cols], factor)
    return out


def _squashed(path: Path, factor: float = 0.55) -> np.ndarray:
    """The whole film shrunk vertically (lungs too short for their width)."""
    return _squash_rows(_grey(path), factor)


def _chest_real(data: Path) -> Iterator[tuple[str, Path]]:
    jsrt = data / "real/xray/chest/jsrt_scr/images"
    for p in sorted(jsrt.glob("*.png")):
        yield f"jsrt/{p.name}", p
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
        if i % 4 == 0:  # proportion distortions on every 4th film (32 films)
            half = ("right", "left")[(i // 4) % 2]
            yield Case(f"{name}#squashed_{half}_half", "chest", "corrupt", partial(_squashed_half, p, half),
                       {"chest.symmetry": False}, failure_type="hemithorax_half_height", view="pa")
            yield Case(f"{name}#squashed", "chest", "corrupt", partial(_squashed, p),
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

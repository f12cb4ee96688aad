"""Inpainting / outpainting test cases built from real radiographs (for calibration and tests).

Masks (ellipses, ~22% of the short side across) sit over anatomy the paper names:

* knee (``knee_kl``, 224 px crops centred on the joint): ``joint`` (centre) and ``shaft``
  (femoral metaphysis/shaft, upper centre);
* chest (JSRT, 1024 px, used at 512): ``lung`` (right lung field) and ``mediastinum``.

Fills (the "output" given the original and mask):

* good: ``identity`` (the original, + Gaussian noise sd 0.004: 8-bit / VAE re-encoding),
  ``mirror`` (the patch from the left-right mirrored image at the same place, feathered over
  3 px: a plausible fill of the same anatomy that is not the original);
* bad: ``blur`` (original blurred with sigma 4 px in the mask), ``flat`` (mean of the ring
  outside), ``noise`` (ring mean + Gaussian noise at 3x the ring's detail sd), ``shifted`` (patch
  from 20% of the side away: a seam), ``changed`` (perfect fill but an unmasked region beside
  the mask brightened by 0.15: unmasked anatomy redrawn); ``bone`` (not in :data:`BAD_FILLS`:
  the mask filled with the ring's 90th-percentile brightness, which over a knee joint bridges
  the joint space with bone-dense tissue; for ``inpaint.anatomy_delta``).

Outpainting: the central 60% of the image is the original; the output extends it to the full
size by ``reflect`` (mirror padding: detail continues, good) or ``blurdecay`` (reflection
blurred progressively with distance, sigma up to 6 px: detail falls off, bad) or ``blurflat``
(reflection blurred with a fixed sigma 3 px: uniformly smooth).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage as ndi

from ..types import ImageMeta, LoadedImage

GOOD_FILLS = ("identity", "mirror")
BAD_FILLS = ("blur", "flat", "noise", "shifted", "changed")
MASK_SITES = {"knee": ("joint", "shaft"), "chest": ("lung", "mediastinum")}
_SITE_CENTRE = {"joint": (0.5, 0.5), "shaft": (0.2, 0.5), "lung": (0.45, 0.3), "mediastinum": (0.4, 0.5)}
OUT_GOOD = ("reflect",)
OUT_BAD = ("blurdecay", "blurflat")


@dataclass(frozen=True)
class Case:
    """One built case: the image (output + original + mask) and its labels."""

    image: LoadedImage
    region: str
    site: str
    fill: str
    good: bool
    source: str


def real_images(data: Path, region: str, limit: int = 0) -> list[Path]:
    """Paths of the real radiographs used for ``region`` (``knee`` or ``chest``), sorted."""
    if region == "knee":
        files = sorted((data / "real/xray/knee_kl").glob("*/*.png"))
    else:
        files = sorted((data / "real/xray/chest/jsrt_scr/images").glob("*.png"))
    return files[:limit] if limit else files


def load_grey(path: Path, max_side: int = 512) -> np.ndarray:
    """Grey float32 [0, 1], downsampled to at most ``max_side`` px (JSRT is 1024)."""
    im = Image.open(path).convert("L")
    if max(im.size) > max_side:
        f = max_side / max(im.size)
        im = im.resize((round(im.size[0] * f), round(im.size[1] * f)), Image.BILINEAR)
    return np.asarray(im, np.float32) / 255.0


def ellipse_mask(shape: tuple[int, int], centre: tuple[float, float], frac: float = 0.22) -> np.ndarray:
    """Elliptic mask centred at fractional ``(row, col)``, diameter ``frac`` of the short side."""
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w]
    r = frac * min(h, w) / 2
    return ((yy - centre[0] * h) / r) ** 2 + ((xx - centre[1] * w) / (1.2 * r)) ** 2 <= 1


def _feather(mask: np.ndarray, px: float = 3.0) -> np.ndarray:
    d = ndi.distance_transform_edt(mask)
    return np.clip(d / px, 0, 1)


def make_fill(orig: np.ndarray, mask: np.ndarray, fill: str, rng: np.random.Generator) -> np.ndarray:
    """The output for ``fill`` (see the module docstring), float32 [0, 1]."""
    out = orig.copy()
    h, w = orig.shape
    ring = (ndi.distance_transform_edt(~mask) > 2) & (ndi.distance_transform_edt(~mask) < 12)
    if fill == "identity":
        out = orig + rng.normal(0, 0.004, orig.shape)
    elif fill == "mirror":
        a = _feather(mask)
        out = orig * (1 - a) + orig[:, ::-1] * a
    elif fill == "blur":
        out = np.where(mask, ndi.gaussian_filter(orig, 4.0), orig)
    elif fill == "flat":
        out = np.where(mask, orig[ring].mean(), orig)
    elif fill == "noise":
        hp = orig - ndi.gaussian_filter(orig, 1.5)
        out = np.where(mask, orig[ring].mean() + rng.normal(0, 3 * hp[ring].std() + 0.01, orig.shape), orig)
    elif fill == "shifted":
        dy = round(0.2 * h)
        out = np.where(mask, np.roll(orig, dy, axis=0), orig)
    elif fill == "bone":
        out = np.where(mask, np.percentile(orig[ring], 90), orig)
    elif fill == "changed":
        far = (ndi.distance_transform_edt(~mask) > 0.05 * max(h, w)) & (
            ndi.distance_transform_edt(~mask) < 0.15 * max(h, w))
        out = np.where(far, np.clip(orig + 0.15, 0, 1), orig)
    else:
        raise ValueError(f"unknown fill {fill!r}")
    return np.clip(out, 0, 1).astype(np.float32)


def inpaint_cases(data: Path, region: str, limit: int = 0, seed: int = 0) -> list[Case]:
    """Every (image, site, fill) case for ``region`` from ``data`` (the shared data folder)."""
    rng = np.random.default_rng(seed)
    cases: list[Case] = []
    for path in real_images(data, region, limit):
        orig = load_grey(path)
        for site in MASK_SITES[region]:
            mask = ellipse_mask(orig.shape, _SITE_CENTRE[site])
            for fill in GOOD_FILLS + BAD_FILLS:
                out = make_fill(orig, mask, fill, rng)
                meta = ImageMeta(image_id=f"{path.stem}/{site}/{fill}", path=path.name, task="inpaint",
                                 region=region, modality="xray")
                cases.append(Case(LoadedImage(meta, out, original=orig, mask=mask), region, site, fill,
                                  fill in GOOD_FILLS, path.stem))
    return cases


def outpaint_output(orig: np.ndarray, pad: tuple[int, int], kind: str) -> np.ndarray:
    """Extend ``orig`` by ``pad`` = (rows, cols) on each side: ``reflect``, ``blurdecay``, ``blurflat``."""
    ext = np.pad(orig, ((pad[0], pad[0]), (pad[1], pad[1])), mode="reflect")
    if kind == "reflect":
        return ext.astype(np.float32)
    inside = np.zeros(ext.shape, bool)
    inside[pad[0]:pad[0] + orig.shape[0], pad[1]:pad[1] + orig.shape[1]] = True
    d = ndi.distance_transform_edt(~inside)
    if kind == "blurflat":
        return np.where(inside, ext, ndi.gaussian_filter(ext, 3.0)).astype(np.float32)
    if kind == "blurdecay":
        frac = np.clip(d / max(pad), 0, 1)
        levels = [ext] + [ndi.gaussian_filter(ext, s) for s in (1.0, 2.0, 4.0, 6.0)]
        idx = np.minimum((frac * 4).round().astype(int), 4)
        out = np.choose(idx, levels)
        return np.where(inside, ext, out).astype(np.float32)
    raise ValueError(f"unknown outpaint kind {kind!r}")


def outpaint_cases(data: Path, region: str, limit: int = 0) -> list[Case]:
    """Outpainting cases: the central 60% of each real image extended back to full size."""
    cases: list[Case] = []
    for path in real_images(data, region, limit):
        full = load_grey(path)
        h, w = full.shape
        ph, pw = round(0.2 * h), round(0.2 * w)
        orig = full[ph:h - ph, pw:w - pw]
        for kind in OUT_GOOD + OUT_BAD:
            out = outpaint_output(orig, (ph, pw), kind)
            mask = np.ones(out.shape, bool)
            mask[ph:ph + orig.shape[0], pw:pw + orig.shape[1]] = False
            meta = ImageMeta(image_id=f"{path.stem}/outpaint/{kind}", path=path.name, task="outpaint",
                             region=region, modality="xray")
            cases.append(Case(LoadedImage(meta, out, original=orig, mask=mask), region, "border", kind,
                              kind in OUT_GOOD, path.stem))
    return cases

"""Weight-free inpainting and outpainting checks (original + mask against the output).

The paper's finding: inpainting looks fine on long-bone shafts and lung fields but goes wrong at
joints; outpainting loses detail with distance from the source. These checks measure the
properties a reader would look at, from the output, the original and the mask alone
(``LoadedImage.original``, ``LoadedImage.mask``; True = generated region):

``inpaint.preservation``
    Outside the mask (minus a band of :data:`BAND_FRAC` of the long side around it, where
    blending is allowed) the output must equal the original. Value = PSNR (dB) there; fails when
    more than :data:`CHANGED_MAX` of those pixels differ by more than :data:`CHANGED_DELTA`
    (the generator redrew unmasked anatomy). A global low-amplitude change (8-bit / VAE
    re-encoding noise) passes.
``inpaint.seam``
    Mean absolute intensity step across the mask boundary (local mean of the 3 px just inside
    vs the 3 px just outside, at each boundary pixel; :func:`boundary_step`), divided by the same
    statistic on the original at the same pixels (so a mask laid across a real edge, e.g. a
    cortex, is not a seam). Value = that ratio; fails above :data:`SEAM_MAX`.
``inpaint.texture``
    High-frequency energy (std of ``img - gaussian(img, 1.5)``) in the mask relative to a ring
    just outside it, as ``log2`` of the output's in/ring ratio minus the original's. A blurred or
    flat fill gives a large negative value, a noise fill a large positive one; fails outside
    ``[TEXTURE_MIN, TEXTURE_MAX]``. ``extra`` also has PSNR and SSIM of the fill against the
    original's content (informational: an edit may legitimately differ from the original).
``outpaint.detail_decay``
    The original is located inside the output (the bounding box of the un-generated region
    when it has the original's size, else normalised cross-correlation,
    ``skimage.feature.match_template``). High-frequency energy is averaged in distance bins from
    the original's border into the generated region, and ``log2(energy)`` is fitted linearly
    against distance; the same fit is made on the original's own profile from its border inward
    (the detail a continuation of this anatomy should have). Value = (output slope - original
    slope) x generated depth, in ``log2`` units (how many halvings of detail energy the far edge
    has lost beyond the original's own trend); fails below :data:`DECAY_MIN`.

All work is on copies downsampled to at most :data:`WORK_SIDE` px on the long side. Thresholds
come from ``benchmarks/inpaint_accuracy.py`` (real knee and chest radiographs, calibration half).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
from scipy import ndimage as ndi
from skimage import feature, metrics, transform

from ..types import CheckResult, LoadedImage
from . import CheckContext

#: long side (pixels) of the working copies
WORK_SIDE = 512
#: blend band around the mask excluded from preservation, as a fraction of the long side
BAND_FRAC = 0.02

# ---- thresholds (benchmarks/inpaint_accuracy.py, calibration half of knee_kl + JSRT cases) ------
CHANGED_DELTA = 0.08  # an outside pixel "changed" when |output - original| exceeds this ([0, 1])
CHANGED_MAX = 0.005  # fraction of changed outside pixels above which preservation fails
SEAM_MAX = 1.5  # boundary step of the output over the original's
TEXTURE_MIN = -0.8  # log2 in-mask/ring high-frequency ratio, output minus original
TEXTURE_MAX = 0.8
DECAY_MIN = -1.0  # log2 units of detail energy lost across the generated depth beyond the original's trend
MIN_MASK_PX = 64  # masks smaller than this (at working size) cannot be judged


@dataclass(frozen=True)
class Prepared:
    """Working-size copies of the output, original and mask (inpainting: same shape)."""

    out: np.ndarray
    orig: np.ndarray
    mask: np.ndarray
    scale: float


def _resize(a: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    if a.shape == shape:
        return a.astype(np.float32)
    return transform.resize(a.astype(np.float32), shape, order=1, anti_aliasing=True,
                            preserve_range=True).astype(np.float32)


def _work_shape(shape: tuple[int, ...]) -> tuple[tuple[int, int], float]:
    h, w = shape[:2]
    s = min(1.0, WORK_SIDE / max(h, w))
    return (max(1, round(h * s)), max(1, round(w * s))), s


def _prepare_inpaint(image: LoadedImage) -> Prepared:
    shape, s = _work_shape(image.grey.shape)
    mask = _resize(image.mask.astype(np.float32), shape) > 0.5
    return Prepared(_resize(image.grey, shape), _resize(image.original, shape), mask, s)


def _missing(image: LoadedImage, check: str, same_size: bool = False) -> Optional[CheckResult]:
    """The not-applicable result when ``check`` cannot judge ``image`` (None when it can);
    ``same_size`` for inpainting checks, which compare the output with the original pixel by pixel."""
    if image.original is None or image.mask is None:
        return CheckResult.na(check, "needs the original and the mask (manifest columns original, mask)")
    if not image.mask.any():
        return CheckResult.na(check, "mask is empty: nothing was generated")
    if image.mask.all():
        return CheckResult.na(check, "mask covers the whole image: no context to compare with")
    if same_size and image.original.shape != image.grey.shape:
        return CheckResult.na(check, "original and output differ in size (outpainting)")
    return None


def _ring(mask: np.ndarray, lo: float, hi: float, outside: bool = True) -> np.ndarray:
    """Pixels at Euclidean distance in ``[lo, hi]`` from the mask, outside (or inside) it."""
    d = ndi.distance_transform_edt(~mask) if outside else ndi.distance_transform_edt(mask)
    return (d >= lo) & (d <= hi)


def highpass(a: np.ndarray, sigma: float = 1.5) -> np.ndarray:
    """``a - gaussian(a, sigma)``: the detail the eye reads as texture (input [0, 1] grey)."""
    return a - ndi.gaussian_filter(a, sigma)


# ------------------------------------------------------------------------------------------------
# inpaint.preservation


def preservation(image: LoadedImage, ctx: CheckContext) -> CheckResult:
    """Unmasked pixels (outside a blend band) unchanged: PSNR and share of changed pixels."""
    name = "inpaint.preservation"
    if (r := _missing(image, name)) is not None:
        return r
    if image.original.shape != image.grey.shape:
        return CheckResult.na(name, "original and output differ in size (outpainting: see outpaint.*)")
    # full resolution: a small redrawn structure must not be averaged away
    band = max(2.0, BAND_FRAC * max(image.grey.shape))
    keep = ndi.distance_transform_edt(~image.mask) > band
    if keep.sum() < MIN_MASK_PX:
        return CheckResult.na(name, "almost no unmasked pixels outside the blend band")
    diff = np.abs(image.grey[keep].astype(np.float64) - image.original[keep])
    mse = float(np.mean(diff ** 2))
    psnr = float("inf") if mse == 0 else 10.0 * np.log10(1.0 / mse)
    changed = float(np.mean(diff > CHANGED_DELTA))
    ok = changed <= CHANGED_MAX
    what = "unchanged" if ok else "CHANGED"
    reason = (f"unmasked region {what}: {changed:.2%} of pixels differ by > {CHANGED_DELTA} "
              f"(limit {CHANGED_MAX:.1%}), PSNR {psnr:.1f} dB, max |diff| {diff.max():.3f}")
    return CheckResult.judge(name, min(psnr, 99.0), ok, reason, changed_fraction=changed,
                             max_abs_diff=float(diff.max()), band_px=band)


# ------------------------------------------------------------------------------------------------
# inpaint.seam


def boundary_step(img: np.ndarray, mask: np.ndarray, band: float = 3.0, sigma: float = 2.0) -> float:
    """Mean absolute intensity step across the mask boundary.

    For each pixel on the inner edge of the mask, the Gaussian-weighted (``sigma`` px) mean of
    the ``band`` px just inside is compared with that of the ``band`` px just outside
    (normalised convolution, so each side averages only its own pixels).
    """
    di, do = ndi.distance_transform_edt(mask), ndi.distance_transform_edt(~mask)
    inner = ((di > 0) & (di <= band)).astype(np.float64)
    outer = ((do > 0) & (do <= band)).astype(np.float64)

    def side_mean(w: np.ndarray) -> np.ndarray:
        return ndi.gaussian_filter(img * w, sigma) / np.maximum(ndi.gaussian_filter(w, sigma), 1e-6)

    edge = (di > 0) & (di <= 1)
    return float(np.mean(np.abs(side_mean(inner) - side_mean(outer))[edge]))


def seam(image: LoadedImage, ctx: CheckContext) -> CheckResult:
    """Visible seam: gradient on the mask boundary vs nearby rings, relative to the original."""
    name = "inpaint.seam"
    if (r := _missing(image, name, same_size=True)) is not None:
        return r
    p = image.memo("inpaint.prepared", lambda: _prepare_inpaint(image))
    if p.mask.sum() < MIN_MASK_PX:
        return CheckResult.na(name, "mask too small at working size")
    s_out = boundary_step(p.out, p.mask)
    s_orig = boundary_step(p.orig, p.mask)
    rel = s_out / max(s_orig, 2e-3)  # floor: a flat original would make any step look infinite
    ok = rel <= SEAM_MAX
    reason = (f"mean step across the mask boundary {s_out:.4f} vs {s_orig:.4f} on the original "
              f"(x{rel:.2f}, limit x{SEAM_MAX})" + ("" if ok else ": visible seam"))
    return CheckResult.judge(name, rel, ok, reason, step_output=s_out, step_original=s_orig)


# ------------------------------------------------------------------------------------------------
# inpaint.texture


def texture(image: LoadedImage, ctx: CheckContext) -> CheckResult:
    """In-mask high-frequency energy vs the ring outside, relative to the original (log2)."""
    name = "inpaint.texture"
    if (r := _missing(image, name, same_size=True)) is not None:
        return r
    p = image.memo("inpaint.prepared", lambda: _prepare_inpaint(image))
    if p.mask.sum() < MIN_MASK_PX:
        return CheckResult.na(name, "mask too small at working size")
    eq_radius = float(np.sqrt(p.mask.sum() / np.pi))
    ring = _ring(p.mask, 2, max(6.0, 0.5 * eq_radius), outside=True)
    inner = _ring(p.mask, 2, np.inf, outside=False)  # skip the blend edge itself
    if inner.sum() < MIN_MASK_PX // 4:
        inner = p.mask
    ho, hr = highpass(p.out), highpass(p.orig)
    eps = 1e-4
    lr_out = np.log2((ho[inner].std() + eps) / (ho[ring].std() + eps))
    lr_orig = np.log2((hr[inner].std() + eps) / (hr[ring].std() + eps))
    rel = float(lr_out - lr_orig)
    ok = TEXTURE_MIN <= rel <= TEXTURE_MAX
    word = "" if ok else (": fill too smooth (blurred / flat)" if rel < TEXTURE_MIN else ": fill too noisy")
    # fidelity to the original's content (informational only)
    ys, xs = np.nonzero(p.mask)
    box = (slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1))
    a, b = p.out[box], p.orig[box]
    mse = float(np.mean((a[p.mask[box]] - b[p.mask[box]]) ** 2))
    psnr = 99.0 if mse == 0 else float(10 * np.log10(1.0 / mse))
    ssim = (float(metrics.structural_similarity(a, b, data_range=1.0)) if min(a.shape) >= 7 else float("nan"))
    reason = (f"in-mask/ring detail log2 ratio {lr_out:+.2f} vs {lr_orig:+.2f} on the original "
              f"(delta {rel:+.2f}, allowed [{TEXTURE_MIN}, {TEXTURE_MAX}])" + word)
    return CheckResult.judge(name, rel, ok, reason, log2_ratio_output=float(lr_out),
                             log2_ratio_original=float(lr_orig), fill_psnr=psnr, fill_ssim=ssim)


# ------------------------------------------------------------------------------------------------
# outpaint.detail_decay


def locate_original(output: np.ndarray, original: np.ndarray,
                    mask: Optional[np.ndarray] = None) -> tuple[int, int, float]:
    """Top-left ``(row, col)`` of ``original`` inside ``output`` and the match's NCC.

    When the un-generated region (``~mask``) has exactly the original's size, its bounding box is
    the placement. Otherwise normalised cross-correlation (``skimage.feature.match_template``)
    finds it; the returned NCC (in [-1, 1]) says how well it fits.
    """
    oh, ow = original.shape
    if mask is not None and (~mask).any():
        ys, xs = np.nonzero(~mask)
        if (ys.max() - ys.min() + 1, xs.max() - xs.min() + 1) == (oh, ow):
            y0, x0 = int(ys.min()), int(xs.min())
            ncc = float(np.corrcoef(output[y0:y0 + oh, x0:x0 + ow].ravel(), original.ravel())[0, 1])
            return y0, x0, ncc
    ncc_map = feature.match_template(output.astype(np.float32), original.astype(np.float32))
    y0, x0 = np.unravel_index(int(np.argmax(ncc_map)), ncc_map.shape)
    return int(y0), int(x0), float(ncc_map[y0, x0])


def detail_profile(img: np.ndarray, dist: np.ndarray, region: np.ndarray, bin_px: float,
                   max_d: float) -> tuple[np.ndarray, np.ndarray]:
    """Mean squared high-pass energy in distance bins of width ``bin_px`` up to ``max_d``.

    Returns bin centres and ``log2`` energies (bins with fewer than 16 pixels are dropped).
    """
    e = highpass(img) ** 2
    centres, vals = [], []
    lo = 0.0
    while lo < max_d:
        sel = region & (dist > lo) & (dist <= lo + bin_px)
        if sel.sum() >= 16:
            centres.append(lo + bin_px / 2)
            vals.append(np.log2(e[sel].mean() + 1e-10))
        lo += bin_px
    return np.asarray(centres), np.asarray(vals)


def detail_decay(image: LoadedImage, ctx: CheckContext) -> CheckResult:
    """Outpainting: detail energy vs distance from the original's border, against the original."""
    name = "outpaint.detail_decay"
    if image.original is None or image.mask is None:
        return CheckResult.na(name, "needs the original and the mask (manifest columns original, mask)")
    out, orig = image.grey, image.original
    if orig.shape[0] > out.shape[0] or orig.shape[1] > out.shape[1]:
        return CheckResult.na(name, "original is larger than the output: not an outpainting")
    shape, s = _work_shape(out.shape)
    out_w = _resize(out, shape)
    orig_w = _resize(orig, (max(8, round(orig.shape[0] * s)), max(8, round(orig.shape[1] * s))))
    mask_w = _resize(image.mask.astype(np.float32), shape) > 0.5
    y0, x0, ncc = locate_original(out_w, orig_w, mask_w)
    oh, ow = orig_w.shape
    inside = np.zeros(shape, bool)
    inside[y0:y0 + oh, x0:x0 + ow] = True
    gen = mask_w & ~inside
    if gen.sum() < MIN_MASK_PX:
        return CheckResult.na(name, "generated region too small at working size")
    d_out = ndi.distance_transform_edt(~inside)
    depth = float(np.percentile(d_out[gen], 90))
    bin_px = max(4.0, depth / 8)
    c1, v1 = detail_profile(out_w, d_out, gen, bin_px, depth)
    pad = np.pad(np.ones_like(orig_w, bool), 1, constant_values=False)
    d_in = ndi.distance_transform_edt(pad)[1:-1, 1:-1]
    depth_in = min(depth, float(d_in.max()))
    c2, v2 = detail_profile(orig_w, d_in, np.ones_like(orig_w, bool), bin_px, depth_in)
    if len(c1) < 3 or len(c2) < 3:
        return CheckResult.na(name, "too few distance bins to fit a decay slope")
    slope_out = float(np.polyfit(c1, v1, 1)[0])
    slope_orig = float(np.polyfit(c2, v2, 1)[0])
    rel = (slope_out - slope_orig) * depth
    ok = rel >= DECAY_MIN
    reason = (f"detail energy changes {slope_out * depth:+.2f} log2 over {depth / s:.0f} px of generated band "
              f"vs {slope_orig * depth:+.2f} along the original (delta {rel:+.2f}, limit {DECAY_MIN})"
              + ("" if ok else ": detail lost with distance"))
    return CheckResult.judge(name, rel, ok, reason, slope_output=slope_out, slope_original=slope_orig,
                             depth_px=depth / s, placement=(round(y0 / s), round(x0 / s)), placement_ncc=ncc,
                             profile=[round(float(v), 3) for v in v1])


# ------------------------------------------------------------------------------------------------
# inpaint.anatomy_delta (stage 2)


def anatomy_delta(image: LoadedImage, ctx: CheckContext) -> CheckResult:
    """Weight-free anatomy checks on the original vs the output: verdicts the edit broke.

    Every weight-free check of ``ANATOMY_CHECKS`` that applies to the image (region, modality)
    is judged on the original (a copy of the image with ``grey = original``); the output's
    verdicts come from ``ctx.prior`` (the same run) or are computed here when those checks were
    not selected. Value = number of checks that pass on the original and fail on the output;
    fails when it is > 0. Not applicable when no such check judged the original.
    """
    from ..registry import ANATOMY_CHECKS, resolve
    from . import applies

    name = "inpaint.anatomy_delta"
    if (r := _missing(image, name, same_size=True)) is not None:
        return r
    specs = [s for s in ANATOMY_CHECKS if not s.weights() and applies(s, image.meta)[0]]
    if not specs:
        return CheckResult.na(name, "no weight-free anatomy check applies to this image's region/modality")
    before = LoadedImage(image.meta, image.original, info=dict(image.info))
    broken, fixed, judged = [], [], 0
    for spec in specs:
        fn = resolve(spec.target)
        r_orig = fn(before, ctx)
        r_out = ctx.prior.get(spec.name) or fn(image, ctx)
        if r_orig.passed is None or r_out.passed is None:
            continue
        judged += 1
        if r_orig.passed and not r_out.passed:
            broken.append(f"{spec.name}: {r_out.reason}")
        elif r_out.passed and not r_orig.passed:
            fixed.append(spec.name)
    if not judged:
        return CheckResult.na(name, "no applicable anatomy check could judge both original and output")
    ok = not broken
    reason = (f"{judged} anatomy check(s) agree on original and output" if ok and not fixed else
              f"{len(broken)}/{judged} anatomy check(s) pass on the original and fail on the output"
              + (": " + "; ".join(broken) if broken else "")
              + (f"; fail on the original, pass on the output: {', '.join(fixed)}" if fixed else ""))
    return CheckResult.judge(name, float(len(broken)), ok, reason, broken=[b.split(":")[0] for b in broken],
                             fixed=fixed, n_checks=judged)

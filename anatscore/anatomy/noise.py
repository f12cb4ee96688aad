"""How much of a radiograph is noise: the precondition for reading any anatomy off it.

The weight-free anatomy checks read structure (lung fields, bone runs, joint gaps) off a
normalised, smoothed image; on a field of noise they still find *something*. An early step of a
diffusion sampler (the DDPM chest trajectories in ``../shared/data/generated/ddpm_cxr_nih``)
showed it: frames that are mostly noise passed every chest check. So before anatomy is judged,
the noise is measured against the image's contrast at the scale anatomy is read at:

    ratio = sigma_noise / (P99 - P1 of the image smoothed by a Gaussian of 2 px),

both on the image reduced to at most ``side`` = 256 px on its long side by means over k x k
blocks (k the smallest integer factor that gets there). sigma_noise
is the wavelet estimate of :func:`skimage.restoration.estimate_sigma` (median absolute deviation
of the finest diagonal detail coefficients / 0.6745, Donoho's estimator). Fine pixel noise of a
large image averages out in the reduction, as it does for a reader looking at the whole film; a
generator's noise at its own output scale does not.

Measured by ``PYTHONPATH=. python benchmarks/generated_anatomy.py``: on the 280 real radiographs
of ``../shared/data`` the ratio is at most 0.045 (the 224-px knee crops, whose fine trabecular
texture reads partly as noise; median 0.002); the DDPM chest frames read 0.40-0.46 at the start of
sampling, 0.13-0.15 at step 600 of 700 and 0.063-0.064 at the last step. The bound
:data:`MAX_NOISE_RATIO` = 0.10 is about twice the largest real value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

__all__ = ["NoiseEstimate", "MAX_NOISE_RATIO", "noise_estimate", "image_noise"]

#: Largest noise / contrast ratio at which anatomy is read (see the module docstring).
MAX_NOISE_RATIO = 0.10


@dataclass(frozen=True)
class NoiseEstimate:
    """Noise of an image at the reading scale (see the module docstring)."""

    sigma: float  # noise standard deviation, grey units [0, 1]
    contrast: float  # P99 - P1 of the lightly smoothed image
    ratio: float  # sigma / contrast (inf when the image is flat)
    side: int  # long side of the image the estimate was made on

    @property
    def readable(self) -> bool:
        return self.ratio <= MAX_NOISE_RATIO


def noise_estimate(grey: np.ndarray, side: int = 256) -> NoiseEstimate:
    """Noise / contrast of ``grey`` (float [0, 1]) reduced to at most ``side`` px."""
    from skimage.measure import block_reduce
    from skimage.restoration import estimate_sigma

    g = np.asarray(grey, dtype=np.float32)
    k = -(-max(g.shape) // side)  # ceil: the smallest integer factor that brings it to <= side
    if k > 1:
        # Means over k x k blocks (the image cropped to a multiple of k, so no padded edge): the
        # box average a reader's eye applies, and ~10x cheaper on 2048 px than an anti-aliased resize.
        h, w = (g.shape[0] // k) * k, (g.shape[1] // k) * k
        g = block_reduce(g[:h, :w], (k, k), np.mean).astype(np.float32)
    sigma = float(estimate_sigma(g))
    lo, hi = np.percentile(ndi.gaussian_filter(g, 2.0), (1, 99))
    contrast = float(hi - lo)
    ratio = sigma / contrast if contrast > 1e-6 else float("inf")
    return NoiseEstimate(sigma=sigma, contrast=contrast, ratio=ratio, side=max(g.shape))


def image_noise(image: object) -> NoiseEstimate:
    """The noise estimate of a :class:`~anatscore.types.LoadedImage`, memoised per image."""
    return image.memo("anatomy.noise", lambda: noise_estimate(image.grey))  # type: ignore[attr-defined]

"""Weight-free radiomic-style texture and intensity features ("radiomic" extractor).

Works everywhere, offline, and each column has a name, so a Fréchet radiomic distance can be
explained feature by feature (``metrics.json`` lists the most shifted features per stratum).
Metrics z-score these features by their mean and standard deviation over both compared sets before
any distance (``standardize = True``; see :func:`anatscore.metrics.realism.standardizer`), so no
unit dominates.

Every image is first brought to a common grid: grey float [0, 1] resized (antialiased,
scikit-image ``resize``) to ``size`` x ``size`` (default 256), whatever its native size, so that
texture scales compare between sets of different resolution. Features (all via numpy, scipy,
scikit-image, PyWavelets):

- ``hist.*``: mean, std, skewness, excess kurtosis, percentiles 1/5/25/50/75/95/99, 64-bin entropy;
- ``glcm.<prop>.d<d>``: grey-level co-occurrence on 64 levels, distances 1, 2, 4, symmetric,
  normalised, averaged over 0/45/90/135 degrees; contrast, dissimilarity, homogeneity, energy,
  correlation;
- ``lbp.u<i>``: uniform local binary pattern histogram (P = 8, R = 1; 10 bins) on the uint8 image;
- ``grad.*``: Sobel gradient magnitude mean, std, 90th percentile; structure-tensor coherence
  (mean over the image, sigma 2 px), which is high for oriented texture such as trabeculae;
- ``wav.log_<band><level>``: log10 of the mean squared Daubechies-2 detail coefficients (H, V, D)
  at levels 1-3 (energies span decades; the log keeps them on the scale of the other features),
  and the std of the level-3 approximation.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..types import LoadedImage
from . import FeatureExtractor, quantise

_PERCENTILES = (1, 5, 25, 50, 75, 95, 99)
_GLCM_PROPS = ("contrast", "dissimilarity", "homogeneity", "energy", "correlation")
_GLCM_DIST = (1, 2, 4)
_GLCM_LEVELS = 64
_LBP_P, _LBP_R = 8, 1
_WAVELET, _WAV_LEVELS = "db2", 3


def feature_names() -> tuple[str, ...]:
    """Column names, in order."""
    names = ["hist.mean", "hist.std", "hist.skew", "hist.kurtosis"]
    names += [f"hist.p{p:02d}" for p in _PERCENTILES] + ["hist.entropy"]
    names += [f"glcm.{p}.d{d}" for p in _GLCM_PROPS for d in _GLCM_DIST]
    names += [f"lbp.u{i}" for i in range(_LBP_P + 2)]
    names += ["grad.mean", "grad.std", "grad.p90", "grad.coherence"]
    names += [f"wav.log_{b}{lvl}" for lvl in range(1, _WAV_LEVELS + 1) for b in "hvd"] + ["wav.approx_std"]
    return tuple(names)


def radiomic_features(grey: np.ndarray, size: int = 256) -> np.ndarray:
    """The feature vector (float64, len(feature_names())) of one grey image in [0, 1]."""
    import pywt
    from scipy import ndimage, stats
    from skimage.feature import graycomatrix, graycoprops, local_binary_pattern, structure_tensor
    from skimage.transform import resize

    g = np.clip(np.nan_to_num(np.asarray(grey, np.float64)), 0.0, 1.0)
    g = resize(g, (size, size), order=1, anti_aliasing=True, preserve_range=True)
    flat = g.ravel()
    out: list[float] = [float(flat.mean()), float(flat.std())]
    if flat.std() > 1e-12:
        out += [float(stats.skew(flat)), float(stats.kurtosis(flat))]
    else:
        out += [0.0, 0.0]
    out += [float(v) for v in np.percentile(flat, _PERCENTILES)]
    hist, _ = np.histogram(flat, bins=64, range=(0.0, 1.0))
    p = hist[hist > 0] / flat.size
    out.append(float(-(p * np.log2(p)).sum()))

    levels = np.minimum((g * _GLCM_LEVELS).astype(np.uint8), _GLCM_LEVELS - 1)
    glcm = graycomatrix(levels, _GLCM_DIST, (0, np.pi / 4, np.pi / 2, 3 * np.pi / 4), _GLCM_LEVELS, symmetric=True, normed=True)
    for prop in _GLCM_PROPS:
        vals = graycoprops(glcm, prop)  # (distances, angles)
        out += [float(v) for v in np.nan_to_num(vals).mean(axis=1)]

    lbp = local_binary_pattern(quantise(g), _LBP_P, _LBP_R, method="uniform")
    lbp_hist, _ = np.histogram(lbp, bins=_LBP_P + 2, range=(0, _LBP_P + 2))
    out += [float(v) for v in lbp_hist / lbp.size]

    gx, gy = ndimage.sobel(g, axis=1), ndimage.sobel(g, axis=0)
    mag = np.hypot(gx, gy)
    a_rr, a_rc, a_cc = structure_tensor(g, sigma=2.0, order="rc")
    coherence = np.sqrt((a_rr - a_cc) ** 2 + 4 * a_rc**2) / (a_rr + a_cc + 1e-12)
    out += [float(mag.mean()), float(mag.std()), float(np.percentile(mag, 90)), float(coherence.mean())]

    coeffs = pywt.wavedec2(g, _WAVELET, level=_WAV_LEVELS)
    # coeffs = [cA_L, (cH_L, cV_L, cD_L), ..., (cH_1, cV_1, cD_1)]
    details = {lvl: coeffs[_WAV_LEVELS - lvl + 1] for lvl in range(1, _WAV_LEVELS + 1)}
    for lvl in range(1, _WAV_LEVELS + 1):
        out += [float(np.log10(np.mean(np.square(band)) + 1e-12)) for band in details[lvl]]
    out.append(float(np.std(coeffs[0])))
    return np.asarray(out, np.float64)


class RadiomicExtractor(FeatureExtractor):
    """Named intensity/texture features; weight-free (``fid@radiomic``)."""

    name = "radiomic"
    standardize = True

    def __init__(self, device: str = "cpu", size: int = 256, **_: Any) -> None:
        self.size = int(size)
        self.feature_names = feature_names()
        self.dim = len(self.feature_names)

    def preprocessing(self) -> dict[str, Any]:
        return {
            "input": "grey float [0,1]",
            "resize": f"{self.size}x{self.size} skimage.transform.resize order=1 anti_aliasing=True",
            "glcm_levels": _GLCM_LEVELS,
            "glcm_distances": list(_GLCM_DIST),
            "lbp": f"uniform P={_LBP_P} R={_LBP_R}",
            "wavelet": f"{_WAVELET} levels={_WAV_LEVELS}",
        }

    def extract(self, images: Sequence[LoadedImage]) -> np.ndarray:
        if not images:
            return np.zeros((0, self.dim), np.float32)
        return np.stack([radiomic_features(im.grey, self.size) for im in images]).astype(np.float32)

"""``image.noise``: the radiograph is readable - its noise is small against its contrast.

The precondition of every weight-free anatomy check (see :mod:`anatscore.anatomy.noise`): on an
image dominated by noise (an early diffusion step, a corrupted output) those checks are not
applicable (the ``readable`` gate, :data:`anatscore.checks.IMAGE_GATES`) and this check fails, so
``anatomy.plausible`` fails with the reason instead of passing on structure read into noise.
"""

from __future__ import annotations

from ..anatomy.noise import MAX_NOISE_RATIO, image_noise
from ..types import CheckResult, LoadedImage
from . import CheckContext

NAME = "image.noise"


def noise(image: LoadedImage, ctx: CheckContext) -> CheckResult:
    est = image_noise(image)
    hi = MAX_NOISE_RATIO  # no option: the readable gate of the other checks uses the same bound
    ok = est.ratio <= hi
    if ok:
        reason = f"noise sd {est.ratio:.3f} of the contrast range (<= {hi:.2f}): readable"
    else:
        reason = (f"image dominated by noise: noise sd {est.ratio:.3f} of the contrast range (> {hi:.2f}; "
                  f"real radiographs <= 0.045): no anatomy can be read")
    return CheckResult.judge(NAME, est.ratio, ok, reason, sigma=est.sigma, contrast=est.contrast,
                             side=est.side, expected_max=hi)

"""``texture.trabecular_anisotropy``: bone texture oriented along stress lines, not random.

See :mod:`anatscore.anatomy.texture`. The headline value is the block orientation order
(anisotropy) of the fine bone texture; the local structure-tensor coherence is reported in
``extra``. The verdict compares the anisotropy with the region record's
``trabecular_anisotropy`` range, measured on real radiographs of that region (knee AP so far),
so the check applies only where such a range exists.
"""

from __future__ import annotations

import math

from ..anatomy.expected import expected
from ..anatomy.segment import segment_image
from ..anatomy.texture import trabecular_texture
from ..types import CheckResult, LoadedImage
from . import CheckContext

NAME = "texture.trabecular_anisotropy"


def trabecular_anisotropy(image: LoadedImage, ctx: CheckContext) -> CheckResult:
    rec = expected(image.meta.region)
    seg = segment_image(image)
    tx = image.memo("anatomy.trabecular", lambda: trabecular_texture(seg))
    if not math.isfinite(tx.anisotropy):
        return CheckResult.na(NAME, f"too little bone to judge texture ({tx.bone_pixels} bone pixels)")
    exp = rec["trabecular_anisotropy"]
    lo = ctx.config.option(NAME, "min", exp.min)
    ok = tx.anisotropy >= lo
    if ok:
        reason = (f"trabecular texture oriented: anisotropy {tx.anisotropy:.2f} >= {lo:.2f} "
                  f"(real {rec.region} radiographs)")
    else:
        reason = (f"random trabecular pattern: anisotropy {tx.anisotropy:.2f} < {lo:.2f}, "
                  f"the 5th percentile of real {rec.region} radiographs")
    return CheckResult.judge(
        NAME, tx.anisotropy, ok, reason, coherence=tx.coherence,
        dominant_angle_deg=tx.dominant_angle_deg, expected_min=lo,
    )

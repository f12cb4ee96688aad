"""Two-bone limb segments: ``forearm.two_bones`` (radius and ulna) and ``leg.two_bones``
(tibia and fibula: the paper's "missing fibula").

See :mod:`anatscore.anatomy.longbones`: bone runs are counted on scanlines across the limb's
long axis over the central part of the shaft; the most frequent count is compared with the
region record's ``long_bones`` range (2 for the forearm and the leg). One bone (missing, or the
two fused into one) or three fail. AP views: on a lateral view the bones may overlap.
"""

from __future__ import annotations

from ..anatomy.expected import expected
from ..anatomy.longbones import count_long_bones
from ..anatomy.segment import no_bone_reason, segment_image
from ..types import CheckResult, LoadedImage
from . import CheckContext


def forearm_two_bones(image: LoadedImage, ctx: CheckContext) -> CheckResult:
    """``forearm.two_bones``: radius and ulna both present and separate along the shaft."""
    return _two_bones("forearm.two_bones", image)


def leg_two_bones(image: LoadedImage, ctx: CheckContext) -> CheckResult:
    """``leg.two_bones``: tibia and fibula both present and separate along the shaft."""
    return _two_bones("leg.two_bones", image)


def _two_bones(name: str, image: LoadedImage) -> CheckResult:
    rec = expected(image.meta.region)
    seg = segment_image(image)
    if why := no_bone_reason(seg):
        return CheckResult.na(name, why)
    lb = image.memo("anatomy.longbones", lambda: count_long_bones(seg))
    exp = rec["long_bones"]
    ok = exp.contains(lb.count)
    names = exp.note or "long bones"
    if ok:
        reason = f"{lb.count} separate long bones along the shaft ({names}), on {100 * lb.agreement:.0f}% of scanlines"
    else:
        reason = (f"expected {exp.describe()} separate long bones ({names}) along the shaft, found {lb.count} "
                  f"on {100 * lb.agreement:.0f}% of scanlines (a bone missing or fused)" if lb.count < (exp.min or 0)
                  else f"expected {exp.describe()} separate long bones ({names}), found {lb.count}")
    return CheckResult.judge(name, float(lb.count), ok, reason, agreement=lb.agreement,
                             axis_angle_deg=lb.axis_angle_deg,
                             histogram={str(k): v for k, v in lb.histogram.items()})

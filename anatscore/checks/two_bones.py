"""``forearm.two_bones``: radius and ulna both present and separate along the forearm shaft.

See :mod:`anatscore.anatomy.longbones`: bone runs are counted on scanlines across the limb's
long axis over the central part of the shaft; the most frequent count is compared with the
region record's ``long_bones`` range (2 for the forearm). One bone (missing, or the two fused
into one) or three fail. AP views: on a lateral view the bones may overlap.
"""

from __future__ import annotations

from ..anatomy.expected import expected
from ..anatomy.longbones import count_long_bones
from ..anatomy.segment import no_bone_reason, segment_image
from ..types import CheckResult, LoadedImage
from . import CheckContext

NAME = "forearm.two_bones"


def two_bones(image: LoadedImage, ctx: CheckContext) -> CheckResult:
    rec = expected(image.meta.region)
    seg = segment_image(image)
    if why := no_bone_reason(seg):
        return CheckResult.na(NAME, why)
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
    return CheckResult.judge(NAME, float(lb.count), ok, reason, agreement=lb.agreement,
                             axis_angle_deg=lb.axis_angle_deg,
                             histogram={str(k): v for k, v in lb.histogram.items()})

"""``joint.contour``: the articular contours of a knee AP are regular (not distorted).

The femoral condyles' distal contour and the tibial plateau are traced at sub-pixel precision
across the joint (:func:`~anatscore.anatomy.kneecontour.knee_contours`); each contour's
irregularity is its largest band-pass curvature over the judged columns (both sides of the
notch, away from the notch, the tibial spines and the margins). The verdict compares the two
with the knee record's ``joint_contour_femur`` / ``joint_contour_tibia`` maxima, measured on
real knee radiographs; the headline value is the larger of the two ratios (fails above 1).

Not applicable when no column can be judged (both compartments closed or no clear edge).
Evidence: both contours as (x, y) points in full-resolution pixels (every 4th column) and the
point where each contour is most irregular.

**Not registered** in :data:`anatscore.registry.ANATOMY_CHECKS`: measured on the real knee
crops (``PYTHONPATH=. OMP_NUM_THREADS=1 python benchmarks/knee_contour.py``) it fails 5/50
held-out real knees (target <= 5 %), catches 43/50 wavy surfaces but only 3/50 local bumps and
5/50 broad warps (target >= 90 % each): a 4.5 px bump is within the natural irregularity of
real condyles and plateaus at this scale.
"""

from __future__ import annotations

import math

from ..anatomy.expected import expected
from ..anatomy.jointspace import horizontal_joint_space
from ..anatomy.kneecontour import KneeContours, knee_contours
from ..anatomy.segment import no_bone_reason, segment_image
from ..types import CheckResult, LoadedImage
from . import CheckContext

NAME = "joint.contour"


def _points(kc: KneeContours, y, s: float, step: int = 4) -> list[list[float]]:  # type: ignore[no-untyped-def]
    return [[round(float(x) * s, 1), round(float(v) * s, 1)] for x, v in zip(kc.columns[::step], y[::step])]


def joint_contour(image: LoadedImage, ctx: CheckContext) -> CheckResult:
    rec = expected(image.meta.region)
    seg = segment_image(image)
    if why := no_bone_reason(seg):
        return CheckResult.na(NAME, why)
    js = image.memo("anatomy.jointspace", lambda: horizontal_joint_space(seg))
    kc = image.memo("anatomy.kneecontour", lambda: knee_contours(seg, js))
    if not math.isfinite(kc.femur_irregularity):
        return CheckResult.na(NAME, "articular contours not judged: no compartment shows two clear facing "
                                    "contours (joint closed or edges too faint)")
    fmax = ctx.config.option(NAME, "femur_max", rec["joint_contour_femur"].max)
    tmax = ctx.config.option(NAME, "tibia_max", rec["joint_contour_tibia"].max)
    rf, rt = kc.femur_irregularity / fmax, kc.tibia_irregularity / tmax
    value = max(rf, rt)
    ok = value <= 1.0
    s = 1.0 / seg.scale
    both = (f"femoral {kc.femur_irregularity:.1f} (max {fmax:g}), tibial {kc.tibia_irregularity:.1f} "
            f"(max {tmax:g}) over {100 * kc.judged_fraction:.0f}% of the joint")
    if ok:
        reason = f"articular contours regular: band-pass curvature {both}"
    else:
        which, at = ("femoral", kc.femur_at) if rf >= rt else ("tibial", kc.tibia_at)
        reason = (f"distorted articular surface: expected contour curvature within real {rec.region} "
                  f"radiographs, found the {which} contour irregular near x={at * s:.0f} px: {both}")
    evidence = {
        "femoral_contour": _points(kc, kc.femur, s),
        "tibial_contour": _points(kc, kc.tibia, s),
        "most_irregular": [[round(kc.femur_at * s, 1), "femoral"], [round(kc.tibia_at * s, 1), "tibial"]],
    }
    return CheckResult.judge(NAME, value, ok, reason, evidence=evidence,
                             femur_irregularity=kc.femur_irregularity, tibia_irregularity=kc.tibia_irregularity,
                             judged_fraction=kc.judged_fraction, femur_max=fmax, tibia_max=tmax)

"""``proportions.knee``: femoral condyles as wide as the tibial plateau they stand on (knee AP).

Measured by :func:`~anatscore.anatomy.knee_proportions.knee_proportions` on the shared
segmentation and the femorotibial joint line that ``joint.space`` also uses (both memoised per
image). Judged: the width ratio, as a z-score against the calibration half of the real knee crops
(median and robust sd, 1.4826 x MAD, in the region record's ``knee_width_ratio``):

    z_width = (ln(femoral bicondylar width / tibial plateau width) - median) / sd

The check fails when ``|z_width|`` exceeds the record's ``max``: condyles much wider or narrower
than the plateau. Value: ``z_width``. When a bone edge reaches the image border the width there is
a bound, not a measurement: the ratio is judged only when that bound already lies outside the
range (a femur clipped at the border and already too wide), otherwise the check is not applicable.

Reported, **not judged**: the intercondylar notch's position across the femur (``z_notch``
against ``knee_notch_position``; one condyle much wider than the other). Real knees vary too much
in it (robust sd 0.03 of the femur's width, rotation included) for the notch corruptions of
``benchmarks/knee_proportions.py`` to be caught at 90 % without visible warping artefacts.
"""

from __future__ import annotations

import math
from typing import Any

from ..anatomy.expected import RegionRecord, expected
from ..anatomy.jointspace import horizontal_joint_space
from ..anatomy.knee_proportions import FEMUR_BAND, NOTCH_BAND, TIBIA_BAND, KneeProportions, knee_proportions
from ..anatomy.segment import no_bone_reason, segment_image
from ..types import CheckResult, LoadedImage
from . import CheckContext

NAME = "proportions.knee"
#: Memo key of the measurement (the joint line is shared with ``joint.space``).
MEMO_KEY = "anatomy.knee_proportions"


def _z(value: float, raw: dict) -> float:
    return (value - float(raw["median"])) / float(raw["sd"])


def judge_proportions(kp: KneeProportions, rec: RegionRecord) -> tuple[bool | None, str, float | None, dict[str, Any]]:
    """(passed or None for n/a, reason, value, extra) of the width ratio against the record; the
    notch position is reported in ``extra`` (``z_notch``), not judged."""
    rw = rec.raw["expect"]["knee_width_ratio"]
    rn = rec.raw["expect"]["knee_notch_position"]
    bw = float(rw["max"])
    ratio, notch = kp.width_ratio, kp.notch_position
    if not (math.isfinite(ratio) and ratio > 0):
        return None, "knee proportions not measurable (no femoral or tibial width)", None, {}
    zw = _z(math.log(ratio), rw)
    zn = _z(notch, rn) if math.isfinite(notch) else None
    femur_clipped = any(c.startswith("femur") for c in kp.clipped)
    tibia_clipped = any(c.startswith("tibia") for c in kp.clipped)
    lo, hi = (math.exp(float(rw["median"]) + s * bw * float(rw["sd"])) for s in (-1, 1))
    extra: dict[str, Any] = {"z_width": zw, "z_notch": zn, "width_ratio": ratio, "notch_position": notch,
                             "condyle_ratio": kp.condyle_ratio, "clipped": list(kp.clipped)}
    # With an edge at the border the femur's width is a lower bound, the tibia's too.
    width_known = not (femur_clipped or tibia_clipped)
    bound_fails = (femur_clipped and not tibia_clipped and zw > bw) or (tibia_clipped and not femur_clipped and zw < -bw)
    if not (width_known or bound_fails):
        extra["z_width"] = None
        return None, (f"femur or tibia reaches the image border ({', '.join(kp.clipped)}): its width cannot be "
                      "measured"), None, extra
    bound = " (a bound: a bone reaches the image border)" if bound_fails else ""
    if abs(zw) > bw:
        what = "condyles too wide for the tibial plateau" if zw > 0 else "condyles too narrow for the tibial plateau"
        return False, (f"femoral condyles / tibial plateau width {ratio:.2f}{bound}, expected {lo:.2f}..{hi:.2f} "
                       f"(z {zw:+.1f}: {what})"), zw, extra
    reason = (f"femoral condyles / tibial plateau width {ratio:.2f} (z {zw:+.1f}): within |z| <= {bw:g} of real "
              f"knee radiographs, expected {lo:.2f}..{hi:.2f}")
    return True, reason, zw, extra


def knee_proportions_check(image: LoadedImage, ctx: CheckContext) -> CheckResult:
    """``proportions.knee``: femoral bicondylar vs tibial plateau width within the record's z bound."""
    rec = expected(image.meta.region)
    seg = segment_image(image)
    if why := no_bone_reason(seg):
        return CheckResult.na(NAME, why)
    js = image.memo("anatomy.jointspace", lambda: horizontal_joint_space(seg))
    kp = image.memo(MEMO_KEY, lambda: knee_proportions(seg, js))
    passed, reason, value, extra = judge_proportions(kp, rec)
    if passed is None:
        return CheckResult.na(NAME, reason, **extra)
    s = 1.0 / seg.scale
    h = seg.shape[0]

    def pt(x: float, j: float, frac: float) -> list[float]:
        return [round(x * s, 1), round((j + frac * h) * s, 1)]

    fy, ty, ny = sum(FEMUR_BAND) / 2, sum(TIBIA_BAND) / 2, sum(NOTCH_BAND) / 2
    jl, jr = kp.joint_row_left, kp.joint_row_right
    evidence = {"femur_edges": [pt(kp.femur_left, jl, fy), pt(kp.femur_right, jr, fy)],
                "tibia_edges": [pt(kp.tibia_left, jl, ty), pt(kp.tibia_right, jr, ty)],
                "notch": pt(kp.notch_x, kp.joint_row, ny)}
    return CheckResult.judge(NAME, value, bool(passed), reason, evidence=evidence, **extra)

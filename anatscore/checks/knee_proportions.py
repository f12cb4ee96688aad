"""``proportions.knee``: femur and tibia of a knee AP that match, as z-scores against real knees.

**Not registered** (not in ``ANATOMY_CHECKS``): on the real crops it fails 1/50 of each half,
but it detects the controlled corruptions of ``anatscore.anatomy.corrupt_knee`` on only 61-85 %
(``PYTHONPATH=. OMP_NUM_THREADS=1 python benchmarks/knee_proportions.py``), below the issue's
90 % target. The function works as a check when called directly.

Measured by :func:`~anatscore.anatomy.knee_proportions.knee_proportions` on the shared
segmentation and the femorotibial joint line that ``joint.space`` also uses (both memoised per
image). Two proportions, each a z-score against the calibration half of the real knee crops
(median and robust sd, 1.4826 x MAD, in the region record's ``knee_width_ratio`` and
``knee_notch_position``):

- ``z_width = (ln(femoral bicondylar width / tibial plateau width) - median) / sd``: condyles
  much wider or narrower than the plateau they stand on;
- ``z_notch = (notch_position - median) / sd``: the intercondylar notch off the middle of the
  femur, i.e. one condyle much wider than the other.

The check fails when either leaves the record's bound (``max``, applied to ``|z|``). Value: the
z-score of larger magnitude. When a bone edge reaches the image border the width there is a
bound, not a measurement: the width ratio is judged only when that bound already lies outside
the range (a femur clipped at the border and already too wide), otherwise it is not applicable;
the notch is not judged when the femur is clipped.
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
    """(passed or None for n/a, reason, value, extra) of the proportions against the record."""
    rw = rec.raw["expect"]["knee_width_ratio"]
    rn = rec.raw["expect"]["knee_notch_position"]
    bw, bn = float(rw["max"]), float(rn["max"])
    ratio, notch = kp.width_ratio, kp.notch_position
    if not (math.isfinite(ratio) and ratio > 0 and math.isfinite(notch)):
        return None, "knee proportions not measurable (no femoral or tibial width, or no notch found)", None, {}
    zw, zn = _z(math.log(ratio), rw), _z(notch, rn)
    femur_clipped = any(c.startswith("femur") for c in kp.clipped)
    tibia_clipped = any(c.startswith("tibia") for c in kp.clipped)
    lo, hi = (math.exp(float(rw["median"]) + s * bw * float(rw["sd"])) for s in (-1, 1))
    nlo, nhi = float(rn["median"]) - bn * float(rn["sd"]), float(rn["median"]) + bn * float(rn["sd"])
    extra: dict[str, Any] = {"z_width": zw, "z_notch": zn, "width_ratio": ratio, "notch_position": notch,
                             "condyle_ratio": kp.condyle_ratio, "clipped": list(kp.clipped)}
    problems = []
    # Width ratio: with an edge at the border, femur width is a lower bound, tibia width too.
    width_known = not (femur_clipped or tibia_clipped)
    if width_known or (femur_clipped and not tibia_clipped and zw > bw) or (tibia_clipped and not femur_clipped and zw < -bw):
        if abs(zw) > bw:
            what = "condyles too wide for the tibial plateau" if zw > 0 else "condyles too narrow for the tibial plateau"
            problems.append(f"femoral condyles / tibial plateau width {ratio:.2f}, expected {lo:.2f}..{hi:.2f} "
                            f"(z {zw:+.1f}: {what})")
    else:
        extra["z_width"] = None
    if not femur_clipped and abs(zn) > bn:
        side = "left" if zn < 0 else "right"
        problems.append(f"intercondylar notch at {notch:.2f} of the femur's width, expected {nlo:.2f}..{nhi:.2f} "
                        f"(z {zn:+.1f}: off-centre towards the image's {side}, condyles {kp.condyle_ratio:.1f}:1)")
    elif femur_clipped:
        extra["z_notch"] = None
    if problems:
        value = zw if abs(zw) >= abs(zn) else zn
        return False, "; ".join(problems), value, extra
    if extra["z_width"] is None:
        return None, (f"femur or tibia reaches the image border ({', '.join(kp.clipped)}): its width cannot be "
                      "measured"), None, extra
    value = zw if abs(zw) >= abs(zn) else zn
    reason = (f"femoral condyles / tibial plateau width {ratio:.2f} (z {zw:+.1f}), notch at {notch:.2f} of the "
              f"femur's width (z {zn:+.1f}): within |z| <= {bw:g} / {bn:g} of real knee radiographs")
    return True, reason, value, extra


def knee_proportions_check(image: LoadedImage, ctx: CheckContext) -> CheckResult:
    """``proportions.knee``: femoral vs tibial width and notch position within the record's z bounds."""
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
    j = kp.joint_row

    def pt(x: float, frac: float) -> list[float]:
        return [round(x * s, 1), round((j + frac * h) * s, 1)]

    fy, ty, ny = sum(FEMUR_BAND) / 2, sum(TIBIA_BAND) / 2, sum(NOTCH_BAND) / 2
    evidence = {"femur_edges": [pt(kp.femur_left, fy), pt(kp.femur_right, fy)],
                "tibia_edges": [pt(kp.tibia_left, ty), pt(kp.tibia_right, ty)],
                "notch": pt(kp.notch_x, ny)}
    return CheckResult.judge(NAME, value, bool(passed), reason, evidence=evidence, **extra)

"""``joint.space``: the joint space is present (not fused) on a radiograph of a joint.

Applies to knee AP radiographs (the femorotibial joint runs across the image); see
:mod:`anatscore.anatomy.jointspace` for the measurement. The verdict compares the median
relative depth of the joint-space valley along the joint line with the region record's
``joint_space_depth`` range (measured on real knee radiographs); width and irregularity of the
joint line are reported alongside. Evidence: the joint line as (x, y) points in full-resolution
pixel coordinates (every 8th column).
"""

from __future__ import annotations

from ..anatomy.expected import expected
from ..anatomy.jointspace import horizontal_joint_space
from ..anatomy.segment import no_bone_reason, segment_image
from ..types import CheckResult, LoadedImage
from . import CheckContext

NAME = "joint.space"


def joint_space(image: LoadedImage, ctx: CheckContext) -> CheckResult:
    rec = expected(image.meta.region)
    seg = segment_image(image)
    if why := no_bone_reason(seg):
        return CheckResult.na(NAME, why)
    js = image.memo("anatomy.jointspace", lambda: horizontal_joint_space(seg))
    exp = rec["joint_space_depth"]
    lo = ctx.config.option(NAME, "min", exp.min)
    ok = js.depth_median >= lo
    s = 1.0 / seg.scale
    pts = [[round(float(c) * s, 1), round(float(r) * s, 1)] for c, r in zip(js.columns[::8], js.line_rows[::8])]
    if ok:
        reason = (f"joint space visible: median depth {js.depth_median:.2f} >= {lo:.2f}, open over "
                  f"{100 * js.open_fraction:.0f}% of the joint width, width {100 * js.width:.1f}% of height")
    else:
        reason = (f"joint space closed or fused: median depth {js.depth_median:.2f} < {lo:.2f} "
                  + (f"(expected range for {rec.region} measured on real radiographs)" if lo == exp.min
                     else "(threshold set by the joint.space.min option)"))
    return CheckResult.judge(
        NAME, js.depth_median, ok, reason, evidence={"joint_line": pts},
        open_fraction=js.open_fraction, width=js.width, irregularity=js.irregularity, expected_min=lo,
    )

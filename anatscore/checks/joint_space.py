"""``joint.space``: the joint space is present (not fused) on a radiograph of a joint.

Knee AP: the femorotibial joint runs across the image; measured by
:func:`~anatscore.anatomy.jointspace.horizontal_joint_space` (unchanged knee behaviour).
Other regions: the region record's ``joint`` entry (a
:class:`~anatscore.anatomy.jointspace.JointSpec`: expected direction of the joint line, angle
search range, band) drives the generic finder
:func:`~anatscore.anatomy.jointspace.find_joint` - a thin dark gap between two bone ends.

The verdict compares the median relative depth of the joint-space valley along the joint line
with the region record's threshold (knee: ``joint_space_depth`` measured on real radiographs;
other regions: the ``joint`` entry's ``min_depth``); width and irregularity of the joint line
are reported alongside. Evidence: the joint line as (x, y) points in full-resolution pixel
coordinates (every 8th column), and for generic joints the two facing articular contours.
"""

from __future__ import annotations

from ..anatomy.expected import RegionRecord, expected
from ..anatomy.jointspace import JointSpec, find_joint, horizontal_joint_space
from ..anatomy.segment import Segmentation, no_bone_reason, segment_image
from ..types import CheckResult, LoadedImage
from . import CheckContext

NAME = "joint.space"


def _points(xy: object, s: float, step: int = 8) -> list[list[float]]:
    return [[round(float(x) * s, 1), round(float(y) * s, 1)] for x, y in list(xy)[::step]]  # type: ignore[call-overload]


def _measure(image: LoadedImage, seg: Segmentation, rec: RegionRecord) -> dict:
    """Depth, width, irregularity and evidence of the region's joint (memoised per image)."""
    s = 1.0 / seg.scale
    if "joint" not in rec.raw:  # knee: the femorotibial line across the image
        js = image.memo("anatomy.jointspace", lambda: horizontal_joint_space(seg))
        return {"depth": js.depth_median, "found": True, "name": "femorotibial",
                "min": rec["joint_space_depth"].min, "source": f"expected range for {rec.region} measured on real radiographs",
                "extra": {"open_fraction": js.open_fraction, "width": js.width, "irregularity": js.irregularity},
                "evidence": {"joint_line": _points(zip(js.columns, js.line_rows), s)}}
    spec = JointSpec.from_record(rec.raw["joint"])
    j = image.memo(f"anatomy.joint.{spec.name}", lambda: find_joint(seg, spec))
    return {"depth": j.depth_median, "found": j.found, "name": spec.name, "min": spec.min_depth,
            "source": f"{rec.region} record's joint threshold, set on phantoms",
            "extra": {"open_fraction": j.open_fraction, "width": j.width, "irregularity": j.irregularity,
                      "angle": j.angle, "extent": j.extent},
            "evidence": {"joint_line": _points(j.line_xy, s), "upper_contour": _points(j.upper_xy, s),
                         "lower_contour": _points(j.lower_xy, s)}}


def joint_space(image: LoadedImage, ctx: CheckContext) -> CheckResult:
    rec = expected(image.meta.region)
    seg = segment_image(image)
    if why := no_bone_reason(seg):
        return CheckResult.na(NAME, why)
    m = _measure(image, seg, rec)
    lo = ctx.config.option(NAME, "min", m["min"])
    depth = m["depth"]
    ok = depth >= lo
    extra = m["extra"]
    if ok:
        reason = (f"{m['name']} joint space visible: median depth {depth:.2f} >= {lo:.2f}, open over "
                  f"{100 * extra['open_fraction']:.0f}% of the joint width, width {100 * extra['width']:.1f}% of "
                  + ("height" if m["name"] == "femorotibial" else "the long side"))
    elif not m["found"]:
        reason = f"{m['name']} joint space not found: no dark gap between two bone ends (fused or absent)"
    else:
        reason = (f"{m['name']} joint space closed or fused: median depth {depth:.2f} < {lo:.2f} "
                  + (f"({m['source']})" if lo == m["min"] else "(threshold set by the joint.space.min option)"))
    return CheckResult.judge(NAME, depth, ok, reason, evidence=m["evidence"], expected_min=lo, **extra)

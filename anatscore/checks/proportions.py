"""``proportions.*``: body proportions as z-scores against ranges measured on real radiographs.

``proportions.lung_aspect``: the height/width of each lung field as a z-score of its logarithm,
``z_side = (ln(H / W) - mu_side) / sd_side`` with the means and sds of the region record's
``lung_aspect`` (measured on the even-indexed JSRT films with ``benchmarks/chest_scr.py``), and
the value ``z = (z_right + z_left) / 2``. A squashed or stretched thorax moves both lungs the same
way, while a lung field that stops short on one side moves only one, so the mean of the two
z-scores separates a distorted film from an imperfect segmentation better than either lung's own
z-score. Fails when ``z`` leaves the record's bound.
"""

from __future__ import annotations

import math
from typing import Any

from ..anatomy.chest import chest_geometry
from ..anatomy.expected import expected
from ..types import CheckResult
from . import CheckContext


def lung_aspect(image: Any, ctx: CheckContext) -> CheckResult:
    """``proportions.lung_aspect``: mean z-score of ln(lung height/width) within the record's bound.

    Value: ``z`` (negative: lungs too short for their width, as in a vertically squashed film).
    """
    name = "proportions.lung_aspect"
    geo = chest_geometry(image)
    if not geo.both_lungs:
        return CheckResult.na(name, "lung proportions need two lung fields")
    rec = expected("chest")
    raw = rec.raw["expect"]["lung_aspect"]
    aspect = {s: lf.height / lf.width for s, lf in geo.lungs.items()}
    z = {s: (math.log(aspect[s]) - float(raw[f"mean_log_{s}"])) / float(raw[f"sd_log_{s}"]) for s in ("right", "left")}
    zm = (z["right"] + z["left"]) / 2.0
    bound = rec["lung_aspect"]
    ok = bound.contains(zm)
    desc = ", ".join(f"{s} {aspect[s]:.2f} (z {z[s]:+.1f})" for s in ("right", "left"))
    verdict = "within" if ok else "outside"
    what = "" if ok else (" (lungs too short for their width)" if zm < 0 else " (lungs too tall for their width)")
    reason = f"lung height/width {desc}; mean z {zm:+.1f} {verdict} {bound.describe()}{what}"
    return CheckResult.judge(name, zm, ok, reason, z_right=z["right"], z_left=z["left"],
                             aspect_right=aspect["right"], aspect_left=aspect["left"])

"""``proportions.*``: body proportions as z-scores against ranges measured on real radiographs.

``proportions.lung_aspect``: the height/width of each lung field as a z-score of its logarithm,
``z_side = (ln(H / W) - mu_side) / sd_side`` with the means and sds of the region record's
``lung_aspect`` (measured on the even-indexed JSRT films with ``benchmarks/chest_scr.py``). A
squashed or stretched thorax moves both lungs the same way, while a lung field that stops short
on one side (pneumonia at one base, a hazy base) moves only one, so the value is the z-score of
the *less extreme* lung when both have the same sign, and 0 when they differ:
``z = sign(z_r) min(|z_r|, |z_l|)`` if ``z_r z_l > 0`` else 0. The check fails only when both
lungs are too short (or both too tall), i.e. when ``z`` leaves the record's bound. (The mean of
the two z-scores, used before, failed a COVID film whose right field stops at mid-height: z
right -4.4.)
"""

from __future__ import annotations

import math
from typing import Any

from ..anatomy.chest import chest_geometry
from ..anatomy.expected import expected
from ..types import CheckResult
from . import CheckContext
from .chest import opacified


def lung_aspect(image: Any, ctx: CheckContext) -> CheckResult:
    """``proportions.lung_aspect``: both-lungs z-score of ln(lung height/width) within the record's bound.

    Value: ``z`` (negative: lungs too short for their width, as in a vertically squashed film).
    "Too short" is n/a when both lung bases are opacified (``chest.opacified``: bilateral pleural
    effusions shorten both fields). One opacified base does not matter here (the value is the
    less extreme lung's z), and abstaining on one would cost squashed-film detections: the
    meniscus sign flags about 5 % of normal right bases.
    """
    name = "proportions.lung_aspect"
    geo = chest_geometry(image)
    if not geo.both_lungs:
        return CheckResult.na(name, "lung proportions need two lung fields")
    rec = expected("chest")
    raw = rec.raw["expect"]["lung_aspect"]
    aspect = {s: lf.height / lf.width for s, lf in geo.lungs.items()}
    z = {s: (math.log(aspect[s]) - float(raw[f"mean_log_{s}"])) / float(raw[f"sd_log_{s}"]) for s in ("right", "left")}
    zr, zl = z["right"], z["left"]
    zm = math.copysign(min(abs(zr), abs(zl)), zr) if zr * zl > 0 else 0.0
    bound = rec["lung_aspect"]
    ok = bound.contains(zm)
    if not ok and zm < 0:
        opac = opacified(geo)
        if len(opac) == 2:
            return CheckResult.na(name, f"lungs short for their width (right z {zr:+.1f}, left z {zl:+.1f}), but both "
                                        f"lung bases are opacified (right: {opac['right']}; left: {opac['left']}): "
                                        "fluid shortens the lung fields, not the thorax", z_right=zr, z_left=zl,
                                  opacified=sorted(opac))
    desc = ", ".join(f"{s} {aspect[s]:.2f} (z {z[s]:+.1f})" for s in ("right", "left"))
    verdict = "within" if ok else "outside"
    what = "" if ok else (" (lungs too short for their width)" if zm < 0 else " (lungs too tall for their width)")
    reason = f"lung height/width {desc}; both-lungs z {zm:+.1f} {verdict} {bound.describe()}{what}"
    return CheckResult.judge(name, zm, ok, reason, z_right=z["right"], z_left=z["left"],
                             aspect_right=aspect["right"], aspect_left=aspect["left"])

"""``proportions.*``: body proportions as z-scores against ranges measured on real radiographs.

``proportions.lung_aspect``: height / width of each lung field, z = (x - mean) / sd with the
mean and sd of the region record ``chest.lung_aspect`` (measured on 127 JSRT films with
``benchmarks/chest_scr.py``). Fails when either lung's |z| exceeds ``z_max``.
"""

from __future__ import annotations

from typing import Any

from ..anatomy.chest import chest_geometry
from ..anatomy.expected import expected
from ..types import CheckResult
from . import CheckContext


def lung_aspect(image: Any, ctx: CheckContext) -> CheckResult:
    """``proportions.lung_aspect``: lung height/width z-scores within +-z_max (value: max |z|)."""
    name = "proportions.lung_aspect"
    geo = chest_geometry(image)
    if not geo.both_lungs:
        return CheckResult.na(name, "lung proportions need two lung fields")
    raw = expected("chest").raw["expect"]["lung_aspect"]
    mean, sd, zmax = float(raw["mean"]), float(raw["sd"]), float(raw["z_max"])
    z = {s: (lf.height / lf.width - mean) / sd for s, lf in geo.lungs.items()}
    worst = max(z, key=lambda s: abs(z[s]))
    ok = abs(z[worst]) <= zmax
    desc = ", ".join(f"{s} {geo.lungs[s].height / geo.lungs[s].width:.2f} (z {z[s]:+.1f})" for s in ("right", "left"))
    return CheckResult.judge(name, abs(z[worst]), ok,
                             f"lung height/width {desc}; {'within' if ok else 'beyond'} |z| <= {zmax:g}",
                             z_right=z["right"], z_left=z["left"])

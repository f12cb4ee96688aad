"""``pelvis.symmetry``: paired pelvic bones balanced about the symmetry axis (AP pelvis).

See :mod:`anatscore.anatomy.pelvis`. Validated on 4 real infant films and their corruptions only.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..anatomy.expected import expected
from ..anatomy.pelvis import analyse_pelvis
from ..types import CheckResult
from . import CheckContext


def symmetry(image: Any, ctx: CheckContext) -> CheckResult:
    """Value: the smaller band balance (1 = equal bone area both sides in both bands).

    Fails when that balance is below the record's ``band_balance`` minimum, or when the film has
    no mirror-symmetric structure at all (``mirror_correlation``; e.g. noise, which is "balanced").
    """
    name = "pelvis.symmetry"
    if image.meta.view == "lateral":
        return CheckResult.na(name, "symmetry applies to frontal (AP) pelvis films, image is lateral")
    p = image.memo("anatomy.pelvis.symmetry", lambda: analyse_pelvis(image.grey))
    rng = expected("pelvis")["band_balance"]
    worst = min(p.band_balance)
    which = ("upper (iliac wings)", "lower (hips, femora)")[int(np.argmin(p.band_balance))]
    ok = rng.contains(worst)
    reason = (f"left/right bone balance {worst:.2f} in the {which} band "
              f"({'within' if ok else 'below'} {rng.describe()}; axis at {p.axis_frac:.0%} of the width)")
    mc = expected("pelvis")["mirror_correlation"]
    if not mc.contains(p.symmetry):
        ok = False
        reason = (f"no mirror-symmetric bone structure (mirror correlation {p.symmetry:.2f}, expected "
                  f"{mc.describe()}); " + reason)
    return CheckResult.judge(name, worst, ok, reason, mirror_correlation=p.symmetry,
                             band_balance=list(p.band_balance), axis_frac=p.axis_frac)

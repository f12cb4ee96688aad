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
    """Value: the smallest cell balance (1 = equal edge energy in every mirrored cell pair).

    Fails when that balance is below the record's ``cell_balance`` minimum (a bone missing on
    one side: its cell keeps much less edge energy than the mirror cell), or when the film has no
    mirror-symmetric structure at all (``mirror_correlation``; e.g. noise, which is "balanced").
    """
    name = "pelvis.symmetry"
    p = image.memo("anatomy.pelvis.symmetry", lambda: analyse_pelvis(image.grey))
    rng = expected("pelvis")["cell_balance"]
    worst = min(p.cell_balance)
    band, col = p.worst_cell
    ok = rng.contains(worst)
    reason = (f"left/right edge balance {worst:.2f} in the {band} band, {col} third "
              f"({'within' if ok else 'below'} {rng.describe()}; axis at {p.axis_frac:.0%} of the width)")
    mc = expected("pelvis")["mirror_correlation"]
    if not mc.contains(p.symmetry):
        ok = False
        reason = (f"no mirror-symmetric bone structure (mirror correlation {p.symmetry:.2f}, expected "
                  f"{mc.describe()}); " + reason)
    return CheckResult.judge(name, worst, ok, reason, mirror_correlation=p.symmetry,
                             cell_balance=list(p.cell_balance), band_balance=list(p.band_balance),
                             axis_frac=p.axis_frac)

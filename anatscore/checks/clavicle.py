"""``chest.clavicles`` (EXPERIMENTAL, not registered): a clavicle band on each side of a PA chest.

See :mod:`anatscore.anatomy.clavicle` for the detector and why it is not registered. The function
has the ordinary check signature so that registering it is one :class:`~anatscore.types.CheckSpec`
(``target="anatscore.checks.clavicle:clavicles"``, region chest, modality xray).
"""

from __future__ import annotations

from typing import Any

from ..anatomy.clavicle import FOUND_EDGE, ClavicleResult, clavicles as detect
from ..types import CheckResult
from . import CheckContext

NAME = "chest.clavicles"


def _evidence(res: ClavicleResult) -> dict[str, Any]:
    """Detected band centre-lines ``[[row, col], [row, col]]`` (medial, lateral end) as fractions."""
    ev: dict[str, Any] = {"grid": res.n}
    for side, b in res.bands.items():
        ev[f"{side}_clavicle_line"] = b.line(res.n)
    return ev


def clavicles(image: Any, ctx: CheckContext) -> CheckResult:
    """``chest.clavicles``: a straight band with two sharp cortical edges, rising laterally,
    across each lung apex.

    Value: number of sides with a band of edge-pair strength >= ``FOUND_EDGE`` (0-2). Fails below
    two. Extra: per side the strength, elevation angle (deg), thickness (fraction of the side) and
    centre (fractions of the side).
    Not applicable without two lung fields (the thorax frame places the search).
    """
    res = detect(image)
    if not res.bands:
        return CheckResult.na(NAME, res.reason)
    extra: dict[str, Any] = {}
    for side, b in res.bands.items():
        extra[f"{side}_strength"] = round(b.strength, 4)
        extra[f"{side}_angle_deg"] = b.angle_deg
        extra[f"{side}_thickness"] = round(b.thickness / res.n, 4)
        extra[f"{side}_centre"] = [round(b.centre[0] / res.n, 4), round(b.centre[1] / res.n, 4)]
    missing = [s for s, b in res.bands.items() if not b.found]
    if missing:
        what = "; ".join(f"{s} edge-pair strength {res.bands[s].strength:.4f} < {FOUND_EDGE:.4f}" for s in missing)
        return CheckResult.judge(NAME, float(res.found), False,
                                 f"expected 2 clavicles, found {res.found} (no {' or '.join(missing)} clavicle: {what})",
                                 evidence=_evidence(res), **extra)
    return CheckResult.judge(NAME, 2.0, True, "a clavicle band (two parallel cortical edges) crosses each lung apex", evidence=_evidence(res), **extra)

"""``chest.clavicles`` (EXPERIMENTAL, not registered): a clavicle band on each side of a PA chest.

See :mod:`anatscore.anatomy.clavicle` for the detector and why it is not registered. The function
has the ordinary check signature so that registering it is one :class:`~anatscore.types.CheckSpec`
(``target="anatscore.checks.clavicle:clavicles"``, region chest, modality xray).
"""

from __future__ import annotations

from typing import Any

from ..anatomy.clavicle import FOUND_CONTRAST, ClavicleResult, clavicles as detect
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
    """``chest.clavicles``: a bright, straight, obliquely rising band across each lung apex.

    Value: number of sides with a band of contrast >= ``FOUND_CONTRAST`` (0-2). Fails below two.
    Extra: per side the band contrast, elevation angle (deg) and centre (fractions of the side).
    Not applicable without two lung fields (the thorax frame places the search).
    """
    res = detect(image)
    if not res.bands:
        return CheckResult.na(NAME, res.reason)
    extra: dict[str, Any] = {}
    for side, b in res.bands.items():
        extra[f"{side}_contrast"] = round(b.contrast, 4)
        extra[f"{side}_angle_deg"] = b.angle_deg
        extra[f"{side}_centre"] = [round(b.centre[0] / res.n, 4), round(b.centre[1] / res.n, 4)]
    missing = [s for s, b in res.bands.items() if not b.found]
    if missing:
        what = "; ".join(f"{s} band contrast {res.bands[s].contrast:.3f} < {FOUND_CONTRAST:.3f}" for s in missing)
        return CheckResult.judge(NAME, float(res.found), False,
                                 f"expected 2 clavicles, found {res.found} (no {' or '.join(missing)} clavicle: {what})",
                                 evidence=_evidence(res), **extra)
    return CheckResult.judge(NAME, 2.0, True, "a clavicle band crosses each lung apex", evidence=_evidence(res), **extra)

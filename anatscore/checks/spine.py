"""Spine checks: vertebral bodies counted along the spine axis and their spacing regularity.

Expected ranges come from the segment's region record (``lumbar_spine``, ``thoracic_spine``,
``cervical_spine``, or ``spine`` when the segment is unknown). Validated on phantoms only.
"""

from __future__ import annotations

from typing import Any

from ..anatomy.expected import expected
from ..anatomy.spine import SpineProfile, analyse_spine
from ..types import CheckResult
from . import CheckContext


def _profile(image: Any) -> SpineProfile:
    return image.memo("anatomy.spine.profile", lambda: analyse_spine(image.grey))


def _evidence(p: SpineProfile) -> dict[str, Any]:
    return {"grid_height": 512, "body_rows": p.peaks}


def vertebra_count(image: Any, ctx: CheckContext) -> CheckResult:
    """``spine.vertebra_count``: visible vertebral bodies within the segment's expected range."""
    name = "spine.vertebra_count"
    rec = expected(image.meta.region or "spine")
    p = _profile(image)
    rng = rec["vertebra_count"]
    if p.period is None:
        return CheckResult.judge(name, 0.0, False, "no periodic vertebral body pattern along the spine axis "
                                 f"(autocorrelation {p.periodicity:.2f})", evidence=_evidence(p))
    ok = rng.contains(p.count)
    return CheckResult.judge(name, float(p.count), ok,
                             f"expected {rng.describe()} vertebral bodies ({rec.region}), found {p.count}",
                             evidence=_evidence(p), period_px=p.period)


def spacing(image: Any, ctx: CheckContext) -> CheckResult:
    """``spine.spacing``: body-to-body intervals follow a smooth trend (no fused/duplicated levels)."""
    name = "spine.spacing"
    rec = expected(image.meta.region or "spine")
    p = _profile(image)
    if len(p.intervals) < 3:
        return CheckResult.na(name, f"spacing needs at least 4 vertebral bodies, found {p.count}")
    rng = rec["spacing_irregularity"]
    ok = rng.contains(p.irregularity)
    verdict = "regular" if ok else "irregular"
    return CheckResult.judge(name, p.irregularity, ok,
                             f"{verdict} vertebral spacing: largest deviation {p.irregularity:.0%} of the trend "
                             f"(allowed {rng.describe()})", evidence=_evidence(p), intervals=p.intervals)

"""``anatomy.plausible``: the overall per-image anatomy verdict (GenEval style).

An image passes only if every applicable anatomy check passed; the reason lists the failing
checks' reasons. Not applicable when no anatomy check applied to the image. Preconditions
(``ANATOMY_PRECONDITIONS``, e.g. ``image.noise``) count when they fail, but a passed precondition
alone does not make an image judged: a knee film whose knee checks all abstain is not "plausible".
"""

from __future__ import annotations

from ..types import CheckResult
from . import CheckContext

NAME = "anatomy.plausible"


def anatomy_plausible(image: object, ctx: CheckContext) -> CheckResult:
    from ..registry import ANATOMY_CHECKS, ANATOMY_PRECONDITIONS

    anatomy = {s.name for s in ANATOMY_CHECKS}
    pre = {s.name for s in ANATOMY_PRECONDITIONS}
    judged = [r for name, r in ctx.prior.items() if name in anatomy and r.passed is not None]
    if not any(r.passed is False or r.check not in pre for r in judged):
        return CheckResult.na(NAME, "no anatomy check applied to this image")
    failed = [r for r in judged if r.passed is False]
    frac = 1.0 - len(failed) / len(judged)
    if failed:
        why = "; ".join(f"{r.check}: {r.reason}" for r in failed)
        return CheckResult.judge(NAME, frac, False, f"{len(failed)}/{len(judged)} anatomy checks failed: {why}",
                                 failed=[r.check for r in failed], n_checks=len(judged))
    return CheckResult.judge(NAME, frac, True, f"all {len(judged)} applicable anatomy checks passed",
                             failed=[], n_checks=len(judged))

"""``hand.phalanges``: phalanges per digit on a PA hand radiograph (fused, extra or missing phalanges).

See :mod:`anatscore.anatomy.phalanges`: each digit's axis is traced from the digit-count
scanline, joint gaps are found as narrow dips of the grey profile along it, the MCP joint is the
gap with a long gap-free bone (the metacarpal) behind it, and the phalanges are the segments
between the tip and the MCP. Expected (hand record): ``phalanges.thumb`` (2) in the thumb,
``phalanges.finger`` (3) in every finger. When the thumb cannot be told from the little finger
(the larger end-of-row gap is less than ``THUMB_MARGIN`` times the other), both end digits
may read either count.

Not judged (n/a) when the number of digit axes traced is outside the hand record's digit
count (that is ``hand.digit_count``'s verdict).

Value: the number of digits with a wrong count. Evidence: per digit the tip, the joint gaps
counted (MCP last) and the axis, in full-resolution (row, col).
"""

from __future__ import annotations

from ..anatomy.expected import expected
from ..anatomy.hand import analyse_hand
from ..anatomy.phalanges import PhalangesAnalysis, analyse_phalanges
from ..anatomy.segment import no_bone_reason, segment_image
from ..types import CheckResult, LoadedImage
from . import CheckContext
from .hand_digits import too_small

NAME = "hand.phalanges"

def _allowed(a: PhalangesAnalysis, i: int, region: str) -> range:
    rec = expected(region)
    thumb, finger = rec["phalanges.thumb"], rec["phalanges.finger"]
    lo_t, hi_t = int(thumb.min or 2), int(thumb.max or 2)
    lo_f, hi_f = int(finger.min or 3), int(finger.max or 3)
    d = a.digits[i]
    end = i in (0, len(a.digits) - 1)
    if end and not a.thumb_confident:
        return range(min(lo_t, lo_f), max(hi_t, hi_f) + 1)
    return range(lo_t, hi_t + 1) if d.is_thumb else range(lo_f, hi_f + 1)


def phalanges(image: LoadedImage, ctx: CheckContext) -> CheckResult:
    if why := too_small(image):
        return CheckResult.na(NAME, why)
    seg = segment_image(image)
    if why := no_bone_reason(seg):
        return CheckResult.na(NAME, why)
    # The digit count's hand analysis (memoised: computed once when both checks run).
    hand = image.memo("anatomy.hand", lambda: analyse_hand(seg))
    a: PhalangesAnalysis = image.memo("anatomy.phalanges", lambda: analyse_phalanges(seg, hand=hand))
    n_exp = expected(image.meta.region or "hand")["digit_count"]
    if not n_exp.contains(len(a.digits)):
        # An extra or missing digit is hand.digit_count's finding; phalanges are judged only on a
        # hand read with the expected digits (otherwise which digit is the thumb is guesswork).
        return CheckResult.na(NAME, f"{len(a.digits)} digit axes traced, expected {n_exp.describe()}: "
                                    "phalanges not judged (see hand.digit_count)")
    wrong = []
    for i, d in enumerate(a.digits):
        ok = _allowed(a, i, image.meta.region or "hand")
        if d.phalanges not in ok:
            name = "thumb" if d.is_thumb else f"digit {i + 1}"
            want = f"{ok.start}" if len(ok) == 1 else f"{ok.start}-{ok.stop - 1}"
            what = "no MCP joint found" if d.phalanges == 0 else f"{d.phalanges} phalanges"
            wrong.append(f"{name}: {what}, expected {want}")
    counts = ", ".join(("T" if d.is_thumb else "") + str(d.phalanges) for d in a.digits)
    if wrong:
        reason = f"wrong phalanx count in {len(wrong)} digit(s): " + "; ".join(wrong) + f" (read {counts})"
    else:
        reason = f"phalanges per digit as expected (read {counts}, T = thumb)"
    evidence = {"digits": [
        {"thumb": d.is_thumb, "phalanges": d.phalanges, "tip": list(d.tip),
         "joints": [list(d.gaps[k]) for k in d.ip_indices] + ([list(d.gaps[d.mcp_index])] if d.mcp_index >= 0 else []),
         "axis": [list(p) for p in d.axis]}
        for d in a.digits]}
    return CheckResult.judge(NAME, float(len(wrong)), not wrong, reason, evidence=evidence,
                             counts=[d.phalanges for d in a.digits], thumb_confident=a.thumb_confident,
                             axis_angle_deg=a.axis_angle_deg)

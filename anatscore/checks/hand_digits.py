"""``hand.digit_count``: number of digits on a PA hand radiograph (extra or missing digits).

See :mod:`anatscore.anatomy.hand`: bone runs are counted on scanlines across the hand's long
axis, and the digit count is the largest number of runs that persists over enough scanlines.
The verdict compares it with the ``digit_count`` range of the hand record (5, thumb included).
Evidence: the digits' relative positions across the counting scanline.
"""

from __future__ import annotations

from ..anatomy.expected import expected
from ..anatomy.hand import analyse_hand
from ..anatomy.segment import no_bone_reason, segment_image
from ..types import CheckResult, LoadedImage
from . import CheckContext

NAME = "hand.digit_count"

#: Below this long side (px) a hand's digits are a few pixels wide and the bone runs merge: the
#: 40-px thumbnails of generated/hand_gan_thumbnails read 1 digit, real and generated alike.
MIN_SIDE = 128


def too_small(image: LoadedImage) -> str | None:
    """The not-applicable reason for a hand image too small to resolve digits, or None."""
    side = max(image.grey.shape)
    return f"image too small to resolve digits ({side} px < {MIN_SIDE} px long side)" if side < MIN_SIDE else None


def digit_count(image: LoadedImage, ctx: CheckContext) -> CheckResult:
    rec = expected(image.meta.region)
    if why := too_small(image):
        return CheckResult.na(NAME, why)
    seg = segment_image(image)
    if why := no_bone_reason(seg):
        return CheckResult.na(NAME, why)
    hand = image.memo("anatomy.hand", lambda: analyse_hand(seg))
    exp = rec["digit_count"]
    ok = exp.contains(hand.digit_count)
    want = exp.describe()
    if ok:
        reason = f"{hand.digit_count} digits, as expected ({want})"
    elif hand.digit_count > (exp.max or 0):
        reason = f"extra digit(s): expected {want} digits, found {hand.digit_count}"
    else:
        reason = f"missing digit(s): expected {want} digits, found {hand.digit_count}"
    return CheckResult.judge(
        NAME, float(hand.digit_count), ok, reason, evidence={"digit_positions": list(hand.positions)},
        axis_angle_deg=hand.axis_angle_deg, run_histogram={str(k): v for k, v in hand.run_histogram.items()},
    )

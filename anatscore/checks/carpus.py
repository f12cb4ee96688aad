"""``wrist.carpal_separation``: the carpal bones stay separable (not fused into one block).

Applies to PA/AP radiographs of the wrist and the hand (the carpus is in both); a lateral view
is not judged (the carpal bones overlap there). See :mod:`anatscore.anatomy.carpus`: the carpus
is located as the thickest part of the gap-bridged bone mask, the dark gap network inside it is
found with a Sato dark-ridge filter scaled to the carpus, and the bone pieces the gaps separate
are counted. Where no compact carpal mass is found (its inscribed radius under ``MIN_MASS`` of
the limb width: carpus out of view, or bones drawn scattered apart) the check abstains. The
value is the count; the check fails when it is below the floor of the wrist
record (``carpal_separable``; lower for children when the image's metadata gives an age, from
``carpal_separable_by_age``). Gap length per carpal area and the gap fraction are reported with
it. Evidence: the carpus centre and radius and each counted piece's centroid, in full-resolution
pixel coordinates (x, y).

A rendering brighter than mid-grey (median normalised grey above 0.5) is first mapped by a
power law onto median 0.5 (:func:`anatscore.anatomy.carpus.normalise_rendering`), so the
verdict does not depend on the display gamma of a bright film.

Options (``EvalConfig.options["wrist.carpal_separation"]``): ``min`` overrides the floor.
"""

from __future__ import annotations

import re
from typing import Any, Optional

import numpy as np
from scipy import ndimage as ndi

from ..anatomy.carpus import carpal_separation as measure_carpus, normalise_rendering
from ..anatomy.expected import expected
from ..anatomy.segment import no_bone_reason, segment_image
from ..types import CheckResult, LoadedImage
from . import CheckContext

NAME = "wrist.carpal_separation"

#: Smallest carpal mass (inscribed radius / limb width) judged; ~0.2 on real wrists and hands.
MIN_MASS = 0.12

#: Metadata keys (``ImageMeta.extra``) read as the patient's age, first found wins.
AGE_KEYS = ("age", "age_years", "patient_age", "PatientAge")


def parse_age(value: Any) -> Optional[float]:
    """Age in years from a number or a DICOM age string (``"014Y"``, ``"006M"``, ``"010W"``,
    ``"003D"``); None when it cannot be read.

    >>> parse_age("014Y"), parse_age("006M"), parse_age(7), parse_age("n/a")
    (14.0, 0.5, 7.0, None)
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if np.isfinite(value) and value >= 0 else None
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([YMWD]?)\s*", str(value).upper())
    if not m:
        return None
    per_year = {"": 1.0, "Y": 1.0, "M": 12.0, "W": 52.0, "D": 365.0}[m.group(2)]
    return float(m.group(1)) / per_year


def expected_floor(meta_extra: dict[str, Any]) -> tuple[Optional[float], str]:
    """The floor of separable carpal pieces for an image, and where it comes from.

    Adults and unknown ages: the wrist record's ``carpal_separable.min``. With an age in the
    metadata: the matching row of ``carpal_separable_by_age`` (its ``min`` may be None: too
    young to judge).
    """
    rec = expected("wrist")
    age = next((a for a in (parse_age(meta_extra.get(k)) for k in AGE_KEYS) if a is not None), None)
    if age is not None:
        for row in rec.raw.get("carpal_separable_by_age", ()):
            if row["age_min"] <= age < row["age_max"]:
                return row["min"], f"age {age:g} y: {row.get('note', '')}".rstrip(": ")
    return rec["carpal_separable"].min, "adult PA wrist (age unknown or >= 8 y)" if age is None else f"age {age:g} y"


def carpal_separation(image: LoadedImage, ctx: CheckContext) -> CheckResult:
    seg = segment_image(image)
    if why := no_bone_reason(seg):
        return CheckResult.na(NAME, why)
    floor, basis = expected_floor(image.meta.extra)
    floor = ctx.config.option(NAME, "min", floor)
    if floor is None:
        return CheckResult.na(NAME, f"too few ossified carpal bones to judge fusion ({basis})")
    cs = image.memo("anatomy.carpus", lambda: measure_carpus(normalise_rendering(seg)))
    if cs.radius < MIN_MASS * cs.body_width:
        return CheckResult.na(NAME, f"no compact carpal mass found (thickest bone {cs.radius / cs.body_width:.2f} "
                                    f"of the limb width, < {MIN_MASS:g}): carpus not in view or not drawn as one")
    s = 1.0 / seg.scale
    cents = ndi.center_of_mass(cs.labels > 0, cs.labels, np.unique(cs.labels[cs.labels > 0])) if cs.components else []
    evidence = {
        "carpus_centre": [round(cs.centre[1] * s, 1), round(cs.centre[0] * s, 1)],
        "carpus_radius": round(cs.roi_radius * s, 1),
        "pieces": [[round(float(c) * s, 1), round(float(r) * s, 1)] for r, c in cents],
    }
    ok = cs.components >= floor
    if ok:
        reason = (f"{cs.components} separable carpal bone pieces (>= {floor:g}, {basis}); "
                  f"gap length per carpal size {cs.gap_density:.1f}")
    else:
        reason = (f"fused carpus: only {cs.components} separable carpal bone pieces, expected >= {floor:g} "
                  f"({basis}); gap length per carpal size {cs.gap_density:.1f}")
    return CheckResult.judge(
        NAME, float(cs.components), ok, reason, evidence=evidence,
        gap_density=cs.gap_density, gap_fraction=cs.gap_fraction, expected_min=floor,
        piece_areas=list(cs.piece_areas),
    )

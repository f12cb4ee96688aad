"""Chest PA/AP checks on the weight-free geometry of :mod:`anatscore.anatomy.chest`.

All read their ranges from the region record ``anatomy/regions/chest.json`` (measured on JSRT,
see its ``source``) and share one :class:`~anatscore.anatomy.chest.ChestGeometry` per image.
"""

from __future__ import annotations

import math
from typing import Any

from ..anatomy.chest import ChestGeometry, chest_geometry, opacified_bases
from ..anatomy.expected import expected
from ..types import CheckResult
from . import CheckContext


def _lung_evidence(geo: ChestGeometry) -> dict[str, Any]:
    """Bounding boxes of the lung fields on the working grid, as fractions of the side."""
    n = float(geo.n)
    ev: dict[str, Any] = {"grid": geo.n, "inverted": geo.inverted}
    for side, lf in geo.lungs.items():
        c0, c1 = sorted((lf.inner, lf.outer))
        ev[f"{side}_lung_box"] = [lf.top / n, c0 / n, lf.bottom / n, c1 / n]
    return ev


def opacified(geo: ChestGeometry) -> dict[str, str]:
    """Sides whose lung base is opacified (:func:`anatscore.anatomy.chest.opacified_bases` with the
    record's ``lung_base_meniscus``, ``lung_base_elevation`` and ``lung_base_step``), with the sign seen."""
    rec = expected("chest")
    return opacified_bases(geo.lungs, float(rec["lung_base_meniscus"].max), float(rec["lung_base_elevation"].max),
                           float(rec["lung_base_step"].min))


def _opacified_text(opac: dict[str, str], sides: tuple[str, ...] = ("right", "left")) -> str:
    return "; ".join(f"the {s} lung base is opacified: {opac[s]}" for s in sides if s in opac)


def lung_fields(image: Any, ctx: CheckContext) -> CheckResult:
    """``chest.lung_fields``: two lung fields, one each side, each of plausible size.

    Value: number of lung fields found (0-2). Fails when fewer than two are found, a field's
    area fraction is outside the record's ``lung_area_frac`` range, or a field is not dark enough
    to be aerated lung (``lung_contrast``: 90th percentile of the film minus the field's median).
    """
    name = "chest.lung_fields"
    rec = expected("chest")
    geo = chest_geometry(image)
    n = len(geo.lungs)
    missing = [s for s in ("right", "left") if s not in geo.lungs]
    if missing:
        return CheckResult.judge(name, float(n), False,
                                 f"expected {rec['lung_fields'].describe()} lung fields, found {n} "
                                 f"(no {' or '.join(missing)} lung field)", evidence=_lung_evidence(geo))
    bad = [f"{s} lung field covers {lf.area_frac:.1%} of the image (expected {rec['lung_area_frac'].describe()})"
           for s, lf in geo.lungs.items() if not rec["lung_area_frac"].contains(lf.area_frac)]
    bad += [f"{s} lung field is not aerated (contrast {lf.contrast:.2f} to dense tissue, expected "
            f"{rec['lung_contrast'].describe()})"
            for s, lf in geo.lungs.items() if not rec["lung_contrast"].contains(lf.contrast)]
    areas = {f"{s}_area_frac": round(lf.area_frac, 4) for s, lf in geo.lungs.items()}
    areas.update({f"{s}_contrast": round(lf.contrast, 3) for s, lf in geo.lungs.items()})
    if bad:
        return CheckResult.judge(name, 2.0, False, "; ".join(bad), evidence=_lung_evidence(geo), **areas)
    return CheckResult.judge(name, 2.0, True, "two lung fields of plausible size", evidence=_lung_evidence(geo), **areas)


def heart_laterality(image: Any, ctx: CheckContext) -> CheckResult:
    """``chest.heart_laterality``: the heart shadow lies to the patient's left (situs solitus).

    n/a when the score points to a side whose lung base is opacified (:func:`opacified`: a
    meniscus, or a base far above the other's on dense tissue): there the cues read the short
    lung field, not the heart.

    Value: the situs score of :func:`anatscore.anatomy.chest.situs_score` (> 0 = left; about 3
    on a typical normal chest). Assumes standard display (patient's right on the image's left).
    Passes when the score reaches the record's ``situs_score`` minimum (the margin), fails below
    the ``situs_undecided`` band (a mirrored chest or dextrocardia), and is n/a inside the band,
    where the four cues (medial lung borders, paramedian lung area, paramedian density, heart
    borders) are too weak to decide, and when fewer than the record's ``situs_agreeing_cues``
    cues share the score's sign (:func:`anatscore.anatomy.chest.situs_agreement`: they disagree).
    """
    name = "chest.heart_laterality"
    geo = chest_geometry(image)
    if geo.laterality is None:
        return CheckResult.na(name, "heart laterality needs two lung fields")
    rec = expected("chest")
    extra = {"medial_asymmetry": geo.medial_asymmetry, "medial_area_asymmetry": geo.medial_area_asymmetry,
             "density_asymmetry": geo.density_asymmetry, "border_asymmetry": geo.border_asymmetry}
    agree, cues = geo.situs_agreement or (0, 0)
    extra["cues_agreeing"] = agree
    opac = opacified(geo)
    extra["opacified"] = sorted(opac)
    toward = "left" if geo.laterality > 0 else "right"
    if toward in opac:
        # an opacified base shortens that lung field where the heart is read: every situs cue then
        # leans towards it, so a score pointing there says nothing (pointing away, it stands)
        return CheckResult.na(name, f"heart side undecided: the situs score {geo.laterality:+.2f} points to the "
                                    f"patient's {toward}, but {_opacified_text(opac, (toward,))}; a pleural effusion "
                                    "or a raised hemidiaphragm there shortens the lung field, which the situs cues "
                                    "read as the heart's side", situs_score=geo.laterality, **extra)
    need = rec["situs_agreeing_cues"].min or 0
    if agree < need and not rec["situs_undecided"].contains(geo.laterality):
        return CheckResult.na(name, f"heart side undecided: situs score {geo.laterality:+.2f} but only {agree} of "
                                    f"{cues} cues agree with its sign (expected {rec['situs_agreeing_cues'].describe()})",
                              situs_score=geo.laterality, **extra)
    if rec["situs_score"].contains(geo.laterality):
        return CheckResult.judge(name, geo.laterality, True,
                                 f"heart shadow to the patient's left (situs score {geo.laterality:+.2f})", **extra)
    if rec["situs_undecided"].contains(geo.laterality):
        return CheckResult.na(name, f"heart side undecided: situs score {geo.laterality:+.2f} within "
                                    f"{rec['situs_undecided'].describe()} (cues weak or disagree)",
                              situs_score=geo.laterality, **extra)
    return CheckResult.judge(name, geo.laterality, False,
                             f"heart shadow to the patient's right (situs score {geo.laterality:+.2f}): "
                             "mirrored image or dextrocardia", **extra)


def ctr(image: Any, ctx: CheckContext) -> CheckResult:
    """``chest.ctr``: cardiothoracic ratio (max heart width / max thoracic width) in range.

    Cardiac borders from horizontal intensity steps (:func:`anatscore.anatomy.chest.heart_borders`);
    against the SCR CTR median |error| 0.040, Pearson r 0.56 on JSRT (README). The range is wide on
    purpose: this flags gross failures (no heart shadow, heart filling the chest), not cardiomegaly.
    A CTR that would fail is n/a when a lung base is opacified (:func:`opacified`): fluid beside the
    heart hides its border.
    """
    name = "chest.ctr"
    geo = chest_geometry(image)
    if not geo.both_lungs:
        return CheckResult.na(name, "CTR needs two lung fields")
    rng = expected("chest")["ctr"]
    ok = geo.ctr is not None and rng.contains(geo.ctr)
    opac = {} if ok else opacified(geo)
    if opac:
        found = "no heart shadow between the lung fields" if geo.ctr is None else f"CTR {geo.ctr:.2f}"
        return CheckResult.na(name, f"{found}, but {_opacified_text(opac)}: the heart border beside an opacified "
                                    "base is hidden (silhouette), so the CTR is not measured", ctr=geo.ctr,
                              opacified=sorted(opac))
    if geo.ctr is None:
        return CheckResult.judge(name, None, False, "no heart shadow between the lung fields")
    return CheckResult.judge(name, geo.ctr, ok, f"CTR {geo.ctr:.2f} ({'within' if ok else 'outside'} {rng.describe()})",
                             heart_width=geo.heart_width, thorax_width=geo.thorax_width)


def symmetry(image: Any, ctx: CheckContext) -> CheckResult:
    """``chest.symmetry``: left/right lung fields of comparable area and height.

    Value: the joint asymmetry score ``S = (z_A + z_H) / 2`` with
    ``z_A = (ln(A_L / A_R) - mu_A) / sd_A`` and ``z_H = (ln(H_L / H_R) - mu_H) / sd_H`` (area and
    height of the left and right lung fields; means and sds of the record's ``lung_symmetry``,
    measured on the even-indexed JSRT films). ``S > 0``: left lung field larger than usual. A
    shrunken or collapsed hemithorax lowers both ratios together, while a lung field that
    stops short on a hazy base moves mostly one of them, so the mean of the two z-scores
    separates better than either ratio with its own range. Fails when ``|S|`` exceeds the
    record's bound.

    Abstains (n/a) when the score is out of bounds but the *shorter* lung field's lower border
    is not a diaphragm edge: the film just below it is barely denser than the field
    (:func:`anatscore.anatomy.chest.base_step` under the record's ``lung_base_step`` minimum), so
    the field stopped in hazy lung (breast shadow, consolidation) and its height says nothing
    about the hemithorax. A raised hemidiaphragm or a shrunken hemithorax still ends at the
    dense abdomen, so the gate is rare on those. Abstains too when the shorter field ends on a
    meniscus (its lower border rises towards the chest wall, record ``lung_base_meniscus``): fluid
    (a pleural effusion) fills its base, while a raised hemidiaphragm keeps its dome and its
    costophrenic angle and still fails.
    """
    name = "chest.symmetry"
    geo = chest_geometry(image)
    if not geo.both_lungs:
        return CheckResult.na(name, "symmetry needs two lung fields")
    rec = expected("chest")
    raw = rec.raw["expect"]["lung_symmetry"]
    R, L = geo.lungs["right"], geo.lungs["left"]
    ar = L.area_frac / R.area_frac
    hr = L.height / R.height
    za = (math.log(ar) - float(raw["mean_log_area_ratio"])) / float(raw["sd_log_area_ratio"])
    zh = (math.log(hr) - float(raw["mean_log_height_ratio"])) / float(raw["sd_log_height_ratio"])
    score = (za + zh) / 2.0
    bound = rec["lung_symmetry"]
    short = R if R.height < L.height else L
    extra = {"area_ratio": ar, "height_ratio": hr, "z_area": za, "z_height": zh, "short_base_step": short.base_step}
    desc = f"left/right lung area ratio {ar:.2f} (z {za:+.1f}), height ratio {hr:.2f} (z {zh:+.1f})"
    step_rng = rec["lung_base_step"]
    men = rec["lung_base_meniscus"]
    if not bound.contains(score) and math.isfinite(short.meniscus) and not men.contains(short.meniscus):
        return CheckResult.na(name, f"lung fields unequal ({desc}; asymmetry score {score:+.1f}) but the shorter "
                                    f"({short.side}) field ends on a meniscus: its lower border rises towards the "
                                    f"chest wall by {short.meniscus:.2f} of its height (expected {men.describe()}; "
                                    "blunted costophrenic angle), as over a pleural effusion, so its size says "
                                    "nothing about the hemithorax", symmetry_score=score, short_meniscus=short.meniscus,
                              **extra)
    if not bound.contains(score) and math.isfinite(short.base_step) and not step_rng.contains(short.base_step):
        return CheckResult.na(name, f"lung fields unequal ({desc}; asymmetry score {score:+.1f}) but the shorter "
                                    f"({short.side}) field's lower border is not a diaphragm edge: the film below "
                                    f"it is only {short.base_step:.2f} denser (expected {step_rng.describe()}), "
                                    "so it stopped in hazy lung", symmetry_score=score, **extra)
    if not bound.contains(score):
        bigger = "left" if score > 0 else "right"
        return CheckResult.judge(name, score, False,
                                 f"{bigger} lung field too large for the other: {desc}; asymmetry score "
                                 f"{score:+.1f} outside {bound.describe()}", **extra)
    return CheckResult.judge(name, score, True, f"lung fields symmetric: {desc}; asymmetry score {score:+.1f}",
                             **extra)

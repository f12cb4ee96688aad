"""The registries of checks, metrics, feature extractors: plain data, importable without torch.

They drive ``anatscore list``, the CLI's ``--checks`` choices, the runner and the docs, so these
cannot drift apart. Implementations are named by ``"module:attr"`` strings and imported lazily by
:func:`resolve`. Weight records are data files under ``models/weights/`` read by
:mod:`anatscore.weights`.

To add a check: write its module, add a :class:`~anatscore.types.CheckSpec` to the group below
that it belongs to, and test it. Each group is its own tuple so that parallel work on different
groups touches different lines.
"""

from __future__ import annotations

import fnmatch
import dataclasses
import importlib
from typing import Any, Iterable

from .types import CheckSpec, ExtractorSpec, MetricSpec

_XRAY = ("xray",)

# --- load: one record per image describing decoding (written by the runner, not a callable) ----
LOAD_CHECKS: tuple[CheckSpec, ...] = (
    CheckSpec(
        name="load",
        summary="the file decodes to a finite image of sane size (bad input gets a reason)",
        target="anatscore.io.loading:load_check",
        needs=(),
        stage=0,
        group="load",
        headline=True,
    ),
)

# --- inference: fill in modality/region/view when the manifest does not say (issue 4) -----------
_CM = "anatscore.checks.classify_match"
INFERENCE_CHECKS: tuple[CheckSpec, ...] = (
    CheckSpec(name="modality.match",
              summary="classifier's modality (incl. photo of a printed exam, illustration) vs the requested one",
              target=f"{_CM}:modality_match", batch_target=f"{_CM}:modality_match_batch", needs=("grey",),
              stage=0, group="modality", headline=True),
    CheckSpec(name="region.match", summary="classifier's body region vs the requested one (radiographs)",
              target=f"{_CM}:region_match", batch_target=f"{_CM}:region_match_batch", needs=("grey",),
              stage=0, group="modality", headline=True),
    CheckSpec(name="view.match", summary="classifier's frontal/lateral view vs the requested view (radiographs)",
              target=f"{_CM}:view_match", batch_target=f"{_CM}:view_match_batch", needs=("grey",),
              stage=0, group="modality"),
)

# --- weight-free anatomy of radiographs (issue 3) ------------------------------------------------
_SPINE = ("spine", "cervical_spine", "thoracic_spine", "lumbar_spine")
_FRONTAL = ("pa", "ap")  # checks measured on frontal films: n/a on a lateral view (judged when unknown)

ANATOMY_CHECKS: tuple[CheckSpec, ...] = (
    # limbs (appendicular skeleton); expected ranges in anatscore/anatomy/regions/<region>.json
    CheckSpec(
        name="joint.space",
        summary="joint space present (not fused): depth of the femorotibial gap vs real knee radiographs",
        target="anatscore.checks.joint_space:joint_space",
        regions=("knee",),
        views=_FRONTAL,
        modalities=_XRAY,
        group="anatomy",
    ),
    CheckSpec(
        name="texture.trabecular_anisotropy",
        summary="trabecular texture oriented along stress lines (structure tensor), not random",
        target="anatscore.checks.trabecular:trabecular_anisotropy",
        regions=("knee",),
        views=_FRONTAL,
        modalities=_XRAY,
        group="anatomy",
    ),
    CheckSpec(
        name="proportions.knee",
        summary="femoral condyles as wide as the tibial plateau (width ratio as a z-score vs real knee radiographs)",
        target="anatscore.checks.knee_proportions:knee_proportions_check",
        regions=("knee",),
        views=_FRONTAL,
        modalities=_XRAY,
        group="anatomy",
    ),
    CheckSpec(
        name="hand.digit_count",
        summary="number of digits on a PA hand (flags extra or missing digits), vs the hand record",
        target="anatscore.checks.hand_digits:digit_count",
        regions=("hand",),
        views=_FRONTAL,
        modalities=_XRAY,
        group="anatomy",
    ),
    CheckSpec(
        name="forearm.two_bones",
        summary="radius and ulna both present and separate along the forearm shaft (not missing or fused)",
        target="anatscore.checks.two_bones:forearm_two_bones",
        regions=("forearm",),
        modalities=_XRAY,
        group="anatomy",
    ),
    CheckSpec(
        name="leg.two_bones",
        summary="tibia and fibula both present and separate along the lower-leg shaft (the missing fibula)",
        target="anatscore.checks.two_bones:leg_two_bones",
        regions=("leg",),
        modalities=_XRAY,
        group="anatomy",
    ),
    # --- axial skeleton and chest (branch axial) ---
    CheckSpec(
        name="chest.lung_fields",
        summary="two lung fields, one each side of the mediastinum, each of plausible size",
        target="anatscore.checks.chest:lung_fields",
        regions=("chest",), views=_FRONTAL, modalities=_XRAY, group="anatomy",
    ),
    CheckSpec(
        name="chest.heart_laterality",
        summary="heart shadow to the patient's left (situs); a mirrored chest fails",
        target="anatscore.checks.chest:heart_laterality",
        regions=("chest",), views=_FRONTAL, modalities=_XRAY, group="anatomy",
    ),
    CheckSpec(
        name="chest.ctr",
        summary="cardiothoracic ratio (weight-free estimate) within a wide plausible range",
        target="anatscore.checks.chest:ctr",
        regions=("chest",), views=_FRONTAL, modalities=_XRAY, group="anatomy",
    ),
    CheckSpec(
        name="chest.symmetry",
        summary="left/right lung field area and height ratios within ranges measured on JSRT",
        target="anatscore.checks.chest:symmetry",
        regions=("chest",), views=_FRONTAL, modalities=_XRAY, group="anatomy",
    ),
    CheckSpec(
        name="proportions.lung_aspect",
        summary="lung height/width as z-scores against JSRT-measured mean and sd",
        target="anatscore.checks.proportions:lung_aspect",
        regions=("chest",), views=_FRONTAL, modalities=_XRAY, group="anatomy",
    ),
    CheckSpec(
        name="spine.vertebra_count",
        summary="vertebral bodies counted along the spine axis, within the segment's expected range",
        target="anatscore.checks.spine:vertebra_count",
        regions=_SPINE, modalities=_XRAY, group="anatomy",
    ),
    CheckSpec(
        name="spine.spacing",
        summary="vertebral body spacing follows a smooth trend (no fused or doubled levels)",
        target="anatscore.checks.spine:spacing",
        regions=_SPINE, modalities=_XRAY, group="anatomy",
    ),
    CheckSpec(
        name="pelvis.symmetry",
        summary="AP pelvis: bone balanced left/right of the symmetry axis (iliac wings, hips)",
        target="anatscore.checks.pelvis:symmetry",
        regions=("pelvis",), views=_FRONTAL, modalities=_XRAY, group="anatomy",
    ),
    # --- carpus (branch carpal) ---
    CheckSpec(
        name="wrist.carpal_separation",
        summary="carpal bones separable on a PA wrist/hand: pieces cut by the intercarpal gaps vs the wrist record (fused carpus fails)",
        target="anatscore.checks.carpus:carpal_separation",
        regions=("wrist", "hand"), views=_FRONTAL, modalities=_XRAY, group="anatomy",
    ),
    # --- phalanges per digit (branch digits) ---
    CheckSpec(
        name="hand.phalanges",
        summary="phalanges per digit on a PA hand (2 in the thumb, 3 per finger): fused, extra or missing phalanges",
        target="anatscore.checks.hand_phalanges:phalanges",
        regions=("hand",), views=_FRONTAL, modalities=_XRAY, group="anatomy",
    ),
    # --- skull (branch skull) ---
    CheckSpec(
        name="head.skull_vault",
        summary="lateral skull: the calvarium traced as a continuous, smooth bright band (no gap, no ripple)",
        target="anatscore.checks.skull:skull_vault",
        regions=("head",), views=("lateral",), modalities=_XRAY, group="anatomy",
    ),
)

# Every weight-free anatomy check judges one radiograph: on a grid or strip of several (GAN
# thumbnail sheets, figure panels) it is not applicable (anatscore.checks.single_panel); nor on an
# image dominated by noise (anatscore.checks.readable), which fails image.noise instead.
ANATOMY_CHECKS = tuple(
    dataclasses.replace(s, needs=s.needs + tuple(g for g in ("single_panel", "readable") if g not in s.needs))
    for s in ANATOMY_CHECKS
)

# Preconditions of reading anatomy at all: they apply wherever an anatomy check does; a failure
# fails anatomy.plausible, but a pass alone does not make an image judged (anatscore.checks.plausible).
ANATOMY_PRECONDITIONS: tuple[CheckSpec, ...] = (
    CheckSpec(
        name="image.noise",
        summary="the radiograph is readable: noise small against its contrast (not a noise field or an early diffusion step)",
        target="anatscore.checks.noise:noise",
        regions=tuple(sorted({r for s in ANATOMY_CHECKS for r in s.regions})), modalities=_XRAY,
        needs=("grey", "single_panel"), group="anatomy",
    ),
)
ANATOMY_CHECKS = ANATOMY_PRECONDITIONS + ANATOMY_CHECKS

# --- weight-free layout / modality detectors (issue 4) -------------------------------------------
LAYOUT_CHECKS: tuple[CheckSpec, ...] = (
    CheckSpec(
        name="layout.film_photo",
        summary="photo of a film / light box / monitor instead of a native image (colour cast, tilted film border, coloured surround)",
        target="anatscore.checks.layout:film_photo",
        needs=("grey", "colour"),
        group="layout",
        headline=True,
    ),
    CheckSpec(
        name="layout.multi_panel",
        summary="grid of several slices/views in one image (regular gutters or seams); value = panels, rows x cols in extra",
        target="anatscore.checks.layout:multi_panel",
        group="layout",
        headline=True,
    ),
    CheckSpec(
        name="layout.burned_text",
        summary="lines of burned-in text / annotation glyphs (typeset, aligned, on a plain ground); value = lines",
        target="anatscore.checks.text:burned_text",
        group="layout",
    ),
    CheckSpec(
        name="modality.cues",
        summary="weight-free geometry cues (fan/speckle, body on black, frame-filling radiograph) and the modality they suggest; informational",
        target="anatscore.checks.cues:cues_check",
        group="modality",
    ),
    CheckSpec(
        name="layout.greyscale",
        summary="greyscale sanity: a colour cast over the whole image fails; local colour (Doppler, overlays) passes",
        target="anatscore.checks.layout:greyscale",
        needs=("colour",),
        group="layout",
    ),
)

# --- model-based checks: CLIP zero-shot, torchxrayvision (issue 4) --------------------------------
_CHEST = ("chest",)
_XA = "anatscore.checks.xrv_anatomy"
_XP = "anatscore.checks.xrv_pathology"


def _xrv(name: str, summary: str, module: str, fn: str, record: str, headline: bool = False,
         group: str = "anatomy") -> CheckSpec:
    return CheckSpec(name=name, summary=summary, target=f"{module}:{fn}", batch_target=f"{module}:{fn}_batch",
                     regions=_CHEST, modalities=_XRAY, needs=("grey", f"weights:{record}"), group=group,
                     headline=headline)


MODEL_CHECKS: tuple[CheckSpec, ...] = (
    _xrv("xrv.lungs", "both lungs segmented (torchxrayvision PSPNet)", _XA, "lungs", "xrv-pspnet"),
    _xrv("xrv.heart_laterality", "heart toward the left lung (offset in thorax widths; PSPNet)", _XA,
         "heart_laterality", "xrv-pspnet"),
    _xrv("xrv.ctr", "cardiothoracic ratio within a plausible range (PSPNet heart and lungs)", _XA, "ctr_check",
         "xrv-pspnet"),
    _xrv("xrv.clavicles", "left and right clavicle, one piece each, on their sides (PSPNet)", _XA, "clavicles",
         "xrv-pspnet"),
    _xrv("xrv.scapulae", "left and right scapula, one piece each, on their sides (PSPNet)", _XA, "scapulae",
         "xrv-pspnet"),
    _xrv("xrv.ribs", "posterior ribs per side: count, symmetry, none split (CXAS 159-structure model)", _XA,
         "ribs", "xrv-cxas"),
    _xrv("xrv.vertebrae", "visible vertebrae form one contiguous, ordered run (CXAS)", _XA, "vertebrae",
         "xrv-cxas"),
    _xrv("xrv.pathology", "requested chest finding present at the DenseNet's calibrated threshold", _XP,
         "pathology", "xrv-densenet121-res224-all", headline=True, group="pathology"),
    _xrv("xrv.view", "frontal/lateral view model agrees with the requested view", _XP, "view", "xrv-view",
         group="modality"),
    CheckSpec(name="us.obstetric",
              summary="ultrasound content vs the organ the prompt asked for (fails on obstetric look-alikes)",
              target=f"{_CM}:us_obstetric", batch_target=f"{_CM}:us_obstetric_batch", modalities=("us",),
              needs=("grey",), group="modality", headline=True),
    _xrv("xrv.ood", "autoencoder reconstruction error (out-of-distribution score)", _XP, "ood", "xrv-resnet-ae",
         group="realism"),
)

# --- inpainting / outpainting: output vs original + mask, weight-free (branch inpaint) -----------
_IP = "anatscore.checks.inpaint"
INPAINT_CHECKS: tuple[CheckSpec, ...] = (
    CheckSpec(name="inpaint.preservation",
              summary="unmasked pixels (outside a 2% blend band) unchanged from the original; value = PSNR dB",
              target=f"{_IP}:preservation", tasks=("inpaint",), needs=("grey", "original+mask"), group="inpaint"),
    CheckSpec(name="inpaint.seam",
              summary="intensity step across the mask boundary vs the original's on the same pixels (visible seam)",
              target=f"{_IP}:seam", tasks=("inpaint",), needs=("grey", "original+mask"), group="inpaint"),
    CheckSpec(name="inpaint.texture",
              summary="in-mask vs surrounding high-frequency detail, relative to the original (blurred/flat/noisy fill)",
              target=f"{_IP}:texture", tasks=("inpaint",), needs=("grey", "original+mask"), group="inpaint"),
    CheckSpec(name="inpaint.anatomy_delta",
              summary="weight-free anatomy checks on the original vs the output: verdicts the edit broke",
              target=f"{_IP}:anatomy_delta", tasks=("inpaint",), modalities=_XRAY,
              needs=("grey", "original+mask"), stage=2, group="inpaint"),
    CheckSpec(name="outpaint.detail_decay",
              summary="detail energy vs distance from the original's border, fitted slope vs the original's own",
              target=f"{_IP}:detail_decay", tasks=("outpaint",), needs=("grey", "original+mask"),
              group="inpaint"),
)

# --- aggregates that read other checks' results (stage 2) ----------------------------------------
AGGREGATE_CHECKS: tuple[CheckSpec, ...] = (
    CheckSpec(
        name="anatomy.plausible",
        summary="overall anatomy verdict: passes only if every applicable anatomy check passed",
        target="anatscore.checks.plausible:anatomy_plausible",
        modalities=_XRAY,
        needs=(),
        stage=2,
        group="anatomy",
        headline=True,
    ),
)

CHECKS: tuple[CheckSpec, ...] = (
    LOAD_CHECKS + INFERENCE_CHECKS + ANATOMY_CHECKS + LAYOUT_CHECKS + MODEL_CHECKS + INPAINT_CHECKS
    + AGGREGATE_CHECKS
)

# --- set-level metrics and feature extractors (issue 5) ------------------------------------------
METRICS: tuple[MetricSpec, ...] = (
    MetricSpec(
        name="fid",
        summary="Fréchet distance between Gaussians fitted to real and generated features (FID on inception)",
        target="anatscore.metrics.frechet:FrechetStats",
        function="anatscore.metrics.frechet:frechet_distance_features",
    ),
    MetricSpec(
        name="kid",
        summary="kernel inception distance: unbiased polynomial-kernel MMD², mean over subsets",
        target="anatscore.metrics.kid:KID",
        function="anatscore.metrics.kid:kid",
    ),
    MetricSpec(
        name="cmmd",
        summary="CMMD: Gaussian-RBF MMD on CLIP embeddings (sigma 10, x1000; Jayasumana et al. 2024)",
        target="anatscore.metrics.cmmd:CMMD",
        function="anatscore.metrics.cmmd:cmmd",
    ),
    MetricSpec(
        name="precision",
        summary="share of generated samples inside the real k-NN manifold (Naeem et al. 2020, k=5)",
        target="anatscore.metrics.prdc:PRDC",
        function="anatscore.metrics.prdc:prdc",
    ),
    MetricSpec(
        name="recall",
        summary="share of real samples inside the generated k-NN manifold (k=5)",
        target="anatscore.metrics.prdc:PRDC",
        function="anatscore.metrics.prdc:prdc",
    ),
    MetricSpec(
        name="density",
        summary="mean count of real k-NN balls containing each generated sample, / k",
        target="anatscore.metrics.prdc:PRDC",
        function="anatscore.metrics.prdc:prdc",
    ),
    MetricSpec(
        name="coverage",
        summary="share of real samples whose k-NN ball contains a generated sample",
        target="anatscore.metrics.prdc:PRDC",
        function="anatscore.metrics.prdc:prdc",
    ),
)
EXTRACTORS: tuple[ExtractorSpec, ...] = (
    ExtractorSpec(
        name="inception",
        summary="FID Inception-v3 (TF 2015-12-05 graph) pool features; the FID/KID of papers",
        target="anatscore.features.inception:InceptionExtractor",
        dim=2048,
        needs=("weights:inception-fid",),
    ),
    ExtractorSpec(
        name="radiomic",
        summary="weight-free named histogram/GLCM/LBP/gradient/wavelet features (Fréchet radiomic distance)",
        target="anatscore.features.radiomic:RadiomicExtractor",
        dim=51,
    ),
    ExtractorSpec(
        name="xrv",
        summary="torchxrayvision DenseNet-121 features (radiograph-specific)",
        target="anatscore.features.xrv:XRVExtractor",
        dim=1024,
        needs=("weights:xrv-densenet121-res224-all",),
    ),
    ExtractorSpec(
        name="clip",
        summary="open_clip image embeddings, L2-normalised (CMMD; OpenAI ViT-L-14-336 default, BiomedCLIP selectable)",
        target="anatscore.features.clip:CLIPExtractor",
        dim=768,
    ),
)

#: Which metrics are computed on which extractor's features by default (``metric@extractor``).
#: CMMD is defined on CLIP embeddings only; the Fréchet/kernel/k-NN metrics apply to the others.
METRIC_EXTRACTORS: dict[str, tuple[str, ...]] = {
    "inception": ("fid", "kid", "precision", "recall", "density", "coverage"),
    # no KID on radiomic: its cubic kernel on z-scored hand-made features is dominated by
    # heavy-tailed outliers (benchmarks/realism.py: 8.2 for two halves of one chest set vs 11.6
    # chest-knee, where fid@radiomic gives 24.6 vs 135.7)
    "radiomic": ("fid", "precision", "recall", "density", "coverage"),
    "xrv": ("fid", "kid", "precision", "recall", "density", "coverage"),
    "clip": ("cmmd", "fid", "precision", "recall", "density", "coverage"),
}


def _validate() -> None:
    seen: set[str] = set()
    for spec in CHECKS:
        if spec.name in seen:
            raise RuntimeError(f"check {spec.name!r} is registered twice")
        if ":" not in spec.target:
            raise RuntimeError(f"check {spec.name!r}: target must be 'module:function'")
        seen.add(spec.name)


_validate()


def check_spec(name: str) -> CheckSpec:
    """The registered check called ``name``; ``KeyError`` lists the known names."""
    for spec in CHECKS:
        if spec.name == name:
            return spec
    raise KeyError(f"unknown check {name!r}; run `anatscore list checks` for the registered ones")


def select_checks(patterns: Iterable[str] = ()) -> list[CheckSpec]:
    """Checks whose names match any of the glob ``patterns`` (all checks when none are given).

    The ``load`` record is always included. A pattern that matches nothing is an error, so a
    typo in ``--checks`` cannot silently score nothing.

    >>> [s.name for s in select_checks(["load"])]
    ['load']
    """
    patterns = [p for p in patterns if p]
    if not patterns:
        return list(CHECKS)
    chosen: list[CheckSpec] = []
    for pat in patterns:
        hits = [s for s in CHECKS if fnmatch.fnmatchcase(s.name, pat) or s.name.startswith(pat + ".")]
        if not hits:
            raise ValueError(f"--checks {pat!r} matches no registered check; see `anatscore list checks`")
        chosen.extend(h for h in hits if h not in chosen)
    if LOAD_CHECKS[0] not in chosen:
        chosen.insert(0, LOAD_CHECKS[0])
    return sorted(chosen, key=lambda s: (s.stage, CHECKS.index(s)))


def resolve(target: str) -> Any:
    """Import ``"package.module:attr"`` and return the attribute."""
    module, _, attr = target.partition(":")
    obj: Any = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj

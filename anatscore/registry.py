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
INFERENCE_CHECKS: tuple[CheckSpec, ...] = ()

# --- weight-free anatomy of radiographs (issue 3) ------------------------------------------------
ANATOMY_CHECKS: tuple[CheckSpec, ...] = ()

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
MODEL_CHECKS: tuple[CheckSpec, ...] = ()

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
    LOAD_CHECKS + INFERENCE_CHECKS + ANATOMY_CHECKS + LAYOUT_CHECKS + MODEL_CHECKS + AGGREGATE_CHECKS
)

# --- set-level metrics and feature extractors (issue 5) ------------------------------------------
METRICS: tuple[MetricSpec, ...] = ()
EXTRACTORS: tuple[ExtractorSpec, ...] = ()


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

"""Per-image checks. One check per module (or one small family sharing a computation).

A check is a function ``fn(image: LoadedImage, ctx: CheckContext) -> CheckResult`` registered by
a :class:`~anatscore.types.CheckSpec` in :mod:`anatscore.registry`. It returns exactly one result
whose ``check`` is its registered name. Intermediate results shared between checks (masks,
segmentations, embeddings) go through ``image.memo(key, fn)`` so they are computed once per image.
Models go through ``ctx.model(name, factory)`` so they are loaded once per run.

Stages: stage-0 checks (inference) run first. An inference check that predicts a field the
image's metadata leaves empty puts it in ``extra["infer"]`` (e.g. ``{"region": "knee"}``); the
runner copies it into ``image.meta`` and records ``meta.inferred[field] = <check name>`` before
stage-1 checks decide whether they apply. Stage-2 checks (aggregates) read ``ctx.prior``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Callable

from ..config import EvalConfig
from ..types import CheckResult, CheckSpec, ImageMeta, LoadedImage


@dataclass
class CheckContext:
    """Run-wide context handed to every check.

    Attributes:
        config: the run's :class:`EvalConfig`.
        prior: results of earlier checks on the current image, by check name (stage-2
            aggregates such as ``anatomy.plausible`` read this).
        models: loaded models by name (filled by :meth:`model`).
        weights_used: weight record name -> sha256 of each file loaded (goes to ``run.json``).
    """

    config: EvalConfig = field(default_factory=EvalConfig)
    prior: dict[str, CheckResult] = field(default_factory=dict)
    models: dict[str, Any] = field(default_factory=dict)
    weights_used: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def device(self) -> str:
        return self.config.resolved_device()

    def model(self, name: str, factory: Callable[[], Any]) -> Any:
        """The model called ``name``, built once per run by ``factory()``."""
        with self._lock:
            if name not in self.models:
                self.models[name] = factory()
            return self.models[name]


def applies(spec: CheckSpec, meta: ImageMeta) -> tuple[bool, str]:
    """Whether ``spec`` applies to an image, and if not, why (the not-applicable reason).

    A check restricted to regions/modalities does not apply when the image's region/modality is
    unknown; inference checks (stage 0) run first and may fill them in. A check restricted to
    views does apply when the view is unknown (see :class:`~anatscore.types.CheckSpec`).
    """
    if spec.modalities and meta.modality not in spec.modalities:
        what = meta.modality or "unknown"
        return False, f"applies to modality {'/'.join(spec.modalities)}, image is {what}"
    if spec.regions and meta.region not in spec.regions:
        what = meta.region or "unknown"
        return False, f"applies to region {'/'.join(spec.regions)}, image is {what}"
    if spec.tasks and meta.task not in spec.tasks:
        what = meta.task or "unknown"
        return False, f"applies to task {'/'.join(spec.tasks)}, image is {what}"
    if spec.views and meta.view and meta.view not in spec.views:
        return False, f"applies to {'/'.join(spec.views)} views, image is {meta.view}"
    return True, ""


def single_panel(image: LoadedImage) -> str:
    """Why a one-radiograph check cannot judge ``image`` ("" when it is a single panel).

    Generated "radiographs" are often grids or strips of several small images (GAN thumbnail
    sheets, figure panels). A digit count or a lung-field pair measured across such a sheet
    reads several hands or chests as one, so checks whose ``needs`` has ``single_panel`` are not
    applicable there: on a grid of three or more panels, or of two separated by a gutter band. Uses the memoised seam analysis of ``layout.multi_panel``, so the gate
    costs nothing extra when that check also runs.
    """
    from .layout import grid_layout

    rows, cols = grid_layout(image)
    n = rows.panels * cols.panels
    if n == 2 and not (rows.gutters if rows.panels == 2 else cols.gutters):
        # Two panels meeting at a bare intensity step, without a gutter band, is also what a
        # straight bone edge across a crop looks like (a drawn knee phantom's plateau); a sheet
        # of two images is gated only when a gutter separates them.
        return ""
    if n > 1:
        return (f"image is a grid of {rows.panels} x {cols.panels} panels (layout.multi_panel); "
                "this check needs a single radiograph: crop the panels and score them one by one")
    return ""


def readable(image: LoadedImage) -> str:
    """Why anatomy cannot be read off ``image`` ("" when it can): noise dominates its contrast.

    Uses the memoised estimate of :mod:`anatscore.anatomy.noise` (the ``image.noise`` check's
    measurement), so the gate costs one estimate per image whatever the number of checks.
    """
    from ..anatomy.noise import MAX_NOISE_RATIO, image_noise

    est = image_noise(image)
    if est.ratio > MAX_NOISE_RATIO:
        return (f"image dominated by noise (noise sd {est.ratio:.3f} of the contrast range, above "
                f"{MAX_NOISE_RATIO:.2f}; image.noise): no anatomy can be read")
    return ""


#: need -> gate(image) returning the not-applicable reason ("" = applies).
IMAGE_GATES: dict[str, Callable[[LoadedImage], str]] = {"single_panel": single_panel, "readable": readable}


def image_gates(spec: CheckSpec, image: LoadedImage) -> str:
    """The first not-applicable reason among ``spec.needs``' image gates ("" when none)."""
    for need in spec.needs:
        gate = IMAGE_GATES.get(need)
        if gate is not None:
            why = gate(image)
            if why:
                return why
    return ""

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
from ..types import CheckResult, CheckSpec, ImageMeta


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
    unknown; inference checks (stage 0) run first and may fill them in.
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
    return True, ""

"""The one configuration object shared by the Python API and the CLI."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class EvalConfig:
    """Resolved settings of one evaluation run (written in full to ``run.json``).

    Attributes:
        checks: glob patterns of check names to run (empty = all registered checks).
        reference: folder or built reference file (``.npz``) of real images, or None.
        extractors: feature extractors for set-level metrics (used when ``reference`` is set).
        device: ``cpu``, ``cuda`` or ``auto`` (cuda when available).
        workers: threads for decoding and for per-image checks (0 = everything in the main thread).
        batch_size: images per batch for model inputs and per database commit.
        max_pixels: decoded images larger than this are refused (decompression-bomb guard).
        dicom_frames: ``first`` (one record per file) or ``all`` (one record per frame).
        seed: seed for anything random (bootstrap CIs, subsets).
        options: per-check options by check name (thresholds, model names), kept as plain data.
        defaults: image metadata (``modality``, ``region``, ``view``, ``task``, ``prompt``,
            ``backend``, ``seed``) for every image of a folder that does not carry its own value
            (``evaluate --set region=knee``); vocabulary values normalised.
    """

    checks: tuple[str, ...] = ()
    reference: str | None = None
    extractors: tuple[str, ...] = ("inception",)
    device: str = "auto"
    workers: int = 0
    batch_size: int = 16
    max_pixels: int = 60_000_000
    dicom_frames: str = "first"
    seed: int = 0
    options: dict[str, Any] = field(default_factory=dict)
    defaults: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form for ``run.json``."""
        return dataclasses.asdict(self)

    def option(self, check: str, key: str, default: Any = None) -> Any:
        """``options[check][key]`` with a default."""
        return self.options.get(check, {}).get(key, default)

    def resolved_device(self) -> str:
        """``cpu`` or ``cuda`` (resolving ``auto``); imports torch only when needed."""
        if self.device != "auto":
            return self.device
        try:
            import torch

            return "cuda" if torch.cuda.is_available() else "cpu"
        except ImportError:
            return "cpu"

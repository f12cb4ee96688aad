"""Set-level metrics accumulated during an evaluation run (filled in by the realism work).

The runner creates one :class:`RunMetrics` when a reference set is configured, calls
:meth:`add` with every decoded batch (so images are decoded once for checks and features
alike), and writes :meth:`result` to ``metrics.json``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from ..config import EvalConfig
from ..types import LoadedImage


class RunMetrics:
    """Per-stratum realism metrics for one run; ``run_dir`` holds its disk-backed state."""

    def __init__(self, config: EvalConfig, run_dir: Path, device: str = "cpu") -> None:
        self.config = config
        self.run_dir = Path(run_dir)
        self.device = device

    def add(self, images: Sequence[LoadedImage]) -> None:
        """Featurise a batch of decoded generated images (already-seen image_ids are ignored)."""

    def result(self) -> dict[str, Any]:
        """The ``metrics.json`` document: ``{"strata": [...]}``."""
        return {"strata": []}

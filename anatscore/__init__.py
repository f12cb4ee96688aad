"""anatscore: anatomical plausibility and realism scores for generated medical images."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]

"""Input: discovering images (folder, manifest, sidecars) and decoding them once."""

from .loading import LoadError, load_image
from .discover import discover

__all__ = ["LoadError", "load_image", "discover"]

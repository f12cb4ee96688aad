"""Input: discovering images (folder, manifest, sidecars) and decoding them once."""

from .loading import LoadError, RefusedInput, load_check, load_image
from .discover import discover
from .manifest import ManifestError

__all__ = ["LoadError", "ManifestError", "RefusedInput", "discover", "load_check", "load_image"]

"""The one weights manager for every pretrained file anatscore uses.

Records are data in ``models/weights/*.json`` (source URLs, sha256, size, licence, preprocessing
contract). Files are cached under ``$ANATSCORE_HOME/weights`` (platform cache dir by default).

Interface used by the rest of the package (stable):

- :func:`local_path` ``(name) -> Path`` of a verified local file, or :class:`WeightsMissingError`
  whose message names the ``anatscore weights download|import`` command that fixes it.
- :func:`load_state_dict` ``(name) -> dict`` via ``torch.load(..., weights_only=True)``.
"""

from __future__ import annotations

from pathlib import Path


class WeightsMissingError(RuntimeError):
    """A needed weight file is not in the cache; the message says how to get it."""


def local_path(name: str) -> Path:
    """Path of the cached, verified weight file of record ``name``."""
    raise WeightsMissingError(
        f"weights {name!r} are not installed; run `anatscore weights download {name}` "
        f"(or, offline, `anatscore weights import {name} FILE`)"
    )


def load_state_dict(name: str) -> dict:
    """Load record ``name``'s state_dict with ``weights_only=True``."""
    import torch

    return torch.load(local_path(name), map_location="cpu", weights_only=True)

"""Where anatscore finds its data records and keeps its cache."""

from __future__ import annotations

import os
from pathlib import Path

_PKG = Path(__file__).resolve().parent


def models_dir() -> Path:
    """The folder of weight records and model cards.

    In a wheel it is ``anatscore/_models`` (force-included from the repository's ``models/``);
    in a source checkout or editable install it is the repository's ``models/`` itself.
    """
    for cand in (_PKG / "_models", _PKG.parent / "models"):
        if cand.is_dir():
            return cand
    raise FileNotFoundError("anatscore's models/ records are missing from this installation")


def home() -> Path:
    """anatscore's cache root: ``$ANATSCORE_HOME`` or the platform cache dir."""
    env = os.environ.get("ANATSCORE_HOME")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("anatscore"))


def weights_dir() -> Path:
    """Where verified weight files are cached (``<home>/weights``)."""
    return home() / "weights"


def shared_dir() -> Path | None:
    """The workplace's ``../shared`` folder (real data and weights for tests/benchmarks), if present.

    ``$ANATSCORE_SHARED`` overrides the default: ``../shared`` from the working directory, then
    next to the source checkout.
    """
    env = os.environ.get("ANATSCORE_SHARED")
    cands = [Path(env)] if env else [Path.cwd().parent / "shared", _PKG.parent.parent / "shared"]
    for cand in cands:
        if cand.is_dir():
            return cand
    return None

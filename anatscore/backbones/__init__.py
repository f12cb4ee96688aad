"""Weights-bearing networks shared by checks and feature extractors.

Each module builds one family of networks, applies its documented preprocessing contract, and
loads weights only through :mod:`anatscore.weights`. Tests build the same architectures with
random weights.
"""

from __future__ import annotations

from typing import Any, Callable


def weights_fingerprint(record: str) -> str:
    """sha256 of record ``record``'s cached file, for ``run.json`` (``ctx.weights_used``).

    Uses the weights manager's ``sha256_of(name)`` when it has one (hash verified on install),
    else hashes the cached file once; a cached folder (open_clip ``local-dir``) gives ``"dir"``.
    """
    import hashlib

    from .. import weights

    own = getattr(weights, "sha256_of", None)
    if callable(own):
        got = str(own(record) or "")
        if got:
            return got
    path = weights.local_path(record)
    if path.is_dir():
        return "dir"
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_once(ctx: Any, record: str, loader: Callable[[], Any]) -> Any:
    """``ctx.model(record, loader)``, noting the record's fingerprint in ``ctx.weights_used``."""

    def build() -> Any:
        model = loader()
        try:
            ctx.weights_used[record] = weights_fingerprint(record)  # type: ignore[attr-defined]
        except Exception:  # noqa: BLE001 - provenance is best effort; the model did load
            ctx.weights_used[record] = "unknown"  # type: ignore[attr-defined]
        return model

    return ctx.model(record, build)  # type: ignore[attr-defined]

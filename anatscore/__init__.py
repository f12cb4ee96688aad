"""anatscore: anatomical plausibility and realism scores for generated medical images.

The Python API (imported lazily so ``import anatscore`` and the CLI stay fast):

- :func:`anatscore.evaluate` scores a folder or in-memory images -> :class:`EvalResult`;
- :func:`anatscore.run_check` runs one registered check on one array -> ``CheckResult``.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["__version__", "evaluate", "run_check", "EvalResult", "EvalConfig", "CheckResult"]

_LAZY = {
    "evaluate": "anatscore.api",
    "run_check": "anatscore.api",
    "EvalResult": "anatscore.api",
    "EvalConfig": "anatscore.config",
    "CheckResult": "anatscore.types",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'anatscore' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

"""Augmented copies of the real wrists and hands for ``benchmarks/anatomy_accuracy.py``.

Check scored: ``wrist.carpal_separation`` (expected to pass on every copy). The three real PA
films of :mod:`benchmarks.anatomy_cases.carpal` (MURA wrist, MURA hand, GrazPedWri paediatric
wrist) each under the ten augmentations of :data:`AUGMENT`: mirrored, rotated +-15 degrees, half
size, 1.5x and 2x up, gamma 0.5 and 2, gain 1.3 (clipped) and 0.6 g + 0.2. These are **not new
images**: they measure how stable the verdict is under acquisition-like changes of the same three
films (n = 30, ``meta["split"] = "augmented copy"``), and their "real: false failures" column must
not be read as a false-failure rate on new wrists. Names are ``<film>~<augmentation>``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import numpy as np
from skimage.transform import rescale, rotate

from . import Case
from .carpal import CHECK, REAL
from .msk import load_grey

#: Acquisition-like changes of a film (grey [0, 1] in, grey [0, 1] out).
AUGMENT: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "mirrored": lambda g: g[:, ::-1].copy(),
    "rotated +15": lambda g: rotate(g, 15, mode="edge").astype(np.float32),
    "rotated -15": lambda g: rotate(g, -15, mode="edge").astype(np.float32),
    "half size": lambda g: rescale(g, 0.5, anti_aliasing=True).astype(np.float32),
    "1.5x up": lambda g: rescale(g, 1.5, order=3).clip(0, 1).astype(np.float32),
    "2x up": lambda g: rescale(g, 2.0, order=3).clip(0, 1).astype(np.float32),
    "gamma 0.5": lambda g: np.power(g, 0.5).astype(np.float32),
    "gamma 2": lambda g: np.power(g, 2.0).astype(np.float32),
    "gain 1.3 clipped": lambda g: np.clip(1.3 * g, 0, 1).astype(np.float32),
    "gain 0.6 + 0.2": lambda g: (0.6 * g + 0.2).astype(np.float32),
}


def cases(data_dir: Path | None) -> Iterator[Case]:
    """The augmented real films (none without ``data_dir``)."""
    if data_dir is None:
        return
    for name, (rel, region, _, _) in REAL.items():
        path = data_dir / rel
        if not path.is_file():
            continue
        for what, fn in AUGMENT.items():
            yield Case(f"{name}~{what}", region, "real", lambda p=path, f=fn: f(load_grey(p)), {CHECK: True},
                       view="pa", meta={"split": "augmented copy"})

"""Cases for ``benchmarks/anatomy_accuracy.py``: real images, controlled corruptions, phantoms.

Each module in this package exposes ``cases(data_dir: Path | None) -> Iterator[Case]``
(``data_dir`` is ``../shared/data`` or None when absent; yield phantoms only then). The harness
runs every registered anatomy check on each case and tabulates, per check:
images where it applied, false failures (on ``kind == "real"`` cases expected to pass) and
detections (on ``kind in {"corrupt", "phantom"}`` cases expected to fail).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np


@dataclass
class Case:
    """One benchmark image with its expected verdicts.

    Attributes:
        name: unique id (``knee_kl/0/9001695L.png`` or ``hand-phantom-6-digits-03``).
        region: canonical region (anatscore.vocab.REGIONS).
        kind: ``real`` (expected plausible), ``corrupt`` (a real image with a known defect),
            ``phantom`` (synthetic with known counts) or ``pathology`` (a real image with a
            pathology added, e.g. a pleural effusion: still plausible, so the checks in ``expect``
            should pass or abstain; tallied apart from the real images).
        image: float32 grey [0, 1] array, or a zero-argument callable returning one (lazy).
        expect: check name -> expected ``passed`` (True for real images, False for the check that
            should catch the defect). Checks not listed are not scored on this case.
        failure_type: for corrupt/phantom cases, the defect (``fibula_removed``, ``extra_digit``...);
            for pathology cases, the pathology (``effusion_large_right``).
        view: canonical view or "".
    """

    name: str
    region: str
    kind: str
    image: np.ndarray | Callable[[], np.ndarray]
    expect: dict[str, bool]
    failure_type: str = ""
    view: str = ""
    meta: dict = field(default_factory=dict)

    def array(self) -> np.ndarray:
        return self.image() if callable(self.image) else self.image

"""``head.skull_vault``: the calvarium on a lateral skull film is a continuous, smooth bright band.

See :mod:`anatscore.anatomy.skull`. Thresholds (``vault_gap``, ``vault_waviness``, ``vault_concavity``, ``outline_concavity``) are in
``anatscore/anatomy/regions/head.json``, measured on the even-indexed real cephalograms.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..anatomy.expected import expected
from ..anatomy.skull import analyse_vault
from ..types import CheckResult
from . import CheckContext

NAME = "head.skull_vault"


def skull_vault(image: Any, ctx: CheckContext) -> CheckResult:
    """Value: the longest weak stretch of the traced vault as a fraction of the traced sector.

    Fails when that gap exceeds the record's ``vault_gap`` maximum (bone missing along the vault)
    or when the vault outline's waviness exceeds ``vault_waviness`` or its deepest dent below the
    convex hull exceeds ``vault_concavity``, or the outer outline over the vault is dented beyond
    ``outline_concavity`` on both of its estimates (where the open dark outside starts, and the
    bone's sub-pixel outer surface; :attr:`anatscore.anatomy.skull.SkullVault.outline_concavity`).
    Not applicable for frontal (PA/AP) views and when no vault outline is in frame.
    """
    v = image.memo("anatomy.skull.vault", lambda: analyse_vault(image.grey))
    if v.reason is not None or not np.isfinite(v.gap):
        return CheckResult.na(NAME, v.reason or "vault not measurable", sector_rays=v.sector_rays)
    rec = expected("head")
    gap_rng, wav_rng = rec["vault_gap"], rec["vault_waviness"]
    problems = []
    if not gap_rng.contains(v.gap):
        problems.append(f"vault interrupted over {v.gap:.0%} of the traced outline (expected {gap_rng.describe()})")
    if np.isfinite(v.waviness) and not wav_rng.contains(v.waviness):
        problems.append(f"vault outline wavy: residual {v.waviness:.3f} of the radius (expected {wav_rng.describe()})")
    conc_rng = rec["vault_concavity"]
    if np.isfinite(v.concavity) and not conc_rng.contains(v.concavity):
        problems.append(f"vault outline dented: {v.concavity:.3f} of the radius inside its convex hull "
                        f"(expected {conc_rng.describe()})")
    outline_rng, outline = rec["outline_concavity"], v.outline_concavity
    if np.isfinite(outline) and not outline_rng.contains(outline):
        problems.append(f"outer outline over the vault (bone surface / skin) dented: {outline:.3f} of the radius inside its "
                        f"convex hull (expected {outline_rng.describe()})")
    if not np.isfinite(v.waviness):
        problems.append("too little continuous vault bone to trace its outline")
    ok = not problems
    reason = "; ".join(problems) if problems else (
        f"continuous vault over {v.sector_rays} rays (longest weak stretch {v.gap:.0%}, waviness {v.waviness:.3f}, dent {v.concavity:.3f}, "
        f"outer outline dent {v.outline_concavity:.3f})")
    # evidence in original-image pixels (row, col)
    f = 1.0 / v.scale
    evidence = {"vault_points": [[round(a * f, 1), round(b * f, 1)] for a, b in v.points[::2]],
                "ray_origin": [round(v.centre[0] * f, 1), round(v.centre[1] * f, 1)]}
    return CheckResult.judge(NAME, v.gap, ok, reason, evidence=evidence, waviness=v.waviness,
                             concavity=v.concavity, skin_concavity=v.skin_concavity,
                             surface_concavity=v.surface_concavity, outline_concavity=v.outline_concavity, aspect=v.aspect,
                             sector_rays=v.sector_rays, cut_rays=v.cut_rays,
                             median_strength=v.median_strength)

"""``pelvis.symmetry`` per film: the 4 real infant AP pelvis films and their 16 erasures (an iliac
wing or a proximal femur, each side; ``benchmarks/anatomy_cases/axial.py``), with the judged cell
balance, its least balanced cell, the axis, and the band balance judged before branch ripple.

    PYTHONPATH=. python benchmarks/pelvis_symmetry.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from anatscore.anatomy.expected import expected  # noqa: E402
from anatscore.anatomy.pelvis import analyse_pelvis  # noqa: E402
from benchmarks.anatomy_cases.axial import pelvis_cases  # noqa: E402


def main() -> int:
    data = REPO.parent / "shared" / "data"
    if not data.is_dir():
        data = Path("/work/shared/data")
    cases = list(pelvis_cases(data)) if data.is_dir() else []
    if not cases:
        print("no pelvis films in ../shared/data: nothing to measure", file=sys.stderr)
        return 1
    rec = expected("pelvis")
    cell_min, band_min = rec["cell_balance"].min, rec["band_balance"].min
    print(f"| film | kind | tilt | axis | mirror r | cell balance (bound {cell_min}) | least balanced cell "
          f"| mirrored: cell balance | band balance at this axis (the measure judged before branch ripple, bound {band_min}) |")
    print("|---|---|---|---|---|---|---|---|---|")
    by_kind: dict[str, list[float]] = {}
    for c in cases:
        g = c.array()
        p = analyse_pelvis(g)
        m = analyse_pelvis(np.ascontiguousarray(g[:, ::-1]))
        kind = c.failure_type or "real"
        by_kind.setdefault(kind, []).append(min(p.cell_balance))
        band, col = p.worst_cell
        print(f"| {c.name.split('/')[-1]} | {kind} | {p.tilt:+.1f} | {p.axis_frac:.2f} | {p.symmetry:.2f} | {min(p.cell_balance):.2f} "
              f"| {band.split()[0]}, {col} | {min(m.cell_balance):.2f} | {min(p.band_balance):.2f} |")
    for kind, vals in by_kind.items():
        print(f"{kind}: cell balance {min(vals):.2f}..{max(vals):.2f} over {len(vals)} films")
    # the real films under acquisition-like changes of the whole film
    from scipy import ndimage as ndi
    from skimage.transform import rescale

    rng = np.random.default_rng(0)
    variants = {"gamma 0.7": lambda g: g ** 0.7, "gamma 1.4": lambda g: g ** 1.4,
                "noise sd 0.02": lambda g: np.clip(g + rng.normal(0.0, 0.02, g.shape), 0, 1),
                "half resolution": lambda g: rescale(g, 0.5, anti_aliasing=True),
                "blur sigma 1 px": lambda g: ndi.gaussian_filter(g, 1.0),
                "rotated 5 deg": lambda g: ndi.rotate(g, 5.0, reshape=False, mode="nearest"),
                "rotated 10 deg": lambda g: ndi.rotate(g, 10.0, reshape=False, mode="nearest"),
                "shifted 10 % right": lambda g: ndi.shift(g, (0, 0.1 * g.shape[1]), mode="nearest")}
    real = [c for c in cases if c.kind == "real"]
    for label, change in variants.items():
        vals = [min(analyse_pelvis(np.asarray(change(c.array()), dtype=np.float32)).cell_balance) for c in real]
        print(f"real films, {label}: cell balance {min(vals):.2f}..{max(vals):.2f}, "
              f"below the bound {sum(v < cell_min for v in vals)}/{len(vals)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

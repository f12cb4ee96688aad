"""Cases for ``hand.phalanges`` and ``hand.digit_count``: the real PA hand, its exposure/size/
rotation variants, phalanx corruptions of it, and hand phantoms with known phalanx counts.

Real data is thin: ONE real PA hand (the MURA example ``HAND.png``), so every real-hand figure
is one image under several acquisitions, not a population (``meta["split"]``).

* ``real``: the hand as stored and under gamma 0.5 / 2, gain 0.6, inversion, 2x and 3x
  upsampling, rotation by ±8 degrees and a left-right mirror (a left hand looks like this).
* ``corrupt`` (on the hand as stored and under gamma 0.5, gain 0.6 and 2x upsampling):
  ``phalanges_fused`` (an interphalangeal joint filled with bone texture: the thumb IP, each
  finger's PIP), ``phalanx_extra`` (a phalanx repeated, the digit lengthened: the thumb's
  proximal phalanx, each finger's middle phalanx), ``phalanx_missing`` (the same phalanx cut
  out). Joints are placed from :data:`HAND_JOINTS`, an annotation of the image (below), not
  from the check.
* ``phantom``: :func:`~anatscore.anatomy.phantoms.hand_phantom` seeds 0-9 with normal counts,
  a finger with 2 phalanges (``phalanx_missing``), a finger with 4 (``phalanx_extra``) and a
  thumb with 3 (``phalanx_extra``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import numpy as np
from skimage import transform

from anatscore.anatomy import corrupt, phantoms

from . import Case
from .msk import load_grey

PHAL = "hand.phalanges"
DIGITS = "hand.digit_count"
THIN = {"split": "thin (1 real hand)"}

#: Annotation of ``real/xray/msk_mura_examples/HAND.png`` (356 x 512): per digit, (row, col) of
#: the tip, the interphalangeal joints distal to proximal, and the MCP joint (the dark joint
#: line). Provenance, plainly: the points were first taken from an early version of the
#: detector's reading, then every one checked by eye on 3x enlargements with the contrast
#: stretched 5x; four were moved onto the joint line (index DIP and PIP, ring PIP, little PIP),
#: the others were on it. So only those four are independent of the detector.
HAND_JOINTS: dict[str, tuple[tuple[float, float], ...]] = {
    "thumb": ((204, 32), (250, 53), (306, 81)),
    "index": ((66, 122), (98, 124), (142, 129), (225, 146)),
    "middle": ((42, 190), (79, 188), (134, 190), (227, 193)),
    "ring": ((67, 244), (104, 243), (156, 240), (242, 232)),
    "little": ((139, 321), (169, 311), (202, 298), (264, 267)),
}

def _rotate(g: np.ndarray, angle: float) -> np.ndarray:
    """The film turned by ``angle`` degrees on a larger canvas of air (the median of the image's
    darkest decile, so the corners read as background, not as a bright or edge-smeared shutter)."""
    air = float(np.median(g[g <= np.percentile(g, 10)]))
    return transform.rotate(g, angle, resize=True, mode="constant", cval=air)


#: Metacarpal bases (row, col) of the same image, and the half-width of each ray's band at
#: tip / MCP / base (about midway to the neighbouring rays), for :func:`corrupt.remove_digit_ray`.
RAY_BASES: dict[str, tuple[float, float]] = {
    "thumb": (358, 127), "index": (355, 168), "middle": (355, 190), "ring": (350, 211), "little": (345, 229),
}
RAY_HALF_WIDTHS: dict[str, tuple[float, float, float]] = {
    "thumb": (26, 22, 12), "index": (26, 22, 11), "middle": (26, 22, 11), "ring": (24, 21, 10), "little": (22, 19, 9),
}


def digit_deletions(g: np.ndarray) -> Iterator[tuple[str, np.ndarray]]:
    """``(digit, image)``: each annotated digit removed with its metacarpal
    (:func:`corrupt.remove_digit_ray` along tip -> MCP -> base)."""
    for digit, pts in HAND_JOINTS.items():
        ray = (pts[0], pts[-1], RAY_BASES[digit])
        yield digit, corrupt.remove_digit_ray(g, ray, RAY_HALF_WIDTHS[digit])


#: Acquisition variants of the real hand (name -> transform of the [0, 1] grey image).
VARIANTS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "": lambda g: g,
    "gamma0.5": lambda g: g ** 0.5,
    "gamma2": lambda g: g ** 2,
    "gain0.6": lambda g: 0.6 * g,
    "inverted": lambda g: 1.0 - g,
    "up2": lambda g: transform.rescale(g, 2, order=1),
    "up3": lambda g: transform.rescale(g, 3, order=1),
    "rot+8": lambda g: _rotate(g, 8),
    "rot-8": lambda g: _rotate(g, -8),
    "mirror": lambda g: g[:, ::-1],
}
CORRUPT_VARIANTS = ("", "gamma0.5", "gain0.6", "up2")


def _f32(g: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.clip(g, 0, 1), dtype=np.float32)


#: Rows of air added above the real hand before corrupting it, so a lengthened digit stays on
#: the film (the middle fingertip is 42 px from the top edge).
PAD = 64


def phalanx_corruptions(g: np.ndarray) -> Iterator[tuple[str, str, np.ndarray]]:
    """``(digit, failure_type, image)`` for each annotated digit of the real hand (``g`` as
    loaded; the results have :data:`PAD` rows of air, the median of rows 8-16, added on top)."""
    air = float(np.median(g[8:16]))
    g = np.concatenate([np.full((PAD, g.shape[1]), air, np.float32), g], axis=0)
    for digit, raw in HAND_JOINTS.items():
        pts = tuple((r + PAD, c) for r, c in raw)
        tip, mcp = pts[0], pts[-1]
        length = float(np.hypot(tip[0] - mcp[0], tip[1] - mcp[1]))
        hw = 0.1 * length
        # thumb: IP joint fused, proximal phalanx (MCP..IP) repeated / removed;
        # fingers: PIP fused, middle phalanx (PIP..DIP) repeated / removed.
        joint = pts[1] if digit == "thumb" else pts[2]
        prox, dist = (mcp, pts[1]) if digit == "thumb" else (pts[2], pts[1])
        yield digit, "phalanges_fused", corrupt.fuse_phalanges(g, mcp, tip, joint, hw)
        yield digit, "phalanx_extra", corrupt.insert_phalanx(g, mcp, tip, prox, dist, hw)
        yield digit, "phalanx_missing", corrupt.remove_phalanx(g, mcp, tip, prox, dist, hw)


def hand_cases(data_dir: Path) -> Iterator[Case]:
    path = data_dir / "real" / "xray" / "msk_mura_examples" / "HAND.png"
    if not path.is_file():
        return
    g = load_grey(path)
    for name, fn in VARIANTS.items():
        yield Case(f"mura/HAND.png{'#' + name if name else ''}", "hand", "real",
                   lambda fn=fn: _f32(fn(g)), {PHAL: True, DIGITS: True}, view="pa", meta=THIN)
    for digit, ftype, bad in phalanx_corruptions(g):
        for name in CORRUPT_VARIANTS:
            fn = VARIANTS[name]
            yield Case(f"mura/HAND.png#{ftype}-{digit}{'-' + name if name else ''}", "hand", "corrupt",
                       lambda fn=fn, bad=bad: _f32(fn(bad)), {PHAL: False}, ftype, "pa", meta=THIN)
    for digit, bad in digit_deletions(g):
        for name in CORRUPT_VARIANTS:
            fn = VARIANTS[name]
            yield Case(f"mura/HAND.png#missing_digit_ray-{digit}{'-' + name if name else ''}", "hand", "corrupt",
                       lambda fn=fn, bad=bad: _f32(fn(bad)), {DIGITS: False}, "missing_digit_ray", "pa", meta=THIN)


PHANTOMS: dict[str, tuple[tuple[int, ...], str]] = {
    "normal": ((2, 3, 3, 3, 3), ""),
    "finger-2": ((2, 3, 2, 3, 3), "phalanx_missing"),
    "finger-4": ((2, 3, 3, 4, 3), "phalanx_extra"),
    "thumb-3": ((3, 3, 3, 3, 3), "phalanx_extra"),
}


def cases(data_dir: Path | None, step: int = 1) -> Iterator[Case]:
    for name, (ph, ftype) in PHANTOMS.items():
        for seed in range(0, 10, step):
            yield Case(f"hand-phantom-phalanges-{name}-{seed:02d}", "hand", "phantom",
                       lambda ph=ph, s=seed: phantoms.hand_phantom(5, phalanges=ph, seed=s),
                       {PHAL: not ftype}, ftype, "pa")
    if data_dir is not None:
        yield from hand_cases(data_dir)

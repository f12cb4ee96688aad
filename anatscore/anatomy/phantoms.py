"""Synthetic radiograph phantoms with known anatomy (counts, gaps, texture orientation).

Each phantom is drawn as attenuation maps (soft-tissue envelope, bones as filled capsules with a
denser cortex and a textured medulla), then blurred (detector unsharpness), given quantum-like
noise and a random exposure (gain, offset, gamma), and optionally inverted. The randomness is
seeded, so a phantom is reproducible; the defaults vary placement, sizes and exposure enough
that a check cannot pass by special-casing one drawing.

Functions return float32 grey images in [0, 1] (bright = dense unless ``invert``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

__all__ = [
    "Exposure", "hand_phantom", "knee_phantom", "forearm_phantom", "leg_phantom", "finish",
    "wrist_phantom", "CARPAL_FUSIONS", "joint_phantom",
]


@dataclass(frozen=True)
class Exposure:
    """Acquisition of a phantom: blur (px), noise (std), gain, offset, gamma, inversion."""

    blur: float = 1.2
    noise: float = 0.015
    gain: float = 1.0
    offset: float = 0.0
    gamma: float = 1.0
    invert: bool = False

    @classmethod
    def random(cls, rng: np.random.Generator, invert: bool = False) -> "Exposure":
        return cls(
            blur=float(rng.uniform(0.8, 1.8)), noise=float(rng.uniform(0.008, 0.025)),
            gain=float(rng.uniform(0.7, 1.1)), offset=float(rng.uniform(-0.05, 0.1)),
            gamma=float(rng.uniform(0.7, 1.4)), invert=invert,
        )


def _capsule(shape: tuple[int, int], p0: tuple[float, float], p1: tuple[float, float], radius: float) -> np.ndarray:
    """Signed distance (negative inside) to the capsule of ``radius`` around segment p0-p1 (row, col)."""
    rr, cc = np.mgrid[: shape[0], : shape[1]].astype(np.float32)
    a = np.array(p0, np.float32)
    d = np.array(p1, np.float32) - a
    t = np.clip(((rr - a[0]) * d[0] + (cc - a[1]) * d[1]) / max(float(d @ d), 1e-6), 0, 1)
    dist = np.hypot(rr - (a[0] + t * d[0]), cc - (a[1] + t * d[1]))
    return dist - radius


def _bone(sd: np.ndarray, density: float, cortex: float) -> np.ndarray:
    """Attenuation of a bone from its signed distance: denser cortex rim, softer medulla."""
    inside = np.clip(-sd, 0, None)
    body = np.clip(-sd + 0.5, 0, 1)  # anti-aliased edge
    rim = np.exp(-((inside - cortex) ** 2) / (2 * (0.6 * cortex) ** 2))
    return body * density * (0.75 + 0.45 * rim)


def finish(atten: np.ndarray, exposure: Exposure, rng: np.random.Generator) -> np.ndarray:
    """Blur, expose, add noise, normalise to [0, 1] (and invert if asked)."""
    img = ndi.gaussian_filter(atten.astype(np.float32), exposure.blur)
    img = np.clip(img * exposure.gain + exposure.offset, 0, None)
    img = img / max(float(img.max()), 1e-6)
    img = np.clip(img, 0, 1) ** exposure.gamma
    img = img + exposure.noise * rng.standard_normal(img.shape).astype(np.float32)
    img = np.clip(img, 0, 1)
    return (1 - img if exposure.invert else img).astype(np.float32)


def _texture(shape: tuple[int, int], rng: np.random.Generator, oriented: bool, angle_deg: float = 90.0) -> np.ndarray:
    """Zero-mean trabecular-like texture: streaks along ``angle_deg`` (oriented) or isotropic."""
    n = rng.standard_normal(shape).astype(np.float32)
    if oriented:
        t = ndi.gaussian_filter(n, (6.0, 0.9))  # long along rows' axis = vertical streaks
        if abs(angle_deg - 90.0) > 1e-3:
            t = ndi.rotate(t, angle_deg - 90.0, reshape=False, mode="reflect")
    else:
        t = ndi.gaussian_filter(n, 1.4)
    return t / max(float(t.std()), 1e-6)


def hand_phantom(
    digits: int = 5,
    phalanges: tuple[int, ...] | None = None,
    size: int = 384,
    seed: int = 0,
    exposure: Exposure | None = None,
) -> np.ndarray:
    """PA hand: palm, ``digits`` digits fanning from the palm, the first one a thumb.

    Args:
        digits: number of digits (thumb included).
        phalanges: phalanges per digit (default: 2 for the thumb, 3 for the others).
        size: image height; width is 0.85 of it.
        seed: seed for placement jitter, exposure and noise.
        exposure: acquisition; random (not inverted) when None.
    """
    rng = np.random.default_rng(seed)
    if phalanges is None:
        phalanges = tuple(2 if i == 0 else 3 for i in range(digits))
    if len(phalanges) != digits:
        raise ValueError("phalanges must give one count per digit")
    h, w = size, int(0.85 * size)
    shape = (h, w)
    atten = np.full(shape, 0.02, np.float32)
    fingers = digits - 1
    cx = 0.5 * w + rng.uniform(-0.03, 0.03) * w
    pitch = 0.085 * w * rng.uniform(0.95, 1.05)  # metacarpal spacing at the knuckles
    half = 0.5 * (fingers - 1) * pitch
    # Soft tissue: forearm stub + palm (a capsule as wide as the metacarpals).
    soft = np.minimum(
        _capsule(shape, (1.2 * h, cx), (0.9 * h, cx), 0.16 * w),
        _capsule(shape, (0.82 * h, cx), (0.58 * h, cx), half + 0.06 * w),
    )
    bones = np.zeros(shape, np.float32)
    radius = 0.013 * h
    seg_len = 0.055 * h * rng.uniform(0.9, 1.1)
    # Carpus: a cluster of small rounded bones between the forearm and the metacarpal bases.
    for k in range(8):
        p = (0.86 * h + (k // 4) * 0.04 * h, cx + ((k % 4) - 1.5) * 0.045 * w)
        bones = np.maximum(bones, _bone(_capsule(shape, p, p, 0.016 * h), 0.5, 1.5))
    for i in range(digits):
        if i == 0:  # thumb: from the radial side of the carpus, angled outwards
            ang = np.radians(rng.uniform(35, 50))
            base = np.array([0.82 * h, cx - half - 0.05 * w])
            direction = np.array([-np.cos(ang), -np.sin(ang)])
            mc_len = 0.14 * h
        else:
            off = (i - 1) * pitch - half
            base = np.array([0.82 * h, cx + 0.55 * off])
            knuckle = np.array([0.6 * h, cx + off])
            direction = (knuckle - base) / np.linalg.norm(knuckle - base)
            mc_len = float(np.linalg.norm(knuckle - base))
        q = base + direction * mc_len  # metacarpal head
        bones = np.maximum(bones, _bone(_capsule(shape, tuple(base), tuple(q), radius), 0.55, 2.0))
        tip = q
        for k in range(phalanges[i]):
            r_k = radius * (0.95 - 0.12 * k)
            length = seg_len * (1.0 - 0.15 * k)
            # Capsule ends are rounded by their radius: the visible joint gap is ~0.012 h.
            a = tip + direction * (r_k + 0.012 * h + (radius if k == 0 else r_k))
            b = a + direction * length
            bones = np.maximum(bones, _bone(_capsule(shape, tuple(a), tuple(b), r_k), 0.55, 2.0))
            tip = b
        soft = np.minimum(soft, _capsule(shape, tuple(base), tuple(tip), 0.03 * h))
    atten += np.clip(-soft + 0.5, 0, 1) * 0.25
    atten += bones
    tex = _texture(shape, rng, oriented=True)
    atten += 0.04 * tex * (bones > 0.1)
    return finish(atten, exposure or Exposure.random(rng), rng)


def knee_phantom(
    gap: float = 0.05,
    fibula: bool = True,
    texture: str = "oriented",
    size: int = 224,
    seed: int = 0,
    exposure: Exposure | None = None,
) -> np.ndarray:
    """AP knee crop: femoral condyles above, tibial plateau below, joint space of ``gap * size``.

    Args:
        gap: joint-space width as a fraction of the height (0 = fused joint).
        fibula: draw the fibular head lateral to the tibia.
        texture: ``"oriented"`` (vertical trabeculae, as in real metaphyses) or ``"random"``.
        size: image side.
        seed: placement jitter, exposure, noise.
        exposure: acquisition; random (not inverted) when None.
    """
    rng = np.random.default_rng(seed)
    h = w = size
    shape = (h, w)
    rr, cc = np.mgrid[:h, :w].astype(np.float32)
    jl = h * rng.uniform(0.47, 0.53)  # joint line
    g = gap * h
    # Femur: two condyles (rounded bottom) on a shaft; tibia: plateau narrowing to the shaft.
    wob = 0.02 * h * np.sin(cc / w * np.pi * 2 + rng.uniform(0, 6.28))
    condyle = jl - g / 2 - 0.03 * h * ((cc - w / 2) / (0.4 * w)) ** 2 + wob * 0.3
    femur = (rr < condyle) & (np.abs(cc - w / 2) < 0.42 * w - np.clip(0.3 * h - rr, 0, None) * 0.2)
    tib_half = 0.42 * w - np.clip(rr - (jl + g / 2), 0, None) * 0.35
    # A fused joint (gap 0): the tibia grows up into the condyles' contour, no gap anywhere.
    top = jl + g / 2 + 0.01 * h * np.cos(cc / w * 6.28) if gap > 0 else condyle - 1
    tibia = (rr > top) & (np.abs(cc - w / 2) < np.maximum(tib_half, 0.22 * w))
    bone = (femur | tibia).astype(np.float32)
    if fibula:
        side = 1 if rng.random() < 0.5 else -1
        fc = w / 2 + side * 0.4 * w
        fib = _capsule(shape, (jl + 0.2 * h, fc), (1.2 * h, fc + side * 0.03 * w), 0.07 * w)
        bone = np.maximum(bone, np.clip(-fib + 0.5, 0, 1) * 0.9)
    # Soft tissue of a roughly cylindrical limb: thickest (brightest) in the middle, thinning to
    # the sides. (A uniform level made the joint space a flat full-width band at the image's
    # darkest level: a gutter between two stacked panels, see anatscore.checks.single_panel.)
    limb = np.sqrt(np.clip(1.0 - ((cc - w / 2) / (0.55 * w)) ** 2, 0.0, 1.0))
    atten = 0.1 + 0.25 * limb + 0.45 * ndi.gaussian_filter(bone, 1.0)
    edge = np.abs(ndi.gaussian_gradient_magnitude(bone, 1.0))
    atten += 0.6 * edge
    atten += 0.07 * _texture(shape, rng, oriented=(texture == "oriented")) * (bone > 0.5)
    return finish(atten, exposure or Exposure.random(rng), rng)


def forearm_phantom(
    bones: int = 2,
    angle_deg: float | None = None,
    size: int = 384,
    seed: int = 0,
    exposure: Exposure | None = None,
) -> np.ndarray:
    """AP forearm: ``bones`` long bones (2 = radius and ulna, 1 = one bone missing or fused)
    inside a soft-tissue envelope, at a random angle, with wider metaphyses meeting at the
    wrist and the elbow.

    Args:
        bones: 1 or 2 long bones.
        angle_deg: limb angle from the vertical (random in -60..60 when None).
        size: image side.
        seed: angle, widths, exposure, noise.
        exposure: acquisition; random (not inverted) when None.
    """
    return _two_bone_limb(bones, angle_deg, size, seed, exposure, radius=0.022, second=0.85, sep=0.045)


def leg_phantom(
    bones: int = 2,
    angle_deg: float | None = None,
    size: int = 384,
    seed: int = 0,
    exposure: Exposure | None = None,
) -> np.ndarray:
    """AP lower leg: a thick tibia and a thin fibula (``bones`` = 2), or the tibia alone
    (``bones`` = 1: the fibula missing, the paper's first finding), in a soft-tissue envelope.

    The fibula is 0.4-0.5 of the tibia's width; the interosseous space between the shafts is
    about one fibula width, narrowing towards the knee and the ankle. Arguments as for
    :func:`forearm_phantom`.
    """
    rng = np.random.default_rng(seed)
    second = float(rng.uniform(0.4, 0.5))
    return _two_bone_limb(bones, angle_deg, size, seed, exposure, radius=0.032, second=second, sep=0.05)


def _two_bone_limb(
    bones: int,
    angle_deg: float | None,
    size: int,
    seed: int,
    exposure: Exposure | None,
    radius: float,
    second: float,
    sep: float,
) -> np.ndarray:
    """Two parallel long bones (or one) in a soft-tissue capsule, converging at both ends.

    ``radius``: the first bone's half-width / image side; ``second``: the second bone's width
    relative to the first; ``sep``: half the distance between the shafts / image side. One bone
    is drawn centred and 1.15x as wide (a missing or fused partner).
    """
    if bones not in (1, 2):
        raise ValueError("bones must be 1 or 2")
    rng = np.random.default_rng(seed)
    h = w = size
    shape = (h, w)
    ang = np.radians(rng.uniform(-60, 60) if angle_deg is None else angle_deg)
    axis = np.array([np.cos(ang), np.sin(ang)])  # (drow, dcol)
    normal = np.array([-axis[1], axis[0]])
    c = np.array([h / 2, w / 2]) + rng.uniform(-0.03, 0.03, 2) * size
    half = 0.46 * size
    p0, p1 = c - axis * half, c + axis * half
    atten = np.full(shape, 0.02, np.float32)
    soft = _capsule(shape, tuple(p0 - axis * 0.2 * size), tuple(p1 + axis * 0.2 * size), 0.13 * size)
    atten += np.clip(-soft + 0.5, 0, 1) * 0.25
    half_sep = sep * size * rng.uniform(0.9, 1.2)
    r0 = radius * size
    offsets = (-half_sep, half_sep) if bones == 2 else (0.0,)
    bone = np.zeros(shape, np.float32)
    for k, off in enumerate(offsets):
        a = c - axis * half * 0.95 + normal * off * 0.6
        b = c + axis * half * 0.95 + normal * off * 0.6
        mid = c + normal * off
        r = r0 * (1.15 if bones == 1 else (1.0 if k == 0 else second))
        bone = np.maximum(bone, _bone(_capsule(shape, tuple(a), tuple(mid), r), 0.55, 2.5))
        bone = np.maximum(bone, _bone(_capsule(shape, tuple(mid), tuple(b), r), 0.55, 2.5))
    atten += bone + 0.04 * _texture(shape, rng, oriented=False) * (bone > 0.1)
    return finish(atten, exposure or Exposure.random(rng), rng)


# --- carpus / tarsus (branch carpal) -------------------------------------------------------------

#: Carpal bones of a PA wrist phantom: name -> (row, col) of the cell seed in carpus units
#: (row 0 = proximal row, 1 = distal row; col -1.5..1.5 from the radial to the ulnar side).
_CARPAL_SEEDS: dict[str, tuple[float, float]] = {
    "scaphoid": (0.05, -1.45), "lunate": (0.0, -0.3), "triquetrum": (0.1, 0.95),
    "trapezium": (1.05, -1.7), "trapezoid": (1.0, -0.75), "capitate": (0.95, 0.2), "hamate": (0.9, 1.25),
}

#: Fusion variants of :func:`wrist_phantom`: name -> groups of bones drawn as one block.
CARPAL_FUSIONS: dict[str, tuple[tuple[str, ...], ...]] = {
    "none": (),
    "partial": (("lunate", "capitate", "trapezoid", "hamate", "triquetrum"),),
    "rows": (("scaphoid", "lunate", "triquetrum"), ("trapezium", "trapezoid", "capitate", "hamate")),
    "all": (tuple(_CARPAL_SEEDS),),
}


def _cells(shape: tuple[int, int], seeds: np.ndarray, envelope: np.ndarray) -> np.ndarray:
    """Voronoi labelling (1..n) of the pixels of ``envelope`` by nearest seed (row, col)."""
    rr, cc = np.mgrid[: shape[0], : shape[1]].astype(np.float32)
    d = np.stack([np.hypot(rr - r, cc - c) for r, c in seeds])
    return np.where(envelope, np.argmin(d, axis=0) + 1, 0)


def _pieces_attenuation(lab: np.ndarray, gap: float, density: float, cortex: float) -> np.ndarray:
    """Attenuation of labelled bone pieces, each shrunk by ``gap / 2`` from its cell boundary
    (so neighbouring pieces are ``gap`` apart), with a denser cortex rim."""
    out = np.zeros(lab.shape, np.float32)
    for k in range(1, int(lab.max()) + 1):
        cell = lab == k
        if not cell.any():
            continue
        inside = ndi.distance_transform_edt(cell).astype(np.float32)
        sd = gap / 2.0 - inside  # signed distance to the shrunk piece: negative inside
        out = np.maximum(out, _bone(sd, density, cortex))
    return out


def wrist_phantom(
    fusion: str = "none",
    size: int = 384,
    seed: int = 0,
    gap: float | None = None,
    exposure: Exposure | None = None,
) -> np.ndarray:
    """PA wrist: distal radius and ulna, 7 carpal cells in two rows plus the pisiform overlapping
    the triquetrum (as on a real PA view: 7 separable carpal outlines), 5 metacarpal bases.

    The carpal bones tile an oval carpal mass (a Voronoi partition of jittered seeds), each
    shrunk from its neighbours by ``gap`` pixels (the intercarpal joint spaces, random 0.6-1.0 %
    of ``size`` when None). ``fusion`` merges groups of bones into single blocks with no gap
    between them (see :data:`CARPAL_FUSIONS`): ``partial`` leaves 3 outlines, ``rows`` 2,
    ``all`` 1. The limb is rotated by a random angle (-20..20 degrees), left/right flipped at
    random, with random size, exposure, blur and noise.

    Args:
        fusion: key of :data:`CARPAL_FUSIONS`.
        size: image height; width is 0.8 of it.
        seed: layout jitter, angle, exposure, noise.
        gap: intercarpal gap width in pixels (None: random).
        exposure: acquisition; random (not inverted) when None.

    Returns:
        float32 (size, 0.8 size) image in [0, 1].
    """
    if fusion not in CARPAL_FUSIONS:
        raise ValueError(f"fusion must be one of {', '.join(CARPAL_FUSIONS)}")
    rng = np.random.default_rng(seed)
    h, w = size, int(0.8 * size)
    shape = (h, w)
    gap = float(rng.uniform(0.006, 0.010) * size) if gap is None else float(gap)
    cx = 0.5 * w + rng.uniform(-0.03, 0.03) * w
    unit_c = 0.085 * w * rng.uniform(0.9, 1.1)  # column spacing of the carpal cells
    unit_r = 0.085 * h * rng.uniform(0.9, 1.1)  # row spacing (proximal -> distal row)
    prox = 0.56 * h + rng.uniform(-0.03, 0.03) * h  # proximal carpal row (distal = up)
    atten = np.full(shape, 0.02, np.float32)
    # Soft tissue: narrowest at the wrist, wider over the forearm muscles and the palm (curved
    # outlines, as on a real film, not straight bands).
    rr0 = np.arange(h, dtype=np.float32)[:, None]
    cc0 = np.arange(w, dtype=np.float32)[None, :]
    half = 0.34 * w * (1.0 + 0.12 * ((rr0 - prox) / h) ** 2 * 4 + 0.03 * np.sin(rr0 / h * 7 + rng.uniform(0, 6.28)))
    soft = np.abs(cc0 - cx) - half
    atten += np.clip(-soft + 0.5, 0, 1) * 0.25
    bones = np.zeros(shape, np.float32)
    # Radius (radial = left side) and ulna below the carpus, with flared distal ends.
    rad_top = prox + 0.9 * unit_r
    # Radius: shaft and distal oval flare as one outline (union of signed distances; the
    # ellipse's is approximated by its scaled radius), so no cortex line runs between them.
    ey, ex, ay, ax = rad_top + 0.045 * h, cx - 0.1 * w, 0.045 * h, 0.14 * w
    rr, cc = np.mgrid[:h, :w].astype(np.float32)
    q = np.sqrt(((rr - ey) / ay) ** 2 + ((cc - ex) / ax) ** 2)
    shaft = _capsule(shape, (1.2 * h, cx - 0.12 * w), (rad_top + 0.05 * h, cx - 0.1 * w), 0.075 * w)
    bones = np.maximum(bones, _bone(np.minimum(shaft, (q - 1.0) * ay), 0.55, 2.5))
    uln_top = prox + 0.85 * unit_r
    bones = np.maximum(bones, _bone(_capsule(shape, (1.2 * h, cx + 0.17 * w), (uln_top + 0.04 * h, cx + 0.16 * w),
                                             0.045 * w), 0.55, 2.5))
    # Carpal mass: oval envelope, Voronoi cells from jittered seeds.
    names = list(_CARPAL_SEEDS)
    seeds = np.array([(prox - r * unit_r + rng.uniform(-0.12, 0.12) * unit_r,
                       cx + c * unit_c + rng.uniform(-0.12, 0.12) * unit_c) for r, c in _CARPAL_SEEDS.values()])
    mid_r, mid_c = prox - 0.5 * unit_r, cx - 0.2 * unit_c
    env = ((rr - mid_r) / (1.25 * unit_r)) ** 2 + ((cc - mid_c) / (2.45 * unit_c)) ** 2 <= 1.0
    lab = _cells(shape, seeds, env)
    for group in CARPAL_FUSIONS[fusion]:
        first = names.index(group[0]) + 1
        for nm in group[1:]:
            lab[lab == names.index(nm) + 1] = first
    # Space between the radius/ulna and the carpus (radiocarpal joint) and the carpus edge.
    carpal = _pieces_attenuation(lab, gap, 0.5, 1.8)
    bones = np.maximum(bones * (carpal < 0.05), carpal)
    # Pisiform: a small oval over the triquetrum (overlap adds density, no gap of its own).
    tq = seeds[names.index("triquetrum")]
    pis = _capsule(shape, (tq[0] + 0.1 * unit_r, tq[1] + 0.15 * unit_c), (tq[0] + 0.1 * unit_r, tq[1] + 0.15 * unit_c),
                   0.3 * unit_c)
    bones = bones + 0.5 * _bone(pis, 0.4, 1.5) * (lab > 0)
    # Metacarpal bases above the distal row, fanning out.
    base_r = prox - 2.15 * unit_r  # clear of the distal row: the carpometacarpal joint spaces
    for k in range(5):
        off = (k - 2) * 0.95 * unit_c
        if k == 0:
            a, b = (base_r - 0.01 * h, cx + off - 0.3 * unit_c), (base_r - 0.22 * h, cx + off - 1.3 * unit_c)
        else:
            a, b = (base_r, cx + off), (-0.1 * h, cx + 1.35 * off)
        bones = np.maximum(bones, _bone(_capsule(shape, a, b, 0.26 * unit_c), 0.55, 2.0))
    tex = _texture(shape, rng, oriented=False)
    atten += bones + 0.035 * tex * (bones > 0.1)
    if rng.random() < 0.5:
        atten = atten[:, ::-1]
    angle = float(rng.uniform(-20, 20))
    atten = ndi.rotate(atten, angle, reshape=False, order=1, mode="nearest")
    return finish(atten, exposure or Exposure.random(rng), rng)


def joint_phantom(
    curvature: float = 0.0,
    angle: float = 0.0,
    gap: float = 0.03,
    bump: float = 0.0,
    size: int = 256,
    seed: int = 0,
    exposure: Exposure | None = None,
) -> np.ndarray:
    """Two bone ends facing each other across a joint space, at any angle and curvature.

    In the phantom's own frame the joint line is the parabola ``y = y0 + curvature * x^2 / size``
    (x measured from the joint's centre, y down): 0 is a flat line (MCP/IP), a positive value a
    dome convex upwards (the joint line is highest in the middle: ankle, talar dome), a negative
    one a bowl (distal radius concave towards the carpus: wrist), a large magnitude an arc
    (shoulder, hip).
    The upper bone ends ``gap * size / 2`` above the line, the lower one as far below it; each
    is a shaft with a denser cortex and a textured medulla inside a soft-tissue envelope. The
    picture is then turned so that the joint line runs at ``angle`` degrees (counter-clockwise
    from the x axis), exposed and noised (:func:`finish`).

    Args:
        curvature: bend of the joint line (see above); the upper contour follows it exactly.
        angle: direction of the joint line in the image, degrees.
        gap: joint-space width as a fraction of ``size`` (0 = fused: one bone mass).
        bump: a smooth local distortion of the *lower* articular contour, as a multiple of the
            gap width (positive bulges into the gap); 0 = congruent surfaces.
        size: image side.
        seed: jitter of placement, bone widths, exposure and noise.
        exposure: acquisition; random (not inverted) when None.
    """
    rng = np.random.default_rng(seed)
    n = size
    pad = int(0.3 * n)  # drawn larger, then rotated and cropped (no empty corners)
    m = n + 2 * pad
    rr, cc = np.mgrid[:m, :m].astype(np.float32)
    xc = m / 2 + rng.uniform(-0.04, 0.04) * n
    y0 = m / 2 + rng.uniform(-0.04, 0.04) * n
    x = cc - xc
    line = y0 + curvature * x**2 / n
    half = gap * n / 2
    hw_up = rng.uniform(0.25, 0.32) * n
    hw_dn = rng.uniform(0.22, 0.3) * n
    sx = rng.uniform(0.08, 0.12) * n
    x_b = rng.uniform(-0.1, 0.1) * n
    bump_y = bump * max(gap, 0.02) * n * np.exp(-((x - x_b) ** 2) / (2 * sx**2))
    if gap > 0:
        up = (rr < line - half) & (np.abs(x) < hw_up)
        dn = (rr > line + half - bump_y) & (np.abs(x) < hw_dn)
    else:  # fused: one bone mass bridging the joint
        up = (rr < line + 1) & (np.abs(x) < hw_up)
        dn = (rr >= line - 1) & (np.abs(x) < hw_dn)
    bone = (up | dn).astype(np.float32)
    soft = (np.abs(x) < max(hw_up, hw_dn) + rng.uniform(0.08, 0.14) * n).astype(np.float32)
    atten = 0.12 * ndi.gaussian_filter(soft, 2.0) + 0.45 * ndi.gaussian_filter(bone, 1.0)
    atten += 0.5 * np.abs(ndi.gaussian_gradient_magnitude(bone, 1.0))
    atten += 0.06 * _texture((m, m), rng, oriented=True) * (bone > 0.5)
    if abs(angle) > 1e-3:
        atten = ndi.rotate(atten, angle, reshape=False, order=1, mode="nearest")
    atten = atten[pad:pad + n, pad:pad + n]
    return finish(atten, exposure or Exposure.random(rng), rng)

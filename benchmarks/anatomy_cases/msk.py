"""Limb (appendicular) cases: real knee AP crops, their controlled corruptions, knee phantoms.

Real data: the 100 knee AP crops of ``real/xray/knee_kl`` (OAI-derived, KL grades 0-4). Files are
taken in sorted order; even-indexed ones are the *calibration* half (the region record's ranges
are their 5th percentiles, ``benchmarks/msk_calibrate.py``), odd-indexed ones are *held out*
(``meta["split"]``). The other limb radiographs in ``../shared/data`` (one MURA hand, finger,
wrist, forearm, elbow; one GrazPedWri wrist; one distal tibia lateral) have no registered limb
check yet, so they are not yielded, except the MURA hand and forearm: they and their
corruptions (each finger strip duplicated or deleted; one forearm bone removed, or the two
fused) are the only real hand and forearm cases - thin data, said so in ``meta["split"]``.

Corruptions of each real crop (expected to fail the named check):
- ``joint_closed``: joint space filled with textured bone (:func:`close_joint_space`);
- ``texture_patch_shuffled``: detail patches permuted and rotated (:func:`scramble_texture_patches`);
- ``texture_phase_randomised``: isotropic phase-randomised detail (:func:`scramble_texture_phase`).

Phantoms (seeded, random exposure): normal knee (expected to pass both checks), fused joint
(``joint_closed``), random trabecular texture (``texture_random``); PA hands with 5 digits
(expected to pass), 6 (``extra_digit``) and 4 (``missing_digit``); forearms with two long
bones (expected to pass) and one (``bone_missing``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from anatscore.anatomy import corrupt, phantoms

from . import Case

JOINT = "joint.space"
TEXTURE = "texture.trabecular_anisotropy"
PROPORTIONS = "proportions.knee"  # its corruptions are in knee_proportions.py
DIGITS = "hand.digit_count"
TWO_BONES = "forearm.two_bones"
PHANTOM_SEEDS = range(10)


def knee_files(data_dir: Path) -> list[Path]:
    """The real knee crops, sorted (the split into halves depends on this order)."""
    return sorted((data_dir / "real" / "xray" / "knee_kl").glob("*/*.png"))


def knee_crops(data_dir: Path, step: int = 1) -> Iterator[tuple[int, Path, str, str]]:
    """``(index, path, case name, split)`` for every ``step``-th real knee crop: the split is
    ``calibration`` for even indices (where the knee constants come from) and ``held-out`` for odd."""
    for i, path in enumerate(knee_files(data_dir)):
        if i % step == 0:
            yield i, path, f"knee_kl/{path.parent.name}/{path.name}", "calibration" if i % 2 == 0 else "held-out"


def load_grey(path: Path) -> np.ndarray:
    """8-bit PNG -> float32 [0, 1] grey."""
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("L"), dtype=np.float32) / 255.0


def _lazy(fn: Callable[..., np.ndarray], path: Path, **kw: object) -> Callable[[], np.ndarray]:
    return lambda: fn(load_grey(path), **kw)


def _identity(g: np.ndarray) -> np.ndarray:
    return g


CORRUPTIONS: dict[str, tuple[Callable[..., np.ndarray], str]] = {
    "joint_closed": (corrupt.close_joint_space, JOINT),
    "texture_patch_shuffled": (corrupt.scramble_texture_patches, TEXTURE),
    "texture_phase_randomised": (corrupt.scramble_texture_phase, TEXTURE),
}


def hand_cases(data_dir: Path) -> Iterator[Case]:
    """The one real PA hand (MURA example) and its digit corruptions: each finger strip found by
    the corruption's own column profile duplicated (``extra_digit``) or deleted (``missing_digit``)."""
    path = data_dir / "real" / "xray" / "msk_mura_examples" / "HAND.png"
    if not path.is_file():
        return
    g = load_grey(path)
    yield Case("mura/HAND.png", "hand", "real", g, {DIGITS: True}, view="pa", meta={"split": "thin (1 image)"})
    for k in range(len(corrupt._digit_strips(g))):
        yield Case(f"mura/HAND.png#extra_digit{k}", "hand", "corrupt", corrupt.duplicate_digit(g, k),
                   {DIGITS: False}, "extra_digit", "pa", meta={"split": "thin (1 image)"})
        yield Case(f"mura/HAND.png#missing_digit{k}", "hand", "corrupt", corrupt.delete_digit(g, k),
                   {DIGITS: False}, "missing_digit", "pa", meta={"split": "thin (1 image)"})


def forearm_cases(data_dir: Path) -> Iterator[Case]:
    """The one real forearm (MURA example), one bone removed and the two fused (thin data)."""
    path = data_dir / "real" / "xray" / "msk_mura_examples" / "FOREARM.png"
    if not path.is_file():
        return
    g = load_grey(path)
    meta = {"split": "thin (1 image)"}
    yield Case("mura/FOREARM.png", "forearm", "real", g, {TWO_BONES: True}, view="ap", meta=meta)
    yield Case("mura/FOREARM.png#bone_missing", "forearm", "corrupt", corrupt.remove_forearm_bone(g),
               {TWO_BONES: False}, "bone_missing", "ap", meta=meta)
    yield Case("mura/FOREARM.png#bones_fused", "forearm", "corrupt", corrupt.fuse_forearm_bones(g),
               {TWO_BONES: False}, "bones_fused", "ap", meta=meta)


def cases(data_dir: Path | None, step: int = 1) -> Iterator[Case]:
    """All limb cases; ``step`` subsamples the real crops (every ``step``-th file)."""
    for seed in PHANTOM_SEEDS:
        yield Case(f"knee-phantom-normal-{seed:02d}", "knee", "phantom",
                   lambda s=seed: phantoms.knee_phantom(seed=s), {JOINT: True, TEXTURE: True}, view="ap")
        yield Case(f"knee-phantom-fused-{seed:02d}", "knee", "phantom",
                   lambda s=seed: phantoms.knee_phantom(gap=0.0, seed=s), {JOINT: False}, "joint_closed", "ap")
        yield Case(f"knee-phantom-random-texture-{seed:02d}", "knee", "phantom",
                   lambda s=seed: phantoms.knee_phantom(texture="random", seed=s), {TEXTURE: False},
                   "texture_random", "ap")
    for seed in PHANTOM_SEEDS:
        yield Case(f"hand-phantom-5-digits-{seed:02d}", "hand", "phantom",
                   lambda s=seed: phantoms.hand_phantom(5, seed=s), {DIGITS: True}, view="pa")
        yield Case(f"hand-phantom-6-digits-{seed:02d}", "hand", "phantom",
                   lambda s=seed: phantoms.hand_phantom(6, seed=s), {DIGITS: False}, "extra_digit", "pa")
        yield Case(f"hand-phantom-4-digits-{seed:02d}", "hand", "phantom",
                   lambda s=seed: phantoms.hand_phantom(4, seed=s), {DIGITS: False}, "missing_digit", "pa")
    for seed in PHANTOM_SEEDS:
        yield Case(f"forearm-phantom-2-bones-{seed:02d}", "forearm", "phantom",
                   lambda s=seed: phantoms.forearm_phantom(2, seed=s), {TWO_BONES: True}, view="ap")
        yield Case(f"forearm-phantom-1-bone-{seed:02d}", "forearm", "phantom",
                   lambda s=seed: phantoms.forearm_phantom(1, seed=s), {TWO_BONES: False}, "bone_missing", "ap")
    if data_dir is None:
        return
    yield from hand_cases(data_dir)
    yield from forearm_cases(data_dir)
    for i, path, name, split in knee_crops(data_dir, step):
        yield Case(name, "knee", "real", _lazy(_identity, path), {JOINT: True, TEXTURE: True, PROPORTIONS: True},
                   view="ap",
                   meta={"split": split, "kl": int(path.parent.name)})
        for ftype, (fn, check) in CORRUPTIONS.items():
            kw = {"seed": i} if fn is not corrupt.close_joint_space else {}
            yield Case(f"{name}#{ftype}", "knee", "corrupt", _lazy(fn, path, **kw), {check: False}, ftype, "ap",
                       meta={"split": split})

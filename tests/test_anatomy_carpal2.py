"""Carpal separation, second pass: the robustness benchmark's geometry, the GrazPedWri polygon
reader, and the check's piece filters against real radiologist carpal outlines."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from benchmarks.anatomy_cases.carpal2 import AUGMENT
from benchmarks.carpal_counts import _marked_disk
from benchmarks.carpal_polygons import CARPALS, MAX_LENGTH, MIN_PIECE, MIN_WIDTH, load_wrists


@pytest.mark.parametrize(
    ("what", "expect"),
    [
        # (row, col, radius) of a disk centred at (0.25, 0.30) of a 200 x 300 image, radius 0.1 * 200
        ("mirrored", (50.0, 299 - 90.0, 20.0)),
        ("half size", (25.0, 45.0, 10.0)),
        ("2x up", (100.0, 180.0, 40.0)),
        ("gamma 2", (50.0, 90.0, 20.0)),
    ],
)
def test_marked_disk_follows_the_augmentation(what: str, expect: tuple[float, float, float]) -> None:
    cy, cx, r = _marked_disk((200, 300), (0.25, 0.30), 0.1, AUGMENT[what])
    scale = expect[2] / 20.0
    assert cy == pytest.approx(expect[0], abs=1.0 * scale + 0.5)
    assert cx == pytest.approx(expect[1], abs=1.0 * scale + 0.5)
    assert r == pytest.approx(expect[2], rel=0.06)


def test_marked_disk_rotates_about_the_image_centre() -> None:
    # skimage.transform.rotate turns counter-clockwise on screen: a point right of the centre
    # moves up by sin(15 deg) of its distance.
    cy, cx, _ = _marked_disk((301, 301), (0.5, 0.8), 0.05, AUGMENT["rotated +15"])
    d = 0.3 * 301
    assert cy == pytest.approx(150.5 - d * np.sin(np.radians(15)), abs=1.5)
    assert cx == pytest.approx(150.5 + d * np.cos(np.radians(15)), abs=1.5)


def _cvat(path: Path) -> None:
    sq = "10,10;50,10;50,50;10,50"  # a 41 x 41 px square (x,y)
    path.write_text(f"""<?xml version="1.0"?><annotations>
  <image id="0" name="0001_123_01_WRI-L1_M010.png" width="200" height="120">
    <polygon label="Knochen" points="{sq}"><attribute name="Anatomie">Os capitatum</attribute></polygon>
    <polygon label="Knochen" points="100,10;120,10;120,30;100,30"><attribute name="Anatomie">Radius</attribute></polygon>
  </image>
  <image id="1" name="0002_123_01_WRI-L1_F004.png" width="200" height="120">
    <polygon label="Knochen" points="{sq}"><attribute name="Anatomie">Os hamatum</attribute></polygon>
    <polygon label="Knochen" points="70,10;90,10;90,30;70,30"><attribute name="Anatomie">Os lunatum</attribute></polygon>
  </image>
  <image id="2" name="1498.png" width="200" height="120">
    <polygon label="Knochen" points="{sq}"><attribute name="Anatomie">Os hamatum</attribute></polygon>
  </image>
</annotations>""")


def test_polygon_reader_known_square(tmp_path: Path) -> None:
    _cvat(tmp_path / "a.xml")
    wrists = {w.name: w for w in load_wrists(tmp_path)}
    assert set(wrists) == {"0001_123_01_WRI-L1_M010.png", "0002_123_01_WRI-L1_F004.png"}  # no age: skipped
    one = wrists["0001_123_01_WRI-L1_M010.png"]
    assert one.age == 10.0 and set(one.bones) == {"Os capitatum"}  # the radius is not a carpal bone
    area, minor, major = one.bones["Os capitatum"]
    # One square of side a: hull = the square, R = a / 2; area / (pi (1.5 R)^2) = 4 / (2.25 pi);
    # inertia-ellipse axes 4 sqrt(a^2 / 12) = 1.155 a = 2.31 R.
    assert area == pytest.approx(4 / (2.25 * np.pi), rel=0.08)
    assert minor == pytest.approx(2.31, rel=0.08) and major == pytest.approx(2.31, rel=0.08)
    two = wrists["0002_123_01_WRI-L1_F004.png"]
    assert two.age == 4.0 and len(two.bones) == 2


def test_piece_filters_keep_real_carpal_bones(shared_data: Path) -> None:
    """On the GrazPedWri radiologist outlines of complete carpi (>= 7 bones), the check's default
    piece filters (area, width, length relative to the carpal mass) keep at least 95 % of the
    carpal bones; with the former length limit of 1.6 R they dropped 8 %."""
    folder = shared_data / "real/xray/wrist_grazpedwri/bone_polygons_cvat"
    if not folder.is_dir():
        pytest.skip("GrazPedWri polygons absent")
    full = [w for w in load_wrists(folder) if len(w.bones) >= 7]
    assert len(full) >= 40
    bones = np.array([v for w in full for v in w.bones.values()])
    dropped = (bones[:, 0] < MIN_PIECE) | (bones[:, 1] < MIN_WIDTH) | (bones[:, 2] > MAX_LENGTH)
    assert dropped.mean() <= 0.05
    assert (bones[:, 2] > 1.6).mean() > 0.05  # the old limit really did drop real bones
    assert {n for w in full for n in w.bones} <= set(CARPALS)


def test_augmented_cases_module(shared_data: Path) -> None:
    from benchmarks.anatomy_cases import carpal2

    assert list(carpal2.cases(None)) == []
    got = list(carpal2.cases(shared_data))
    assert len(got) == 3 * len(carpal2.AUGMENT) == 30
    assert all(c.kind == "real" and c.expect == {"wrist.carpal_separation": True} for c in got)
    assert len({c.name for c in got}) == 30
    half = next(c for c in got if c.name == "mura/HAND.png~half size").array()
    assert half.shape == (256, 178) and half.dtype == np.float32

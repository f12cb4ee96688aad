"""Anatomy checks judge one radiograph: on a sheet of several panels they are not applicable.

A digit count across a strip of four hands, or a lung-field pair across a 2 x 2 grid of chests,
would be a confident wrong answer; these tests pin the gate (``anatscore.checks.single_panel``)
in the registry, ``run_check``, a full run and the accuracy harness.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import anatscore
from anatscore.anatomy.phantoms import hand_phantom
from anatscore.registry import ANATOMY_CHECKS


def _sheet(tile: np.ndarray, rows: int, cols: int, gutter: int = 6) -> np.ndarray:
    """``rows`` x ``cols`` copies of ``tile`` on a black ground with ``gutter``-px seams."""
    h, w = tile.shape
    out = np.zeros((rows * h + (rows + 1) * gutter, cols * w + (cols + 1) * gutter), np.float32)
    for r in range(rows):
        for c in range(cols):
            y, x = gutter + r * (h + gutter), gutter + c * (w + gutter)
            out[y:y + h, x:x + w] = tile
    return out


def test_every_weight_free_anatomy_check_needs_a_single_panel() -> None:
    assert ANATOMY_CHECKS, "no anatomy checks registered"
    missing = [s.name for s in ANATOMY_CHECKS if "single_panel" not in s.needs]
    assert missing == []


def test_digit_count_not_applicable_on_a_sheet_of_hands() -> None:
    hand = hand_phantom(digits=5, seed=3)
    single = anatscore.run_check("hand.digit_count", hand, region="hand", modality="xray")
    assert single.passed is True, single.reason  # the gate lets a single hand through
    sheet = _sheet(hand, 1, 4)
    r = anatscore.run_check("hand.digit_count", sheet, region="hand", modality="xray")
    assert r.passed is None
    assert "1 x 4 panels" in r.reason


def test_real_chest_grid_is_not_judged_in_a_run(shared_data: Path, tmp_path: Path) -> None:
    films = sorted((shared_data / "real/xray/chest/jsrt_scr").rglob("*.png"))
    films = [f for f in films if "mask" not in f.as_posix().lower()][:1]
    if not films:
        pytest.skip("no JSRT film found")
    film = np.asarray(Image.open(films[0]).convert("L").resize((256, 256)), np.float32) / 255.0
    res = anatscore.evaluate({"one": film, "grid": _sheet(film, 2, 2)},
                             checks=["chest.lung_fields", "anatomy.plausible"],
                             region="chest", modality="xray")
    rows = res.checks.set_index(["image_id", "check"])
    assert rows.loc[("one", "chest.lung_fields"), "passed"] == True  # noqa: E712 - pandas object column
    grid = rows.loc[("grid", "chest.lung_fields")]
    assert grid["passed"] is None or grid["passed"] != grid["passed"]  # None or NaN: not applicable
    assert "2 x 2 panels" in grid["reason"]
    # nothing applied, so the overall verdict is not applicable either (not a pass)
    assert "no anatomy check applied" in rows.loc[("grid", "anatomy.plausible"), "reason"]


def test_real_radiographs_are_not_turned_away(shared_data: Path) -> None:
    """False-positive rate of the gate on every real PNG/JPEG radiograph in the manifest."""
    import csv

    from anatscore.checks import single_panel
    from anatscore.types import ImageMeta, LoadedImage

    rows = [r for r in csv.DictReader(open(shared_data / "manifest.csv", newline=""))
            if r["modality"].startswith(("XR", "CR")) and r["generated"] != "yes"
            and r["path"].lower().endswith((".png", ".jpg", ".jpeg"))
            and not r["path"].startswith("generated/")]  # figure grids of real thumbnails live there
    assert len(rows) >= 250, "expected the real radiographs of ../shared/data"
    turned = []
    for r in rows:
        grey = np.asarray(Image.open(shared_data / r["path"]).convert("L"), np.float32) / 255.0
        why = single_panel(LoadedImage(ImageMeta(image_id=r["path"], path=r["path"]), grey, None))
        if why:
            turned.append(f"{r['path']}: {why}")
    assert len(turned) <= len(rows) // 100, turned  # <= 1 %; 0 of 281 when written


def test_two_panels_need_a_gutter_a_straight_bone_edge_is_not_a_seam() -> None:
    """A pair of images side by side with a gutter is a sheet; a knee phantom, whose joint line
    runs almost straight across the crop, is one radiograph (its bone edge is an intensity
    step, not a gutter band)."""
    from anatscore.anatomy.phantoms import knee_phantom
    from anatscore.checks import single_panel
    from anatscore.types import ImageMeta, LoadedImage

    def gate(g: np.ndarray) -> str:
        return single_panel(LoadedImage(ImageMeta(image_id="x", path="x"), g.astype(np.float32), None))

    knees = [knee_phantom(seed=s) for s in range(10)]
    assert [gate(k) for k in knees] == [""] * 10
    # a hand's fingers, seen inside the plot-area crop, can show one gutter-like gap: not a sheet
    hands = [hand_phantom(digits=6, seed=s) for s in (0, 4, 8)]
    assert [gate(h) for h in hands] == [""] * 3
    assert "panels" in gate(_sheet(knees[0], 1, 2))  # gated (the joint-line step adds a row seam: 2 x 2)


def test_gan_thumbnail_strip_in_a_figure_is_a_sheet(shared_data: Path) -> None:
    """The matplotlib strip of eight GAN hands (white surround, axes, tick labels): the plot area
    is found inside the surround and its seven gutters give 1 x 8 panels, so the hand checks do
    not read the strip as one hand with 3 digits."""
    path = shared_data / "generated" / "hand_gan_thumbnails" / "fake_images.png"
    if not path.is_file():
        pytest.skip(f"{path} absent")
    strip = np.asarray(Image.open(path).convert("L"), np.float32) / 255.0
    panel = anatscore.run_check("layout.multi_panel", strip)
    assert (panel.passed, panel.extra["rows"], panel.extra["cols"]) == (False, 1, 8), panel.reason
    digits = anatscore.run_check("hand.digit_count", strip, region="hand", modality="xray")
    assert digits.passed is None and "1 x 8 panels" in digits.reason


def test_frontal_checks_abstain_on_lateral_views_and_judge_unknown_ones() -> None:
    """A lateral chest shows one overlapped lung field: "expected 2 lung fields" would be a false
    failure. Checks measured on frontal films declare ``views`` in the registry."""
    from anatscore.anatomy.chest import chest_phantom

    film = chest_phantom(256, seed=1)
    for view, want in (("lateral", None), ("", True), ("pa", True)):
        r = anatscore.run_check("chest.lung_fields", film, region="chest", modality="xray", view=view)
        assert r.passed is want, (view, r.reason)
    frontal = [s.name for s in ANATOMY_CHECKS if s.views == ("pa", "ap")]
    assert {"chest.lung_fields", "hand.digit_count", "joint.space", "pelvis.symmetry"} <= set(frontal)

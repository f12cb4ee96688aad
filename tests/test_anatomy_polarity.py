"""Region polarity layouts: a negative knee crop or chest film (no air at its border to show the
polarity) is recognised and read flipped, so its anatomy checks give the verdicts of the positive.

Known answers: a drawn layout (bright middle, dark sides) is read normal, its negative inverted,
a flat image undecided; knee and chest phantoms and their negatives get the same check verdicts;
on real films (``../shared/data``) every knee crop and every chest but one undecided film is read
normal, every negative of them inverted, and negatives pass where the positives pass.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import anatscore
from anatscore.anatomy import phantoms
from anatscore.anatomy.chest import chest_phantom
from anatscore.anatomy.polarity import RegionPolarity, judge, layout_inverted, polarity_gaps, region_polarity
from anatscore.anatomy.segment import segment


def _drawn(bright_middle: bool = True) -> np.ndarray:
    g = np.full((200, 300), 0.3, np.float32)
    g[:, 100:200] = 0.8
    g += np.random.default_rng(0).normal(0, 0.01, g.shape).astype(np.float32)
    return g if bright_middle else 1.0 - g


LAYOUT = RegionPolarity("drawn", ((0.2, 0.8, 0.4, 0.6),), ((0.2, 0.8, 0.0, 0.2), (0.2, 0.8, 0.8, 1.0)), 0.05)


def test_drawn_layout_reads_normal_inverted_and_undecided() -> None:
    normal, inverted = polarity_gaps(_drawn(), LAYOUT)
    assert normal == pytest.approx(1.0, abs=0.05) and inverted == pytest.approx(-1.0, abs=0.05)
    assert judge(_drawn(), LAYOUT)[0] is False
    assert judge(_drawn(False), LAYOUT)[0] is True
    flat = np.random.default_rng(1).uniform(0.4, 0.6, (200, 300)).astype(np.float32)
    assert judge(flat, LAYOUT)[0] is None


def test_one_bright_dark_box_makes_the_layout_abstain() -> None:
    """One lung opacified (as bright as the mediastinum) must not read as a negative."""
    g = _drawn()
    g[:, :60] = 0.8  # the left dark box now as bright as the middle
    assert judge(g, LAYOUT)[0] is None
    assert judge(1.0 - g, LAYOUT)[0] is None


def test_records_carry_layouts_and_bad_boxes_are_refused() -> None:
    assert region_polarity("knee") is not None and region_polarity("chest") is not None
    assert region_polarity("hand") is None and region_polarity(None) is None and region_polarity("nowhere") is None
    with pytest.raises(ValueError, match="not \\[r0, r1, c0, c1\\]"):
        RegionPolarity.from_record("x", {"bright": [[0.5, 0.2, 0, 1]], "dark": [[0, 1, 0, 0.1]], "min_gap": 0.05})


def test_segmentation_flips_an_air_free_negative_crop_only_with_the_layout() -> None:
    crop = phantoms.knee_phantom(seed=3)[:, 20:-20]  # no air at the border
    neg = 1.0 - crop
    assert not segment(crop, inverted=layout_inverted(crop, "knee")).inverted
    assert segment(neg, inverted=layout_inverted(neg, "knee")).inverted
    assert not segment(neg).inverted  # the border cue alone cannot tell
    a, b = segment(crop, inverted=layout_inverted(crop, "knee")), segment(neg, inverted=layout_inverted(neg, "knee"))
    assert (a.bone ^ b.bone).mean() < 0.01


KNEE = ["joint.space", "texture.trabecular_anisotropy", "proportions.knee"]
CHEST = ["chest.lung_fields", "chest.heart_laterality", "chest.symmetry", "proportions.lung_aspect"]


def _verdicts(images: dict[str, np.ndarray], checks: list[str], region: str, view: str) -> dict[tuple[str, str], object]:
    res = anatscore.evaluate(images, checks=checks, region=region, modality="xray", view=view)
    return {(r.image_id, r.check): r.passed for r in res.checks.itertuples()}


def test_negative_phantoms_get_the_verdicts_of_the_positives() -> None:
    knees = {f"k{s}": phantoms.knee_phantom(seed=s)[:, 20:-20] for s in range(3)}
    knees.update({f"k{s}-neg": 1.0 - knees[f"k{s}"] for s in range(3)})
    v = _verdicts(knees, KNEE, "knee", "ap")
    for s in range(3):
        for c in KNEE:
            assert v[(f"k{s}-neg", c)] == v[(f"k{s}", c)], (s, c)
    chests = {"c": chest_phantom(256, seed=1)}
    chests["c-neg"] = 1.0 - chests["c"]
    v = _verdicts(chests, CHEST, "chest", "pa")
    assert v[("c", "chest.lung_fields")] is True
    for c in CHEST:
        assert v[("c-neg", c)] == v[("c", c)], c


@pytest.mark.realdata
def test_real_knees_and_chests_read_by_their_layouts(shared_data: Path) -> None:
    from benchmarks.anatomy_cases.axial import _chest_real
    from benchmarks.anatomy_cases.msk import knee_files, load_grey

    knees = knee_files(shared_data)
    chests = [p for _, p in _chest_real(shared_data)]  # 127 JSRT films and 8 other chests
    if len(knees) < 100 or len(chests) < 130:
        pytest.skip("the knee crops or the chest films are absent")
    for region, files, undecided_max in (("knee", knees, 0), ("chest", chests, 1)):
        layout = region_polarity(region)
        pos = [judge(load_grey(p), layout)[0] for p in files]
        neg = [judge(1.0 - load_grey(p), layout)[0] for p in files]
        assert pos.count(True) == 0 and neg.count(False) == 0, region
        assert pos.count(None) <= undecided_max and neg.count(None) <= undecided_max, region


@pytest.mark.realdata
def test_real_negatives_pass_where_the_positives_pass(shared_data: Path) -> None:
    from benchmarks.anatomy_cases.axial import _chest_real
    from benchmarks.anatomy_cases.msk import knee_files, load_grey

    knees = knee_files(shared_data)[::20]
    chests = [p for _, p in _chest_real(shared_data)][::25]
    if len(knees) < 5 or len(chests) < 5:
        pytest.skip("the knee crops or the chest films are absent")
    for region, files, checks, view in (("knee", knees, KNEE, "ap"), ("chest", chests, CHEST, "pa")):
        images = {p.stem: load_grey(p) for p in files}
        images.update({f"{k}-neg": 1.0 - g for k, g in list(images.items())})
        v = _verdicts(images, checks, region, view)
        for p in files:
            for c in checks:
                assert v[(f"{p.stem}-neg", c)] == v[(p.stem, c)], (p.name, c)

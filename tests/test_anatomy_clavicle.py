"""Experimental clavicle detector (``anatscore.anatomy.clavicle``; not a registered check).

Tiny arrays: the edge-pair measure of a flat band and of a single step, computed by hand.
Phantom: a synthetic PA chest whose clavicles are flat bright bands with sharp edges of known
position and angle. Real data (skipped without ../shared/data): JSRT films with SCR clavicle masks.
Full-set figures: ``PYTHONPATH=. OMP_NUM_THREADS=1 python benchmarks/chest_clavicles.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage as ndi

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from anatscore.anatomy.chest import ChestGeometry, LungField  # noqa: E402
from anatscore.anatomy.clavicle import (FOUND_EDGE, SMOOTH, THICKNESS, WORK, band_strength,  # noqa: E402
                                        detect_clavicles, gradients, line_kernel)
from anatscore.checks import CheckContext  # noqa: E402
from anatscore.checks.clavicle import clavicles as clavicle_check  # noqa: E402
from anatscore.registry import ANATOMY_CHECKS  # noqa: E402
from anatscore.types import ImageMeta, LoadedImage  # noqa: E402

PHANTOM_W = 0.68  # thorax width of the phantom, fraction of the side


def phantom(n: int = 512, bands: tuple[bool, bool] = (True, True), angle: float = 14.0, row: float = 0.17,
            blur: float = 0.0, seed: int = 0) -> np.ndarray:
    """PA chest phantom: body (filling the top edge, as the neck and shoulders do), two lung
    ellipses (outer edges 0.16/0.84 n: thorax width 0.68 n), mediastinum, heart, and per side
    ``(right, left)`` a flat clavicle band of thickness 0.057 thorax widths with sharp edges,
    rising laterally at ``angle`` degrees, centred at ``row`` and 0.19 thorax widths from the
    midline. ``blur`` (fraction of the side) blurs the bands alone: a band without cortical edges."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:n, 0:n] / n
    body = (((xx - 0.5) / 0.46) ** 2 + ((yy - 0.6) / 0.62) ** 2 <= 1) | ((np.abs(xx - 0.5) < 0.46) & (yy < 0.6))
    img = np.where(body, 0.75, 0.15)
    img[yy > 0.85] = 0.8  # abdomen
    for cx in (0.31, 0.69):
        img[((xx - cx) / 0.15) ** 2 + ((yy - 0.45) / 0.36) ** 2 <= 1] = 0.3
    img[(np.abs(xx - 0.5) < 0.05)] = 0.8
    img[((xx - 0.55) / 0.14) ** 2 + ((yy - 0.7) / 0.12) ** 2 <= 1] = 0.8
    img = ndi.gaussian_filter(img, 0.008 * n)
    w = PHANTOM_W
    bone = np.zeros((n, n))
    for on, sgn in zip(bands, (-1, 1)):
        if not on:
            continue
        th = np.radians(angle)
        tx, ty = sgn * np.cos(th), -np.sin(th)
        c0 = 0.5 + sgn * 0.19 * w
        u = (xx - c0) * tx + (yy - row) * ty
        v = -(xx - c0) * ty + (yy - row) * tx
        bone += ((np.abs(v) <= 0.057 * w / 2) & (np.abs(u) < 0.15 * w)) * 0.06
    bone = ndi.gaussian_filter(bone, max(0.5, blur * n))
    return np.clip(img + bone + 0.01 * rng.standard_normal((n, n)), 0, 1).astype(np.float32)


def phantom_geometry(n: int = 256) -> ChestGeometry:
    """The phantom's lung fields as a :class:`ChestGeometry` on a 256 grid (the thorax frame is
    given, so these tests exercise the band detector alone, not the lung segmentation)."""
    yy, xx = np.mgrid[0:n, 0:n] / n
    lungs = {}
    for side, cx in (("right", 0.31), ("left", 0.69)):
        m = ((xx - cx) / 0.15) ** 2 + ((yy - 0.45) / 0.36) ** 2 <= 1
        rows, cols = np.flatnonzero(m.any(1)), np.flatnonzero(m.any(0))
        inner, outer = (cols.max(), cols.min()) if side == "right" else (cols.min(), cols.max())
        lungs[side] = LungField(side, m, float(m.mean()), int(rows[0]), int(rows[-1]), int(inner), int(outer))
    return ChestGeometry(n=n, lungs=lungs)


def test_line_kernel_is_a_normalised_line() -> None:
    k = line_kernel(20, 0.0)
    assert k.sum() == pytest.approx(1.0)
    assert np.count_nonzero(k.any(1)) == 1  # horizontal: a single row
    k45 = line_kernel(20, np.pi / 4)
    r, c = np.nonzero(k45)
    assert np.all(np.diff(r[np.argsort(c)]) <= 0)  # rises to the right (rows grow downward)


def test_edge_pair_strength_of_a_flat_band_and_of_a_step() -> None:
    # A horizontal flat band 0.2 -> 0.8 (window-normalised to 0 -> 1) with sharp edges between rows
    # 239|240 and 269|270. The derivative of a Gaussian (sigma SMOOTH) across a unit step is the
    # Gaussian itself: 1 / (sigma sqrt(2 pi)) = 0.399 on the edge; sampled on the pixels either side
    # (half a pixel off) and interpolated, it is at least phi(0.5 / sigma) / sigma = 0.352.
    n = WORK
    img = np.full((n, n), 0.2)
    img[240:270] = 0.8
    grads = gradients(img)
    expected = 1 / (SMOOTH * np.sqrt(2 * np.pi))
    lower = np.exp(-0.5 * (0.5 / SMOOTH) ** 2) * expected
    assert lower <= band_strength(grads, "left", (254.5, 256.0), 0.0, 100, 30.0) <= expected
    # the same band measured twice too thick: the edge lines miss the edges
    assert band_strength(grads, "left", (254.5, 256.0), 0.0, 100, 60.0) < 0.01 * expected
    # a single step (bright above, dark below: a lung apex border) is no band: E is 0, while the
    # step's own derivative is as large as a band edge's
    step = np.where(np.arange(n)[:, None] < 255, 0.8, 0.2) * np.ones((1, n))
    gs = gradients(step)
    assert band_strength(gs, "left", (255.0 + 15, 256.0), 0.0, 100, 30.0) <= 1e-6
    assert band_strength(gs, "left", (255.0 - 15, 256.0), 0.0, 100, 30.0) <= 1e-6
    assert lower <= abs(gs[1][254:256, 256]).max() <= expected


def test_phantom_bands_found_at_their_place_and_angle() -> None:
    res = detect_clavicles(phantom(), phantom_geometry())
    assert res.found == 2
    n = res.n
    for side, sgn in (("right", -1), ("left", 1)):
        b = res.bands[side]
        assert abs(b.angle_deg - 14) <= 4, b
        assert abs(b.centre[0] / n - 0.17) <= 0.015, b
        assert abs(b.centre[1] / n - (0.5 + sgn * 0.19 * PHANTOM_W)) <= 0.05, b
        assert b.thickness / n == pytest.approx(0.057 * PHANTOM_W, abs=0.013 * PHANTOM_W)
        # the medial end is the lower one (rows grow downward)
        assert b.medial[0] > b.lateral[0]


@pytest.mark.parametrize("bands,missing", [((True, False), "left"), ((False, True), "right"), ((False, False), None)])
def test_phantom_without_a_band_fails(bands: tuple[bool, bool], missing: str | None) -> None:
    res = detect_clavicles(phantom(bands=bands), phantom_geometry())
    assert res.found == sum(bands)
    if missing:
        assert not res.bands[missing].found and res.bands[missing].strength < FOUND_EDGE


def test_phantom_band_without_sharp_edges_is_not_a_clavicle() -> None:
    # the same bands blurred (sigma 1.5 % of the side, about half their thickness): as bright, but
    # no cortical edges -- the property the detector relies on
    sharp = detect_clavicles(phantom(), phantom_geometry())
    blurred = detect_clavicles(phantom(blur=0.015), phantom_geometry())
    for side in ("right", "left"):
        assert blurred.bands[side].strength < 0.5 * sharp.bands[side].strength
    assert blurred.found == 0


def test_check_result_shape_and_na() -> None:
    meta = ImageMeta(image_id="p", path="p", modality="xray", region="chest")
    r = clavicle_check(LoadedImage(meta=meta, grey=phantom()), CheckContext())
    assert r.check == "chest.clavicles" and r.passed is True and r.value == 2.0
    assert set(r.evidence) >= {"right_clavicle_line", "left_clavicle_line"}
    r1 = clavicle_check(LoadedImage(meta=meta, grey=phantom(bands=(True, False))), CheckContext())
    assert r1.passed is False and r1.value == 1.0 and "left" in r1.reason and "expected 2" in r1.reason
    blank = clavicle_check(LoadedImage(meta=meta, grey=np.full((256, 256), 0.5, np.float32)), CheckContext())
    assert blank.passed is None and "lung" in blank.reason


def test_experimental_check_is_not_registered() -> None:
    # below the targets on JSRT (README), so anatomy.plausible must not include it yet
    assert "chest.clavicles" not in {s.name for s in ANATOMY_CHECKS}


def test_corruption_schedule_covers_both_sides_in_each_half() -> None:
    from benchmarks.anatomy_cases.clavicle import corruptions

    p = Path("/nonexistent/images/X.png")  # lazy: nothing is read
    kinds = {i: [(ft, name) for ft, name, _ in corruptions(i, p)] for i in range(8)}
    assert [ft for ft, _ in kinds[0]] == ["one_clavicle_removed", "clavicle_over_lung_removed", "both_clavicles_removed"]
    assert [ft for ft, _ in kinds[1]] == ["one_clavicle_removed", "clavicle_over_lung_removed", "clavicle_misplaced"]
    even_sides = {kinds[i][0][1] for i in (0, 2, 4, 6)}
    odd_sides = {kinds[i][0][1] for i in (1, 3, 5, 7)}
    assert even_sides == odd_sides == {"no_right_clavicle", "no_left_clavicle"}


def test_whole_clavicle_mask_follows_the_band_past_the_partial_mask() -> None:
    # known answer: a straight band; the "SCR" mask covers only its medial part over the lung
    from benchmarks.anatomy_cases.clavicle import whole_clavicle_mask

    n = 1024
    img = phantom(n)
    yy, xx = np.mgrid[0:n, 0:n] / n
    th = np.radians(14.0)
    w, c0, row = PHANTOM_W, 0.5 + 0.19 * PHANTOM_W, 0.17  # left clavicle (image right)
    u = (xx - c0) * np.cos(th) - (yy - row) * np.sin(th)
    v = (xx - c0) * np.sin(th) + (yy - row) * np.cos(th)
    half_t = 0.057 * w / 2
    partial = (np.abs(v) <= half_t) & (u > -0.12 * w) & (u < 0.05 * w)
    lungs = [((xx - cx) / 0.15) ** 2 + ((yy - 0.45) / 0.36) ** 2 <= 1 for cx in (0.31, 0.69)]
    m = whole_clavicle_mask(img, partial, lungs[0], lungs[1], "left")
    assert (m & partial).sum() == partial.sum()
    # laterally, towards the end of the phantom's band (u = 0.15 w), the mask covers the band's centre
    on_band = (np.abs(v) <= 0.3 * half_t) & (u > 0.06 * w) & (u < 0.12 * w)
    assert m[on_band].mean() > 0.95
    # and the mask stays a band: nothing far above or below it
    assert not m[(np.abs(v) > 3 * half_t) & (u > 0.06 * w) & (u < 0.12 * w)].any()


# --- real films (JSRT with SCR clavicle masks) ------------------------------------------------

@pytest.fixture(scope="module")
def jsrt_held_out(shared_data: Path) -> list[Path]:
    d = shared_data / "real/xray/chest/jsrt_scr/images"
    files = sorted(d.glob("*.png"))
    if len(files) < 100:
        pytest.skip(f"JSRT films absent from {d}")
    return files[1::16]  # 8 odd-indexed (held-out) films


@pytest.fixture(scope="module")
def jsrt_results(jsrt_held_out: list[Path]) -> list[dict]:
    from anatscore.anatomy.chest import to_work
    from benchmarks.anatomy_cases.clavicle import _grey, _mask, remove_clavicles, remove_whole_clavicles
    from benchmarks.chest_clavicles import _energy, agreement, rim_ratio

    out = []
    for i, p in enumerate(jsrt_held_out):
        g = _grey(p)
        side = ("right", "left")[i % 2]
        masks = {s: _mask(p.parent.parent / "masks" / f"{s}_clavicle" / p.name) for s in ("right", "left")}
        res = detect_clavicles(g)
        whole = detect_clavicles(remove_whole_clavicles(g, p, (side,)))
        filled = remove_clavicles(g, [masks[side]])
        m5 = to_work(masks[side].astype(np.float32), WORK) > 0.5
        below = np.roll(m5, int(1.5 * np.ptp(np.nonzero(m5)[0])), axis=0)
        out.append({
            "found": res.found,
            "agree": [agreement(res, s, to_work(masks[s].astype(np.float32), WORK) > 0.5) for s in ("right", "left")],
            "strength": res.bands[side].strength,
            "strength_removed": whole.bands[side].strength,
            "removed_found": whole.found,
            "texture": _energy(filled, m5) / _energy(g, below),
            "rim": rim_ratio(g, filled, masks[side]),
        })
    return out


def test_real_films_false_failures_pinned(jsrt_results: list[dict]) -> None:
    # measured: 3 of these 8 held-out films fail (JPCLN030, JPCLN098, JPCNN037); the full held-out
    # half fails 12/63 (benchmarks/chest_clavicles.py) -- far above the 5 % target, which is why the
    # check is not registered. Tolerance +-1 film.
    fails = sum(r["found"] < 2 for r in jsrt_results)
    assert 2 <= fails <= 4, [r["found"] for r in jsrt_results]


def test_band_lies_on_the_scr_clavicle(jsrt_results: list[dict]) -> None:
    # on the full set: centre-line on the mask on about 98 % of sides (benchmark)
    on = np.array([[a[0] for a in r["agree"]] for r in jsrt_results], dtype=bool)
    dice = np.array([[a[2] for a in r["agree"]] for r in jsrt_results])
    assert on.sum() >= 15, on
    assert np.median(dice) >= 0.6, dice


def test_removing_a_clavicle_lowers_its_band(jsrt_results: list[dict]) -> None:
    # the best band on the erased (whole clavicle) side is weaker on every one of these films and
    # the check fails all 8 erased films (measured; on the full held-out half 53/63; 3 of these 8
    # films fail already without the erasure, so this is no detection rate)
    drops = [r["strength_removed"] < r["strength"] for r in jsrt_results]
    caught = sum(r["removed_found"] < 2 for r in jsrt_results)
    print("strength original -> removed", [(round(r["strength"], 4), round(r["strength_removed"], 4)) for r in jsrt_results])
    assert sum(drops) >= 7, drops
    assert caught >= 7, caught


def test_removal_fill_matches_the_apex_texture_and_leaves_no_rim(jsrt_results: list[dict]) -> None:
    # the fill's gradient energy at the detector's scale is that of the lung apex below it (the
    # real clavicle region: about 0.85), not the smoothed patch of the former fill (about 0.6)
    tex = np.array([r["texture"] for r in jsrt_results])
    rims = np.array([r["rim"] for r in jsrt_results])
    print("texture ratios", np.round(tex, 2), "rim ratios", np.round(rims, 2))
    assert 0.75 <= np.median(tex) <= 1.1, tex
    assert np.all(rims < 1.4) and np.median(rims) < 1.2, rims

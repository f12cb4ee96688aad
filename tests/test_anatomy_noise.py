"""``image.noise`` and the ``readable`` gate: no anatomy is read off an image dominated by noise.

Known answers: the wavelet noise estimate recovers added Gaussian noise; a DDPM-style mix of a
chest phantom and noise (``x_t = sqrt(a) x0 + sqrt(1 - a) eps``) is gated and fails
``anatomy.plausible`` instead of passing the chest checks; every real radiograph of
``../shared/data`` reads far below the bound; the real DDPM chest trajectory reads noise at its
start and not at its end.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import anatscore
from anatscore.anatomy.chest import chest_phantom
from anatscore.anatomy.noise import MAX_NOISE_RATIO, noise_estimate
from anatscore.registry import ANATOMY_CHECKS, ANATOMY_PRECONDITIONS

CHEST = ["image.noise", "chest.lung_fields", "chest.symmetry", "anatomy.plausible"]


def _diffused(x0: np.ndarray, alpha_bar: float, seed: int = 0) -> np.ndarray:
    """One forward-diffusion sample of ``x0`` (in [-1, 1] as samplers use it), back to [0, 1]."""
    eps = np.random.default_rng(seed).standard_normal(x0.shape)
    xt = np.sqrt(alpha_bar) * (2 * x0 - 1) + np.sqrt(1 - alpha_bar) * eps
    return np.clip((xt + 1) / 2, 0, 1).astype(np.float32)


@pytest.mark.parametrize("sd", [0.01, 0.03, 0.06])
def test_estimate_recovers_added_noise(sd: float) -> None:
    yy, xx = np.mgrid[0:200, 0:200] / 200.0
    smooth = 0.2 + 0.6 * np.exp(-((xx - 0.5) ** 2 + (yy - 0.4) ** 2) / 0.08)
    noisy = smooth + np.random.default_rng(1).normal(0, sd, smooth.shape)
    est = noise_estimate(noisy.astype(np.float32))
    assert est.sigma == pytest.approx(sd, rel=0.1)
    assert est.ratio == pytest.approx(est.sigma / est.contrast, rel=1e-6)


def test_every_anatomy_check_is_gated_but_the_precondition() -> None:
    pre = {s.name for s in ANATOMY_PRECONDITIONS}
    assert pre == {"image.noise"}
    assert [s.name for s in ANATOMY_CHECKS if "readable" not in s.needs] == ["image.noise"]
    regions = {r for s in ANATOMY_CHECKS if s.name not in pre for r in s.regions}
    assert set(ANATOMY_PRECONDITIONS[0].regions) == regions


def test_noise_field_fails_plausible_instead_of_passing_chest_checks() -> None:
    x0 = chest_phantom(256, seed=2)
    images = {"clean": x0, "late": _diffused(x0, 0.999), "early": _diffused(x0, 0.05)}
    res = anatscore.evaluate(images, checks=CHEST, region="chest", modality="xray", view="pa")
    rows = res.checks.set_index(["image_id", "check"])
    assert rows.loc[("clean", "anatomy.plausible"), "passed"] == True  # noqa: E712
    assert rows.loc[("late", "image.noise"), "passed"] == True  # noqa: E712 - little noise: read
    early = rows.loc["early"]
    assert early.loc["image.noise", "passed"] == False  # noqa: E712
    assert early.loc["image.noise", "value"] > MAX_NOISE_RATIO
    for name in ("chest.lung_fields", "chest.symmetry"):
        assert early.loc[name, "passed"] is None or early.loc[name, "passed"] != early.loc[name, "passed"]
        assert "dominated by noise" in early.loc[name, "reason"]
    assert early.loc["anatomy.plausible", "passed"] == False  # noqa: E712
    assert "image.noise" in early.loc["anatomy.plausible", "reason"]


def test_a_passed_precondition_alone_does_not_judge_an_image() -> None:
    # A lateral chest: the chest checks abstain (PA only), image.noise passes; no verdict.
    r = anatscore.evaluate({"lat": chest_phantom(256)}, checks=CHEST, region="chest", modality="xray",
                           view="lateral").checks.set_index("check")
    assert r.loc["image.noise", "passed"] == True  # noqa: E712
    plaus = r.loc["anatomy.plausible"]
    assert plaus["passed"] is None or plaus["passed"] != plaus["passed"]


def _real_radiographs(data: Path) -> list[Path]:
    rows = csv.DictReader(open(data / "manifest.csv", newline="", encoding="utf-8"))
    return [data / r["path"] for r in rows
            if r["path"].startswith("real/xray/") and r["path"].lower().endswith((".png", ".jpg", ".jpeg"))
            and r["modality"] not in ("labels", "mask")]


@pytest.mark.realdata
def test_real_radiographs_read_far_below_the_bound(shared_data: Path) -> None:
    paths = _real_radiographs(shared_data)
    assert len(paths) >= 250
    ratios = [noise_estimate(np.asarray(Image.open(p).convert("L"), np.float32) / 255.0).ratio for p in paths]
    # measured: max 0.045 (knee crops), median 0.002 - no real radiograph is gated
    assert max(ratios) < 0.05 < MAX_NOISE_RATIO
    assert float(np.median(ratios)) < 0.01


@pytest.mark.realdata
def test_ddpm_trajectory_reads_noise_early_and_not_at_the_end(shared_data: Path) -> None:
    gif = shared_data / "generated/ddpm_cxr_nih/diffusion_mass_71.gif"
    if not gif.is_file():
        pytest.skip(f"{gif} absent")
    from benchmarks.generated_anatomy import ddpm_frames

    frames = dict(ddpm_frames(gif, steps=(0, 300, 699)))
    ratios = {k: noise_estimate(g).ratio for k, g in frames.items()}
    assert ratios[0] > 0.3 and ratios[300] > 0.3  # measured 0.40 and 0.39
    assert ratios[699] < MAX_NOISE_RATIO  # measured 0.063

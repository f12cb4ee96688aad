"""`anatscore demo`: built offline from installed packages, corruptions as specified, a full run folder."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from anatscore.cli import main
from anatscore.demo import SOURCES, dicom_to_uint8, film_photo, grid_2x2, mirrored, source_path


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "d"
    assert main(["demo", "--out", str(out)]) == 0
    return out


def test_sources_ship_with_installed_packages() -> None:
    for src in SOURCES:
        assert source_path(src.name).is_file(), src.name


def test_demo_folder_and_manifest(demo: Path) -> None:
    images = demo / "images"
    with open(images / "manifest.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    paths = [r["path"] for r in rows]
    for p in paths:
        assert (images / p).is_file(), p
    assert {r["modality"] for r in rows if r["backend"] == "original"} == {"xray", "ct", "mri", "us"}
    kinds = {r["backend"] for r in rows}
    assert {"corrupted:mirrored", "corrupted:film_photo", "corrupted:grid_2x2", "corrupted:truncated",
            "corrupted:zero_bytes", "corrupted:not_an_image"} <= kinds
    assert (images / "bad_inputs" / "zero_bytes.png").stat().st_size == 0
    full = source_path("CT_small.dcm").stat().st_size
    assert (images / "bad_inputs" / "ct_truncated.dcm").stat().st_size == full // 2


def test_corruptions_are_what_they_claim(demo: Path) -> None:
    chest = dicom_to_uint8(source_path("RG1_J2KR.dcm"))
    mir = np.asarray(Image.open(demo / "images" / "corrupted" / "xray_chest_mirrored.png"))
    np.testing.assert_array_equal(mir, chest[:, ::-1])
    photo = np.asarray(Image.open(demo / "images" / "corrupted" / "xray_chest_film_photo.png"))
    assert photo.ndim == 3 and photo.shape[2] == 3
    r, b = photo[..., 0].astype(float).mean(), photo[..., 2].astype(float).mean()
    assert r > b + 10  # a warm tint, unlike a grey radiograph
    grid = np.asarray(Image.open(demo / "images" / "corrupted" / "ct_mr_grid_2x2.png"))
    mid = grid.shape[0] // 2
    assert (grid[mid - 2:mid + 2, :] == 255).all() and (grid[:, mid - 2:mid + 2] == 255).all()


def test_corruption_helpers_on_small_arrays() -> None:
    a = np.arange(12, dtype=np.uint8).reshape(3, 4)
    np.testing.assert_array_equal(mirrored(a), a[:, ::-1])
    g = grid_2x2([np.zeros((10, 10), np.uint8)] * 4, gutter=2)
    assert g.shape == (26, 26) and g[0].tolist() == [255] * 26 and g[2:12, 2:12].max() == 0
    assert film_photo(np.zeros((20, 20), np.uint8)).shape[2] == 3


def test_demo_run_folder(demo: Path) -> None:
    run = demo / "run"
    for f in ("checks.csv", "images.csv", "metrics.json", "run.json", "report.html", "anatscore.sqlite"):
        assert (run / f).is_file(), f
    images = pd.read_csv(run / "images.csv", keep_default_na=False).set_index("path")
    for bad in ("bad_inputs/ct_truncated.dcm", "bad_inputs/zero_bytes.png", "bad_inputs/not_an_image.png"):
        assert images.loc[bad, "load_status"] == "failed" and images.loc[bad, "load_reason"]
    for ok in ("corrupted/xray_chest_mirrored.png", "corrupted/xray_chest_film_photo.png",
               "corrupted/ct_mr_grid_2x2.png"):
        assert images.loc[ok, "load_status"] == "ok"


def test_demo_refuses_to_overwrite(demo: Path, capsys) -> None:
    assert main(["demo", "--out", str(demo)]) == 2
    assert "refusing to overwrite" in capsys.readouterr().err

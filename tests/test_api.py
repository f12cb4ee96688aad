"""The Python API: evaluate() on folders and in-memory images, run_check(), the README example."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import _fakes
import anatscore
from anatscore.api import image_from_array
from anatscore.types import ImageMeta

REPO = Path(__file__).resolve().parent.parent


def _meta() -> ImageMeta:
    return ImageMeta(image_id="x", path="x")


@pytest.mark.parametrize(
    "array, expected",
    [
        (np.array([[0, 255]], np.uint8), [0.0, 1.0]),
        (np.array([[0, 65535, 32768]], np.uint16), [0.0, 1.0, 32768 / 65535]),
        (np.array([[0.25, 0.5]], np.float64), [0.25, 0.5]),
        (np.array([[False, True]]), [0.0, 1.0]),
    ],
)
def test_arrays_scale_to_unit_range(array: np.ndarray, expected: list[float]) -> None:
    img = image_from_array(array, _meta())
    assert img.grey.dtype == np.float32
    np.testing.assert_allclose(img.grey[0], expected, atol=1e-6)
    assert img.colour is None


def test_rgb_keeps_colour_and_uses_601_luma() -> None:
    rgb = np.zeros((2, 2, 4), np.uint8)
    rgb[0, 0] = (255, 0, 0, 255)
    rgb[0, 1] = (0, 255, 0, 0)
    rgb[1, 0] = (0, 0, 255, 7)
    img = image_from_array(rgb, _meta())
    assert img.colour is not None and img.colour.shape == (2, 2, 3)
    np.testing.assert_allclose(img.grey, [[0.299, 0.587], [0.114, 0.0]], atol=1e-6)
    # the same as PIL's conversion of the same pixels (what files go through)
    pil = np.asarray(Image.fromarray(rgb[..., :3]).convert("F"), np.float32) / 255
    np.testing.assert_allclose(img.grey, pil, atol=1e-5)


def test_pil_images_and_bad_arrays() -> None:
    from anatscore.io import LoadError

    px = np.full((3, 4), 51, np.uint8)
    px[2, 3] = 60
    img = image_from_array(Image.fromarray(px), _meta())
    assert img.grey.shape == (3, 4) and img.grey[0, 0] == pytest.approx(0.2)
    for bad, msg in [(np.ones((2, 2, 2)), "expected an"), (np.array([[1.5]]), r"\[0, 1\]"),
                     (np.array([[np.inf]]), "NaN or infinite"), ("a string", "unsupported")]:
        with pytest.raises(LoadError, match=msg):
            image_from_array(bad, _meta())


def test_evaluate_in_memory_with_manifest_rows(monkeypatch) -> None:
    _fakes.install(monkeypatch)
    ramp = np.tile(np.arange(8, dtype=np.uint8), (8, 1))
    imgs = [ramp, ramp + 200]
    manifest = [{"region": "Hand", "modality": "X-ray", "backend": "sd"}, {"region": "knee", "prompt": "a knee"}]
    res = anatscore.evaluate(imgs, manifest=manifest)
    assert res.run_dir is None
    im = res.images.set_index("image_id")
    assert im.loc["image-0000", "region"] == "hand" and im.loc["image-0000", "modality"] == "xray"
    assert im.loc["image-0001", "prompt"] == "a knee" and im.loc["image-0001", "inferred"] == ""
    ch = res.checks.set_index(["image_id", "check"])
    assert ch.loc[("image-0000", "fake.hand_only"), "passed"] is True
    assert ch.loc[("image-0001", "fake.hand_only"), "reason"] == "applies to region hand, image is knee"
    assert ch.loc[("image-0001", "fake.mean"), "passed"] is False  # 200/255 >= 0.5
    with pytest.raises(ValueError, match="manifest has 1 rows for 2 images"):
        anatscore.evaluate(imgs, manifest=manifest[:1])
    with pytest.raises(ValueError, match="unknown region"):
        anatscore.evaluate(imgs, region="tail")


def test_run_check_on_an_array(monkeypatch) -> None:
    _fakes.install(monkeypatch)
    quarter = np.full((4, 4), 0.25, np.float32)
    quarter[0, :2] = (0.2, 0.3)
    r = anatscore.run_check("fake.mean", quarter)
    assert r.check == "fake.mean" and r.passed is True and r.value == pytest.approx(0.25)
    na = anatscore.run_check("fake.hand_only", np.arange(16, dtype=np.uint8).reshape(4, 4), region="knee")
    assert na.passed is None and na.reason == "applies to region hand, image is knee"
    assert anatscore.run_check("fake.hand_only", np.arange(16, dtype=np.uint8).reshape(4, 4), region="hand").passed is True
    with pytest.raises(KeyError, match="anatscore list checks"):
        anatscore.run_check("no.such", np.zeros((4, 4)))


def test_readme_python_example_runs(tmp_path: Path, monkeypatch, capsys) -> None:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## Python API", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```python\n(.*?)```", section, re.S)
    assert block, "the Python API section has no python block"
    monkeypatch.chdir(tmp_path)
    exec(compile(block.group(1), "README.md:Python API", "exec"), {"__name__": "__readme__"})
    out = capsys.readouterr().out
    assert "image_id" in out and "True" in out


def test_folder_with_a_manifest_given_as_rows(monkeypatch, tmp_path: Path) -> None:
    import inspect

    from anatscore.io import discover

    if "manifest" not in inspect.signature(discover).parameters:
        pytest.skip("this anatscore.io.discover reads the manifest from the folder only")
    _fakes.install(monkeypatch)
    _fakes.write_pngs(tmp_path / "in", 2)
    rows = [{"path": "img_000.png", "region": "hand", "backend": "gen-a"},
            {"path": "img_001.png", "region": "knee", "backend": "gen-b"}]
    res = anatscore.evaluate(tmp_path / "in", manifest=rows)
    im = res.images.set_index("image_id")
    assert im.loc["img_000.png", "region"] == "hand" and im.loc["img_001.png", "backend"] == "gen-b"
    ch = res.checks.set_index(["image_id", "check"])
    assert ch.loc[("img_001.png", "fake.hand_only"), "reason"] == "applies to region hand, image is knee"


def test_resume_refuses_another_database(monkeypatch, tmp_path: Path) -> None:
    from anatscore.api import ResumeError

    _fakes.install(monkeypatch)
    _fakes.write_pngs(tmp_path / "in", 1)
    anatscore.evaluate(tmp_path / "in", out=tmp_path / "run", db=tmp_path / "a.sqlite")
    with pytest.raises(ResumeError, match="is stored in"):
        anatscore.evaluate(None, resume=tmp_path / "run", db=tmp_path / "b.sqlite")
    assert anatscore.evaluate(None, resume=tmp_path / "run", db=tmp_path / "a.sqlite").counts["images"] == 1


def test_constant_in_memory_image_fails_like_a_file(monkeypatch, tmp_path: Path) -> None:
    from anatscore.io import loading

    if not hasattr(loading, "_check_content"):
        pytest.skip("this anatscore.io has no content rule")
    _fakes.install(monkeypatch)
    blank = np.zeros((16, 16), np.uint8)
    Image.fromarray(blank).save(tmp_path / "blank.png")
    from_file = anatscore.evaluate(tmp_path, checks=["load"]).checks.iloc[0]
    from_memory = anatscore.evaluate({"blank.png": blank}, checks=["load"]).checks.iloc[0]
    assert from_file["passed"] is False and from_memory["passed"] is False
    assert from_memory["reason"] == from_file["reason"] and "constant" in from_memory["reason"]


def test_api_docstring_examples() -> None:
    import doctest

    import anatscore.api

    failed, attempted = doctest.testmod(anatscore.api, optionflags=doctest.ELLIPSIS)
    assert attempted >= 3 and failed == 0

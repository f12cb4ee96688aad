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

    img = image_from_array(Image.fromarray(np.full((3, 4), 51, np.uint8)), _meta())
    assert img.grey.shape == (3, 4) and img.grey[0, 0] == pytest.approx(0.2)
    for bad, msg in [(np.ones((2, 2, 2)), "expected an"), (np.array([[1.5]]), r"\[0, 1\]"),
                     (np.array([[np.inf]]), "NaN or infinite"), ("a string", "unsupported")]:
        with pytest.raises(LoadError, match=msg):
            image_from_array(bad, _meta())


def test_evaluate_in_memory_with_manifest_rows(monkeypatch) -> None:
    _fakes.install(monkeypatch)
    imgs = [np.zeros((8, 8), np.uint8), np.full((8, 8), 200, np.uint8)]
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
    r = anatscore.run_check("fake.mean", np.full((4, 4), 0.25, np.float32))
    assert r.check == "fake.mean" and r.passed is True and r.value == pytest.approx(0.25)
    na = anatscore.run_check("fake.hand_only", np.zeros((4, 4), np.uint8), region="knee")
    assert na.passed is None and na.reason == "applies to region hand, image is knee"
    assert anatscore.run_check("fake.hand_only", np.zeros((4, 4), np.uint8), region="hand").passed is True
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

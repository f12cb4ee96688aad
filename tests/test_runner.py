"""The runner: stages, inference, not-applicable rows, check errors, batching, bad input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import _fakes
from anatscore.api import evaluate
from anatscore.config import EvalConfig
from anatscore.runner import Item, Runner
from anatscore.store import RunStore
from anatscore.types import ImageMeta

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    d = tmp_path / "in"
    _fakes.write_pngs(d, 5)
    (d / "sub").mkdir()
    _fakes.write_pngs(d / "sub", 2, seed=1)
    (d / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)
    (d / "empty.png").write_bytes(b"")
    return d


def _by(df, image_id: str, check: str):
    rows = df[(df["image_id"] == image_id) & (df["check"] == check)]
    assert len(rows) == 1, (image_id, check, len(rows))
    return rows.iloc[0]


def test_every_image_gets_one_row_per_check_and_bad_input_only_a_load_row(monkeypatch, folder: Path) -> None:
    checks = _fakes.install(monkeypatch)
    res = evaluate(folder, batch_size=3)
    good = [f"img_{i:03d}.png" for i in range(5)] + [f"sub/img_{i:03d}.png" for i in range(2)]
    assert sorted(res.images["image_id"]) == sorted(good + ["broken.png", "empty.png"])
    counts = res.checks.groupby("image_id").size()
    for g in good:
        assert counts[g] == len(checks)
    for b in ("broken.png", "empty.png"):
        assert counts[b] == 1
        row = _by(res.checks, b, "load")
        assert row["passed"] is False and ("corrupt" in row["reason"] or "empty" in row["reason"])
    assert res.counts == {"images": 9, "scored": 7, "failed": 2, "refused": 0, "check_errors": 7}


def test_values_inference_stage2_and_check_errors(monkeypatch, folder: Path) -> None:
    _fakes.install(monkeypatch)
    res = evaluate(folder, batch_size=4)
    # image i has mean (10*i + 1)/255: fake.mean passes below 0.5
    for i in range(5):
        row = _by(res.checks, f"img_{i:03d}.png", "fake.mean")
        assert row["value"] == pytest.approx((10 * i + 1) / 255, abs=1e-6)
        assert row["passed"] is True
    # stage 0 inferred region=hand, so the hand-only check ran and the image records where it came from
    assert _by(res.checks, "img_000.png", "fake.hand_only")["passed"] is True
    img = res.images.set_index("image_id").loc["img_000.png"]
    assert img["region"] == "hand" and img["inferred"] == "region=fake.infer"
    # the raising check is recorded as an anatscore bug with empty verdict, and the run went on
    boom = _by(res.checks, "img_001.png", "fake.boom")
    assert boom["passed"] is None and boom["reason"] == "check error: RuntimeError: deliberate failure"
    # stage 2 sees every earlier result of its image: load, infer, mean, hand_only, boom, batched
    agg = _by(res.checks, "img_002.png", "fake.agg")
    assert agg["value"] == 6
    assert agg["reason"] == "fake.batched,fake.boom,fake.hand_only,fake.infer,fake.mean,load"
    # headline columns and failure counts in the images table
    assert img["fake.mean"] is True and img["fake.agg"] is True
    assert img["n_failed"] == 0 and img["n_checks"] == 5  # infer, mean, hand_only, batched, agg


def test_batched_check_gets_batches_and_model_loads_once(monkeypatch, tmp_path: Path) -> None:
    _fakes.install(monkeypatch)
    _fakes.write_pngs(tmp_path / "in", 7)
    res = evaluate(tmp_path / "in", batch_size=3, workers=2)
    assert _fakes.BATCH_SIZES == [3, 3, 1]
    assert res.checks[res.checks["check"] == "fake.batched"]["value"].tolist() == [3, 3, 3, 3, 3, 3, 1]


def test_results_do_not_depend_on_batch_size_or_workers(monkeypatch, folder: Path) -> None:
    _fakes.install(monkeypatch)
    cols = ["image_id", "check", "passed", "reason"]
    a = evaluate(folder, batch_size=1, workers=0).checks
    b = evaluate(folder, batch_size=16, workers=3).checks
    a = a[a["check"] != "fake.batched"][cols].sort_values(cols[:2]).reset_index(drop=True)
    b = b[b["check"] != "fake.batched"][cols].sort_values(cols[:2]).reset_index(drop=True)
    assert a.equals(b)


def test_not_applicable_rows_carry_reasons(monkeypatch, tmp_path: Path) -> None:
    _fakes.install(monkeypatch, extra=(_fakes.WEIGHTS_CHECK,))
    _fakes.write_pngs(tmp_path / "in", 1)
    res = evaluate(tmp_path / "in")
    row = _by(res.checks, "img_000.png", "fake.model")
    assert row["passed"] is None
    assert row["reason"].startswith("weights not installed:") and "anatscore weights" in row["reason"]


def test_refused_rows_are_recorded_not_decoded(monkeypatch, tmp_path: Path) -> None:
    _fakes.install(monkeypatch)
    store = RunStore(":memory:", "r")
    store.create_run("", "", "now", {})

    def never() -> None:
        raise AssertionError("a refused row must not be decoded")

    meta = ImageMeta(image_id="refused-1", path="refused-1.png", refused=True, prompt="a knee")
    Runner(EvalConfig(), store).run([Item(meta, never)])
    df = store.checks_frame()
    assert df[["check", "passed"]].values.tolist() == [["load", None]]
    assert "refused" in df["reason"][0]
    assert store.counts()["refused"] == 1


def test_nan_in_memory_image_is_a_load_failure(monkeypatch) -> None:
    _fakes.install(monkeypatch)
    bad = np.full((8, 8), np.nan, np.float32)
    res = evaluate({"ok": np.zeros((8, 8), np.float32), "nan": bad})
    row = _by(res.checks, "nan", "load")
    assert row["passed"] is False and "NaN" in row["reason"]
    assert res.counts["scored"] == 1


def test_weight_free_run_does_not_import_torch(tmp_path: Path) -> None:
    _fakes.write_pngs(tmp_path / "in", 2)
    code = (
        "import sys, anatscore\n"
        f"r = anatscore.evaluate({str(tmp_path / 'in')!r}, checks=['load'])\n"
        "assert r.counts['scored'] == 2, r.counts\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.strip() == "False"


def test_inputs_rejected_by_discovery_are_recorded_not_opened(monkeypatch) -> None:
    _fakes.install(monkeypatch)
    store = RunStore(":memory:", "r")
    store.create_run("", "", "now", {})

    def never() -> None:
        raise AssertionError("a rejected input must not be decoded")

    meta = ImageMeta(image_id="../etc/passwd", path="../etc/passwd",
                     extra={"load_error": "manifest path leaves the input folder"})
    Runner(EvalConfig(), store).run([Item(meta, never)])
    df = store.checks_frame()
    assert df[["check", "passed", "reason"]].values.tolist() == [
        ["load", False, "manifest path leaves the input folder"]]
    assert store.counts()["failed"] == 1

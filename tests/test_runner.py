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
        assert row["passed"] is False and row["reason"]  # the decoder's reason (anatscore.io words it)
    assert res.counts == {"images": 9, "scored": 7, "failed": 2, "refused": 0, "check_errors": 7}


def test_values_inference_stage2_and_check_errors(monkeypatch, folder: Path) -> None:
    _fakes.install(monkeypatch)
    res = evaluate(folder, batch_size=4)
    # image i has mean mean_value(i)/255: fake.mean passes below 0.5
    for i in range(5):
        row = _by(res.checks, f"img_{i:03d}.png", "fake.mean")
        assert row["value"] == pytest.approx(_fakes.mean_value(i) / 255, abs=1e-6)
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
    # per-image checks of the 3-image batches ran on the check threads (a 1-image batch stays in the main thread)
    assert {t for t in _fakes.THREADS if t.startswith("anatscore-check")}
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
    res = evaluate({"ok": np.linspace(0, 1, 64, dtype=np.float32).reshape(8, 8), "nan": bad})
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


def test_weights_missing_inside_a_check_is_reported_once_not_an_error(monkeypatch, tmp_path: Path) -> None:
    _fakes.install(monkeypatch, extra=(_fakes.NOWEIGHTS_CHECK,))
    _fakes.NOWEIGHTS_CALLS.clear()
    _fakes.write_pngs(tmp_path / "in", 4)
    res = evaluate(tmp_path / "in", batch_size=2)
    rows = res.checks[res.checks["check"] == "fake.noweights"]
    assert len(rows) == 4 and rows["passed"].map(lambda v: v is None).all()
    assert rows["reason"].str.startswith("weights not installed:").all()
    assert len(_fakes.NOWEIGHTS_CALLS) == 1  # not retried on every image
    assert res.counts["check_errors"] == 4  # only fake.boom's rows


class _FakeMetrics:
    """Stands in for anatscore.metrics.run.RunMetrics: records what the runner hands it."""

    instances: list["_FakeMetrics"] = []
    fail = False

    def __init__(self, config, run_dir, device="cpu") -> None:
        self.batches: list[list[str]] = []
        self.run_dir = run_dir
        _FakeMetrics.instances.append(self)

    def add(self, images) -> None:
        if _FakeMetrics.fail:
            raise ValueError("feature extractor exploded")
        self.batches.append([im.meta.image_id for im in images])
        assert all(im.grey.dtype == np.float32 for im in images)

    def result(self) -> dict:
        return {"strata": [{"n": sum(len(b) for b in self.batches), "modality": "",
                            "metrics": {"fid@inception": {"value": 12.5, "ci_low": 10.0, "ci_high": 15.0}}}],
                "extractors": {"inception": {"weights_sha256": "ab" * 32}}}


@pytest.mark.parametrize("fail", [False, True])
def test_reference_runs_feed_decoded_batches_to_run_metrics(monkeypatch, folder: Path, tmp_path: Path,
                                                            fail: bool) -> None:
    import json

    import anatscore.metrics.run as run_metrics

    _fakes.install(monkeypatch)
    monkeypatch.setattr(run_metrics, "RunMetrics", _FakeMetrics)
    monkeypatch.setattr(_FakeMetrics, "instances", [])
    monkeypatch.setattr(_FakeMetrics, "fail", fail)
    monkeypatch.setattr("anatscore.runner.Runner.torch_needed", staticmethod(lambda cfg: False))
    res = evaluate(folder, reference=str(tmp_path), out=tmp_path / "run", batch_size=4, checks=["fake.mean"])
    (m,) = _FakeMetrics.instances
    assert m.run_dir == tmp_path / "run"
    doc = json.loads((tmp_path / "run" / "metrics.json").read_text())
    if fail:
        assert doc["error"] == "ValueError: feature extractor exploded" and doc["strata"] == []
        assert res.counts["scored"] == 7  # the check results were kept
    else:
        # only decoded images, in batches, each once
        assert sorted(i for b in m.batches for i in b) == sorted(res.images[res.images["load_status"] == "ok"]["image_id"])
        assert doc["strata"][0]["n"] == 7
        html = (tmp_path / "run" / "report.html").read_text()
        assert "Set-level metrics" in html and "12.5 [10, 15]" in html
        # the extractors' weights are listed among the run's models
        assert {"name": "extractor:inception", "sha256": "ab" * 32} in res.manifest["models"]


def test_a_raising_check_logs_one_traceback_and_a_count(monkeypatch, folder: Path, caplog) -> None:
    import logging

    _fakes.install(monkeypatch)
    with caplog.at_level(logging.INFO, logger="anatscore.runner"):
        evaluate(folder, batch_size=2)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR and "fake.boom" in r.getMessage()]
    assert sum(r.exc_info is not None for r in errors) == 1
    assert any("raised on 7 image(s)" in r.getMessage() for r in errors)
    assert len(errors) == 2
